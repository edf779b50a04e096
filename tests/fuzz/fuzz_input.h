#pragma once
// Splits a fuzz input into fields, so one byte string can drive a target with
// several parts (a status and a body, a method and a path and headers...).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at each occurrence of `sep`; at most `max` parts (the last one
// keeps the rest).
inline std::vector<std::string_view> split(std::string_view in, std::string_view sep, std::size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    const auto pos = in.find(sep);
    if (pos == std::string_view::npos) break;
    out.push_back(in.substr(0, pos));
    in.remove_prefix(pos + sep.size());
  }
  out.push_back(in);
  return out;
}

}  // namespace tollgate::fuzz
