#include "core/call.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

// The example from the W3C Trace Context recommendation, section 3.2.
TEST(TraceContext, ParsesTheW3cExample) {
  auto t = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->flags, "01");
}

TEST(TraceContext, RejectsMalformedHeaders) {
  for (const char* bad : {"", "garbage", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"}) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
  // A future version may append fields.
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));
}

TEST(TraceContext, ChildKeepsTheTraceAndStartsASpan) {
  auto parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  auto child = start_trace(parent);
  EXPECT_EQ(child.trace_id, parent->trace_id);
  EXPECT_EQ(child.span_id.size(), 16u);
  EXPECT_NE(child.span_id, parent->parent_id);
  EXPECT_EQ(child.header("aaaaaaaaaaaaaaaa"), "00-4bf92f3577b34da6a3ce929d0e0e4736-aaaaaaaaaaaaaaaa-01");
  auto fresh = start_trace(std::nullopt);
  EXPECT_EQ(fresh.trace_id.size(), 32u);
  EXPECT_TRUE(parse_traceparent(fresh.header(fresh.span_id)));
}

}  // namespace
}  // namespace tollgate
