#pragma once
// ErrorClass and Error: the one vocabulary for everything that can go wrong on a
// call. The class drives retry decisions, the HTTP status a caller sees and metric
// labels alike. Plain values; safe to copy between threads.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

enum class ErrorClass : std::uint8_t {
  kBadRequest,      // malformed request: not JSON, bad header value
  kInvalidRequest,  // well-formed but invalid params (ours or the provider's verdict)
  kUnauthorized,    // missing/wrong caller key, or a provider refusing our credentials
  kForbidden,       // caller may not use this capability
  kNotFound,        // unknown capability, operation or request id
  kConflict,        // idempotency key reused with another body
  kTooLarge,        // body or header over the limit
  kRateLimited,     // a limit said no (the caller's, or a provider's throttle)
  kTimeout,         // no answer within the deadline
  kUnavailable,     // provider down, refused, answered garbage; nothing could serve
  kRejected,        // provider refused the content (template, signature name)
  kInternal,        // a bug or an unexpected local failure
  // The provider may or may not have acted (a read timeout on a refund) and
  // nothing makes a repeat safe: never retryable; the caller must find out.
  kOutcomeUnknown,
};

inline constexpr int kErrorClassCount = 13;

std::string_view to_string(ErrorClass c);
std::optional<ErrorClass> parse_error_class(std::string_view s);

// Whether trying again (later, or on another provider) may succeed.
bool is_retryable(ErrorClass c);

// Whether an error of this class, reported by a provider, says the provider is
// unhealthy. A provider's "invalid phone number" says nothing about its health.
bool is_provider_fault(ErrorClass c);

struct Error {
  ErrorClass cls = ErrorClass::kInternal;
  // Safe to show to the caller: written by tollgate, never a provider's raw text.
  std::string message;
  // True when the error came from a provider attempt (changes the HTTP status of
  // some classes: a provider's 401 is our misconfiguration, not the caller's).
  bool from_provider = false;
  // The request may have reached the provider (read timeout, reset after send,
  // garbage answer): a non-idempotent operation must not be retried blindly.
  bool ambiguous = false;
  std::string provider;       // which provider answered (operators)
  std::string provider_code;  // the provider's own code (operators)
  std::string detail;         // operators only (logs): e.g. "certificate verify failed"
  std::chrono::milliseconds retry_after{0};  // provider asked us to wait (429)

  static Error make(ErrorClass c, std::string msg) { return Error{c, std::move(msg)}; }
};

// The HTTP status a caller sees for this error.
int http_status(const Error& e);

}  // namespace tollgate
