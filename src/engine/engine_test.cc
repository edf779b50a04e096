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

TEST(NextStep, OnlyRetryableClassesAreRetried) {
  EXPECT_EQ(next_step(failure(ErrorClass::kUnavailable, false), false, false), NextStep::kAnywhere);
  EXPECT_EQ(next_step(failure(ErrorClass::kRateLimited, false), false, false), NextStep::kAnywhere);
  EXPECT_EQ(next_step(failure(ErrorClass::kInvalidRequest, false), true, true), NextStep::kStop);
  EXPECT_EQ(next_step(failure(ErrorClass::kRejected, false), true, true), NextStep::kStop);
  // A provider refusing our credentials: another provider may still serve.
  EXPECT_EQ(next_step(failure(ErrorClass::kUnauthorized, false), true, true), NextStep::kOthersOnly);
}

TEST(NextStep, AnAmbiguousFailureIsRepeatedOnlyWhereThatCannotActTwice) {
  const Error read_timeout = failure(ErrorClass::kTimeout, true);
  EXPECT_EQ(next_step(read_timeout, /*idempotent=*/false, /*dedupe=*/false), NextStep::kOutcomeUnknown);
  EXPECT_EQ(next_step(read_timeout, /*idempotent=*/true, /*dedupe=*/false), NextStep::kAnywhere);
  // The provider's deduplication licenses a repeat on that provider, not another.
  EXPECT_EQ(next_step(read_timeout, /*idempotent=*/false, /*dedupe=*/true), NextStep::kSameProviderOnly);
  // A connect timeout never reached the provider: safe to retry anything anywhere.
  EXPECT_EQ(next_step(failure(ErrorClass::kTimeout, false), false, false), NextStep::kAnywhere);
}

TEST(NextStep, OutcomeUnknownIsNeverRetryableAndKeepsTheProviderCode) {
  Error cause = failure(ErrorClass::kTimeout, true);
  cause.provider = "acme";
  cause.provider_code = "read_timeout";
  const Error e = outcome_unknown(cause);
  EXPECT_EQ(e.cls, ErrorClass::kOutcomeUnknown);
  EXPECT_FALSE(is_retryable(e.cls));
  EXPECT_EQ(http_status(e), 502);
  EXPECT_EQ(e.provider_code, "read_timeout");
  EXPECT_EQ(to_string(e.cls), "outcome_unknown");
}

}  // namespace
}  // namespace tollgate::engine
