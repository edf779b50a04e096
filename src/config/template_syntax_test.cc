#include "config/template_syntax.h"

#include <gtest/gtest.h>

namespace tollgate::config {
namespace {

TEST(TemplateSyntax, SplitsLiteralsAndPlaceholders) {
  auto t = parse_template("/v1/{{ params.to }}/x{{call.id}}");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->segments.size(), 4u);
  EXPECT_EQ(t->segments[0].literal, "/v1/");
  EXPECT_EQ(t->segments[1].placeholder.root, PlaceholderRoot::kParams);
  EXPECT_EQ(t->segments[1].placeholder.name, "to");
  EXPECT_EQ(t->segments[2].literal, "/x");
  EXPECT_EQ(t->segments[3].placeholder.root, PlaceholderRoot::kCall);
  EXPECT_FALSE(t->single_placeholder());
  EXPECT_TRUE(t->references(PlaceholderRoot::kCall, "id"));
}

TEST(TemplateSyntax, SinglePlaceholderKeepsType) {
  auto t = parse_template("{{params.count}}");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->single_placeholder());
}

TEST(TemplateSyntax, RejectsUnknownRootsFieldsAndUnterminated) {
  EXPECT_FALSE(parse_template("{{secrets.x}}"));
  EXPECT_FALSE(parse_template("{{call.phone}}"));
  EXPECT_FALSE(parse_template("{{attempt.when}}"));
  EXPECT_FALSE(parse_template("abc {{params.to"));
  EXPECT_FALSE(parse_template("{{params}}"));
  EXPECT_FALSE(parse_template("{{params.a b}}"));
  EXPECT_TRUE(parse_template("{{attempt.nonce}}{{attempt.timestamp_ms}}"));
}

}  // namespace
}  // namespace tollgate::config
