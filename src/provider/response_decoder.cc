#include "provider/response_decoder.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>

#include "provider/xml.h"

namespace tollgate::provider {
namespace {

const boost::json::value* at_pointer(const boost::json::value& root, const std::string& ptr) {
  if (ptr.empty()) return &root;
  boost::system::error_code ec;
  return root.find_pointer(ptr, ec);
}

std::string_view caller_message(ErrorClass c) {
  switch (c) {
    case ErrorClass::kInvalidRequest: return "the provider rejected the request's params as invalid";
    case ErrorClass::kRejected: return "the provider refused the content of the request";
    case ErrorClass::kUnauthorized: return "the provider refused tollgate's credentials";
    case ErrorClass::kRateLimited: return "the provider is throttling requests";
    case ErrorClass::kTimeout: return "the provider did not answer in time";
    case ErrorClass::kConflict: return "the provider reported a conflict with an earlier request";
    case ErrorClass::kNotFound: return "the provider has no such record";
    default: return "the provider could not serve the request";
  }
}

}  // namespace

std::string scalar_text(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return boost::json::serialize(v);
}

std::string provider_code_text(const boost::json::value& v) {
  if (v.is_object() || v.is_array() || v.is_null()) return std::string(kUnreadableCode);
  std::string text = scalar_text(v);
  const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7F;
  });
  if (text.empty() || text.size() > kMaxProviderCode || !printable) return std::string(kUnreadableCode);
  return text;
}

Millis parse_retry_after(std::string_view header) {
  long long secs = 0;
  auto [p, ec] = std::from_chars(header.data(), header.data() + header.size(), secs);
  if (ec != std::errc() || secs < 0) return Millis(0);
  return Millis(std::min<long long>(secs, 86400) * 1000);
}

ResponseDecoder::ResponseDecoder(const config::ResponseMappingConfig& cfg, std::string provider,
                                 std::shared_ptr<const ResponseVerifier> verifier)
    : success_status_(cfg.success_status),
      success_field_(cfg.success_field),
      success_equals_(cfg.success_equals),
      failure_field_(cfg.failure_field),
      result_(cfg.result),
      result_values_(cfg.result_values),
      verifier_(std::move(verifier)),
      error_code_fields_(cfg.error_code_fields),
      xml_(cfg.format == config::ResponseMappingConfig::Format::kXml),
      errors_(cfg.errors),
      provider_(std::move(provider)),
      max_result_bytes_(cfg.max_result_bytes),
      max_body_bytes_(cfg.max_body_bytes),
      needs_json_(!cfg.success_field.empty() || !cfg.result.empty() || !cfg.error_code_fields.empty() ||
                  !cfg.failure_field.empty()) {}

std::vector<std::string> ResponseDecoder::result_names() const {
  std::vector<std::string> out;
  for (const auto& [name, ptr] : result_) out.push_back(name);
  return out;
}

ErrorClass ResponseDecoder::default_class_for_status(int status) {
  if (status == 429) return ErrorClass::kRateLimited;
  if (status == 408) return ErrorClass::kTimeout;
  if (status == 401 || status == 403) return ErrorClass::kUnauthorized;
  if (status == 400 || status == 413 || status == 422) return ErrorClass::kInvalidRequest;
  if (status == 404 || status == 405) return ErrorClass::kUnavailable;  // our endpoint is wrong
  if (status >= 400 && status < 500) return ErrorClass::kRejected;
  return ErrorClass::kUnavailable;  // 5xx, and unmapped errors inside 2xx answers
}

bool ResponseDecoder::status_is_success(int status) const {
  if (success_status_.empty()) return status >= 200 && status < 300;
  return std::find(success_status_.begin(), success_status_.end(), status) != success_status_.end();
}

Error ResponseDecoder::failure(const HttpResponse& resp, const boost::json::value* body,
                               std::string code) const {
  auto first_present = [&](const std::vector<std::string>& pointers) -> const boost::json::value* {
    for (const auto& ptr : pointers) {
      if (const auto* v = body ? at_pointer(*body, ptr) : nullptr) return v;
    }
    return nullptr;
  };
  if (code.empty()) {
    if (const auto* v = first_present(error_code_fields_)) code = provider_code_text(*v);
  }
  const std::string status_text = std::to_string(resp.status);
  ErrorClass cls;
  if (auto it = errors_.find(code); !code.empty() && it != errors_.end()) {
    cls = it->second;
  } else if (auto st = errors_.find(status_text); st != errors_.end()) {
    cls = st->second;
  } else {
    cls = default_class_for_status(resp.status);
  }
  Error e;
  e.cls = cls;
  e.message = std::string(caller_message(cls));
  e.from_provider = true;
  e.provider = provider_;
  e.provider_code = code.empty() ? status_text : code;
  // A refusal the provider put in words ("invalid number") was not acted on; a
  // 500/502/504 that is bare, or that names a failure on the provider's side
  // (InternalError), may have been half done.
  const bool server_error = resp.status == 500 || resp.status == 502 || resp.status == 504;
  e.ambiguous = server_error && (code.empty() || cls == ErrorClass::kUnavailable || cls == ErrorClass::kTimeout);
  if (cls == ErrorClass::kRateLimited || resp.status == 429 || resp.status == 503) {
    e.retry_after = parse_retry_after(resp.header("Retry-After"));
  }
  return e;
}

Error ResponseDecoder::unusable(std::string_view message, std::string code, bool ambiguous) const {
  Error e = Error::make(ErrorClass::kUnavailable, std::string(message));
  e.from_provider = true;
  e.provider = provider_;
  e.provider_code = std::move(code);
  e.ambiguous = ambiguous;
  return e;
}

// Reads the answer's body into JSON (XML answers converted), within the
// decoder's limits, its memory from `sp`; null when it is not what the mapping
// can read.
std::optional<boost::json::value> ResponseDecoder::parse_body(const HttpResponse& resp,
                                                              boost::json::storage_ptr sp) const {
  if (!needs_json_ || resp.body.empty()) return std::nullopt;
  if (xml_) return xml_to_json(resp.body, XmlLimits{.max_bytes = max_body_bytes_});
  if (resp.body.size() > max_body_bytes_) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(resp.body, ec, std::move(sp));  // depth-limited (32) by Boost.JSON
  if (ec) return std::nullopt;
  return v;
}

Result<boost::json::object> ResponseDecoder::decode(const HttpResponse& resp) const {
  // The parsed answer lives only in this function (the result copies what it
  // keeps into its own memory), so it is parsed into a buffer on the stack:
  // without it every key and every object of the answer is a heap allocation.
  alignas(std::max_align_t) unsigned char scratch[2048];
  boost::json::monotonic_resource arena(scratch, sizeof scratch);
  // The status decides first; the body is only read for what the mapping needs.
  if (!status_is_success(resp.status)) {
    const auto body = parse_body(resp, &arena);
    return failure(resp, body ? &*body : nullptr, {});
  }
  if (verifier_ && !verifier_->verify(resp)) {
    // Forged or corrupted: never a success. It may still have been acted on.
    return unusable("the provider's answer failed its signature check", "bad_signature", true);
  }
  const auto parsed = parse_body(resp, &arena);
  if (needs_json_ && !parsed) {
    // Success status but not the JSON we need: garbage. It may have acted on the
    // request, so the failure is ambiguous.
    return unusable("the provider answered with a malformed body", "malformed_response", true);
  }
  static const boost::json::value kNoBody;  // null: every pointer misses
  const boost::json::value& body = parsed ? *parsed : kNoBody;
  const boost::json::value* json = parsed ? &body : nullptr;
  if (!success_field_.empty()) {
    const auto* v = at_pointer(body, success_field_);
    if (!v || std::find(success_equals_.begin(), success_equals_.end(), scalar_text(*v)) == success_equals_.end()) {
      return failure(resp, json, v && error_code_fields_.empty() ? provider_code_text(*v) : std::string());
    }
  }
  if (!failure_field_.empty()) {
    if (const auto* v = at_pointer(body, failure_field_); v && scalar_text(*v) != "0") {
      return failure(resp, json, error_code_fields_.empty() ? provider_code_text(*v) : std::string());
    }
  }
  boost::json::object result;
  for (const auto& [name, ptr] : result_) {
    const auto* v = at_pointer(body, ptr);
    if (!v) continue;
    auto mapped = result_values_.find(name);
    if (mapped == result_values_.end()) {
      result[name] = *v;
      continue;
    }
    auto it = mapped->second.find(scalar_text(*v));
    if (it == mapped->second.end()) {
      // A value the mapping does not know: not an answer we can stand behind.
      return unusable("the provider answered an unexpected value", "unexpected_" + name, false);
    }
    result[name] = it->second;
  }
  // Only a body larger than the cap can yield a result larger than it.
  if (resp.body.size() > max_result_bytes_ && boost::json::serialize(result).size() > max_result_bytes_) {
    // It did act (a success), but what it answered cannot be passed on or stored.
    return unusable("the provider's result is larger than response.max_result_bytes (" +
                        std::to_string(max_result_bytes_) + " bytes)",
                    "result_too_large", true);
  }
  return result;
}

}  // namespace tollgate::provider
