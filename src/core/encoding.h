#pragma once
// Encoders for the places a value can land in an HTTP request, plus small string
// helpers. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

// RFC 3986 percent-encoding: every byte except the unreserved set
// (ALPHA / DIGIT / "-" / "." / "_" / "~") becomes %XX (upper-case hex). Safe for a
// path segment (encodes '/'), a query key or value, and a form field.
void percent_encode_to(std::string& out, std::string_view in);
std::string percent_encode(std::string_view in);

// Decodes %XX and (when plus_is_space) '+' as space. nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

std::string to_hex(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// A header value must not contain CR, LF or NUL (or other control bytes except
// tab): they would let data end the header and start another.
bool is_safe_header_value(std::string_view v);

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);

}  // namespace tollgate
