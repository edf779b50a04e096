#include "jobs/callbacks.h"

#include <gtest/gtest.h>

namespace tollgate::jobs {
namespace {

// Computed independently with:
//   printf '1700000000.{"id":"x"}' | openssl dgst -sha256 -hmac 'callback-secret-0123'
TEST(CallbackSignature, HmacOverTimestampDotBody) {
  EXPECT_EQ(callback_signature("callback-secret-0123", "1700000000", R"({"id":"x"})"),
            "sha256=2fe52abfcd325739ae52155c74d4e916503a4e50b3655f593d65b16cc014d3e5");
}

}  // namespace
}  // namespace tollgate::jobs
