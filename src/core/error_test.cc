#include "core/error.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(ErrorClass, NamesRoundTrip) {
  for (int i = 0; i < kErrorClassCount; ++i) {
    const auto c = static_cast<ErrorClass>(i);
    EXPECT_EQ(parse_error_class(to_string(c)), c);
  }
  EXPECT_FALSE(parse_error_class("nope"));
}

TEST(ErrorClass, StatusDependsOnWhoSaidIt) {
  Error e{ErrorClass::kRateLimited, "x"};
  EXPECT_EQ(http_status(e), 429);  // the caller's own limit
  e.from_provider = true;
  EXPECT_EQ(http_status(e), 503);  // a throttled provider is not the caller's fault
  Error u{ErrorClass::kUnauthorized, "x"};
  EXPECT_EQ(http_status(u), 401);
  u.from_provider = true;
  EXPECT_EQ(http_status(u), 502);
  EXPECT_EQ(http_status(Error{ErrorClass::kTimeout, ""}), 504);
  EXPECT_EQ(http_status(Error{ErrorClass::kBadRequest, ""}), 400);
  EXPECT_EQ(http_status(Error{ErrorClass::kInvalidRequest, ""}), 422);
}

TEST(ErrorClass, RetryableAndFaultSets) {
  EXPECT_TRUE(is_retryable(ErrorClass::kUnavailable));
  EXPECT_TRUE(is_retryable(ErrorClass::kTimeout));
  EXPECT_FALSE(is_retryable(ErrorClass::kInvalidRequest));
  EXPECT_FALSE(is_provider_fault(ErrorClass::kInvalidRequest));
  EXPECT_FALSE(is_provider_fault(ErrorClass::kRejected));
  EXPECT_TRUE(is_provider_fault(ErrorClass::kTimeout));
}

}  // namespace
}  // namespace tollgate
