#pragma once
// Rendering of parsed templates into the place a value lands in an HTTP request.
// Each placement has its own encoding, so no parameter can inject a header, a
// query field, a form field, a path segment or a JSON member. Immutable after
// construction; any thread may render.

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "config/template_syntax.h"
#include "core/json_text.h"
#include "core/result.h"

namespace tollgate::provider {

// What placeholders resolve against for one attempt.
struct RenderContext {
  const boost::json::object* params = nullptr;
  std::string_view call_id;
  std::string_view caller;
  std::string_view capability;
  std::string_view attempt_number;  // "1", "2", ...
  std::string_view nonce;
  std::string_view timestamp;     // unix seconds
  std::string_view timestamp_ms;  // unix milliseconds
  std::string_view iso8601;       // UTC
  std::string_view signature;     // only for signer formats
  const std::map<std::string, std::string>* credentials = nullptr;
};

enum class Placement {
  kText,         // as is (signer formats, canonical strings)
  kHeader,       // as is, then checked for CR/LF/NUL by the caller of render
  kPathSegment,  // percent-encoded, '/' included
  kQuery,        // percent-encoded (also form fields)
  kJsonString,   // escaped for the inside of a JSON string literal
};

// A resolved placeholder: a JSON value (params) or text (everything else).
struct Resolved {
  const boost::json::value* json = nullptr;
  std::string_view text;
  bool present = false;
};

Resolved resolve(const config::Placeholder& ph, const RenderContext& ctx);

// Appends the text form of a resolved value: strings as their characters, other
// JSON values in compact JSON, absent values as nothing.
void append_text(std::string& out, const Resolved& r);

class CompiledText {
 public:
  CompiledText() = default;
  explicit CompiledText(config::ParsedTemplate parsed) : parsed_(std::move(parsed)) {}

  void render(std::string& out, const RenderContext& ctx, Placement placement) const;
  std::string render(const RenderContext& ctx, Placement placement) const {
    std::string out;
    render(out, ctx, placement);
    return out;
  }
  const config::ParsedTemplate& parsed() const { return parsed_; }

 private:
  config::ParsedTemplate parsed_;
};

// Parses a template that the loader already validated.
CompiledText compile_text(std::string_view text);

}  // namespace tollgate::provider
