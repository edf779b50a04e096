#pragma once
// ResponseDecoder: turns a provider's HTTP answer into either the unified result
// object or a classified Error. Knows success rules (status and/or a body field),
// result extraction by JSON pointer, and the provider-code -> ErrorClass table.
// XML answers are read into the same JSON shape first (provider/xml.h). With a
// verifier, a success whose signature does not verify is `unavailable`.
// Immutable; any thread.

#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/http_message.h"
#include "core/result.h"
#include "provider/response_verifier.h"

namespace tollgate::provider {

class ResponseDecoder {
 public:
  ResponseDecoder(const config::ResponseMappingConfig& cfg, std::string provider,
                  std::shared_ptr<const ResponseVerifier> verifier = nullptr);

  Result<boost::json::object> decode(const HttpResponse& resp) const;

  // Names of the result fields this mapping produces (for synthesised answers).
  std::vector<std::string> result_names() const;

  // The class for an HTTP status when no provider code says otherwise.
  static ErrorClass default_class_for_status(int status);

 private:
  bool status_is_success(int status) const;
  Error failure(const HttpResponse& resp, const boost::json::value* body,
                std::string code) const;
  // An answer with a success status that cannot be used (malformed, forged, unknown value).
  Error unusable(std::string_view message, std::string code, bool ambiguous) const;

  std::vector<int> success_status_;
  std::string success_field_;
  std::vector<std::string> success_equals_;
  std::string failure_field_;
  std::vector<std::pair<std::string, std::string>> result_;
  std::map<std::string, std::map<std::string, std::string>> result_values_;
  std::shared_ptr<const ResponseVerifier> verifier_;
  std::vector<std::string> error_code_fields_;
  bool xml_;
  std::map<std::string, ErrorClass> errors_;
  std::string provider_;
  std::size_t max_result_bytes_;
  std::size_t max_body_bytes_;
  bool needs_json_;

  std::optional<boost::json::value> parse_body(const HttpResponse& resp, boost::json::storage_ptr sp) const;
};

// A provider answer value as text: strings as is, numbers and bools as JSON.
std::string scalar_text(const boost::json::value& v);

// A provider's error code as tollgate keeps it (shown to callers in
// error.provider_code, logged, stored): a scalar of at most kMaxProviderCode
// printable bytes; anything else (an object, a huge string, control characters)
// becomes kUnreadableCode.
inline constexpr std::size_t kMaxProviderCode = 64;
inline constexpr std::string_view kUnreadableCode = "unreadable_code";
std::string provider_code_text(const boost::json::value& v);

// Parses Retry-After (delta-seconds); 0 when absent or not a number.
Millis parse_retry_after(std::string_view header);

}  // namespace tollgate::provider
