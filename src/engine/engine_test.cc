#include "engine/engine.h"

#include <gtest/gtest.h>

namespace tollgate::engine {
namespace {

Error failure(ErrorClass c, bool ambiguous) {
  Error e = Error::make(c, "x");
  e.from_provider = true;
  e.ambiguous = ambiguous;
  return e;
}

TEST(RetryRule, OnlyRetryableClasses) {
  EXPECT_TRUE(may_retry(failure(ErrorClass::kUnavailable, false), false, false));
  EXPECT_TRUE(may_retry(failure(ErrorClass::kRateLimited, false), false, false));
  EXPECT_FALSE(may_retry(failure(ErrorClass::kInvalidRequest, false), true, true));
  EXPECT_FALSE(may_retry(failure(ErrorClass::kRejected, false), true, true));
  EXPECT_FALSE(may_retry(failure(ErrorClass::kUnauthorized, false), true, true));
}

TEST(RetryRule, AmbiguousFailureNeedsIdempotenceOrDedupe) {
  const Error read_timeout = failure(ErrorClass::kTimeout, true);
  EXPECT_FALSE(may_retry(read_timeout, /*idempotent=*/false, /*dedupe=*/false));
  EXPECT_TRUE(may_retry(read_timeout, /*idempotent=*/true, /*dedupe=*/false));
  EXPECT_TRUE(may_retry(read_timeout, /*idempotent=*/false, /*dedupe=*/true));
  // A connect timeout never reached the provider: safe to retry anything.
  EXPECT_TRUE(may_retry(failure(ErrorClass::kTimeout, false), false, false));
}

}  // namespace
}  // namespace tollgate::engine
