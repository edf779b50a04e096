#pragma once
// The placeholder syntax shared by request templates and signer formats:
// literal text with `{{ root.name }}` references. Parsing is pure and done once at
// config load; rendering (with per-location encoding) lives in provider/.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::config {

enum class PlaceholderRoot {
  kParams,       // params.<name>: a call parameter
  kCall,         // call.id | call.caller | call.capability
  kAttempt,      // attempt.number | nonce | timestamp | timestamp_ms | iso8601
  kCredentials,  // credentials.<name>: a provider credential
  kSignature,    // signature: only inside a signer's output format
};

struct Placeholder {
  PlaceholderRoot root;
  std::string name;  // after the dot (empty for `signature`)
};

struct TemplateSegment {
  bool is_placeholder = false;
  std::string literal;  // when !is_placeholder
  Placeholder placeholder;
};

struct ParsedTemplate {
  std::vector<TemplateSegment> segments;
  // True when the template is exactly one placeholder and nothing else: in a JSON
  // body it then keeps the value's JSON type (number, object, ...).
  bool single_placeholder() const {
    return segments.size() == 1 && segments[0].is_placeholder;
  }
  bool references(PlaceholderRoot root, std::string_view name) const;
};

Result<ParsedTemplate> parse_template(std::string_view text);

inline constexpr std::string_view kCallFields[] = {"id", "caller", "capability"};
inline constexpr std::string_view kAttemptFields[] = {"number", "nonce", "timestamp",
                                                      "timestamp_ms", "iso8601"};

}  // namespace tollgate::config
