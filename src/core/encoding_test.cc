#include "core/encoding.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(Encoding, PercentEncodesEverythingButUnreserved) {
  EXPECT_EQ(percent_encode("abc-._~XYZ019"), "abc-._~XYZ019");
  EXPECT_EQ(percent_encode("a b&c=d/../e\r\n\"'"), "a%20b%26c%3Dd%2F..%2Fe%0D%0A%22%27");
  EXPECT_EQ(percent_encode("\xE4\xB8\xAD"), "%E4%B8%AD");
}

TEST(Encoding, PercentDecodeRoundTripsAndRejectsBadEscapes) {
  EXPECT_EQ(percent_decode(percent_encode("x=1&y=/../\r\n"), false), "x=1&y=/../\r\n");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_FALSE(percent_decode("%4", false));
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_FALSE(percent_decode("abc%", false));
}

TEST(Encoding, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_FALSE(base64_decode("Zm9v!"));
}

TEST(Encoding, HeaderValueSafety) {
  EXPECT_TRUE(is_safe_header_value("Bearer abc\tdef"));
  EXPECT_FALSE(is_safe_header_value("x\r\nX-Injected: 1"));
  EXPECT_FALSE(is_safe_header_value(std::string_view("a\0b", 3)));
}

TEST(Encoding, CaseHelpers) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_FALSE(iequals("Content-Type", "content-typ"));
  EXPECT_EQ(trim("  a b \n"), "a b");
}

}  // namespace
}  // namespace tollgate
