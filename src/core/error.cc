#include "core/error.h"

#include <array>

namespace tollgate {
namespace {

constexpr std::array<std::string_view, kErrorClassCount> kNames = {
    "bad_request", "invalid_request", "unauthorized", "forbidden",   "not_found", "conflict",
    "too_large",   "rate_limited",    "timeout",      "unavailable", "rejected",  "internal",
    "outcome_unknown",
};

}  // namespace

std::string_view to_string(ErrorClass c) { return kNames[static_cast<size_t>(c)]; }

std::optional<ErrorClass> parse_error_class(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == s) {
      return static_cast<ErrorClass>(i);
    }
  }
  return std::nullopt;
}

bool is_retryable(ErrorClass c) {
  switch (c) {
    case ErrorClass::kRateLimited:
    case ErrorClass::kTimeout:
    case ErrorClass::kUnavailable:
      return true;
    default:
      return false;
  }
}

bool is_provider_fault(ErrorClass c) {
  switch (c) {
    case ErrorClass::kTimeout:
    case ErrorClass::kUnavailable:
    case ErrorClass::kUnauthorized:
      return true;
    default:
      return false;
  }
}

int http_status(const Error& e) {
  switch (e.cls) {
    case ErrorClass::kBadRequest:
      return 400;
    case ErrorClass::kInvalidRequest:
    case ErrorClass::kRejected:
      return 422;
    case ErrorClass::kUnauthorized:
      // A provider refusing tollgate's credentials is an operator problem.
      return e.from_provider ? 502 : 401;
    case ErrorClass::kForbidden:
      return 403;
    case ErrorClass::kNotFound:
      return 404;
    case ErrorClass::kConflict:
      return 409;
    case ErrorClass::kTooLarge:
      return 413;
    case ErrorClass::kRateLimited:
      // Only the caller's own limit is a 429; a throttled provider is unavailability.
      return e.from_provider ? 503 : 429;
    case ErrorClass::kTimeout:
      return 504;
    case ErrorClass::kUnavailable:
      return 503;
    case ErrorClass::kInternal:
      return 500;
    case ErrorClass::kOutcomeUnknown:
      return 502;
  }
  return 500;
}

}  // namespace tollgate
