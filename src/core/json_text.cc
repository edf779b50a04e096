#include "core/json_text.h"

#include <boost/json/serializer.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>

namespace tollgate {

namespace {

// Whether any of the 8 bytes in `w` needs an escape: below 0x20, '"' or '\\'.
// Classic word-at-a-time tests: (x - 0x01..) & ~x & 0x80.. flags a zero byte,
// (x - n..) & ~x & 0x80.. a byte below n (bytes from 0x80 up never flag).
bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const std::uint64_t quote = w ^ (kOnes * '"');
  const std::uint64_t backslash = w ^ (kOnes * '\\');
  return (((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHigh;
}

}  // namespace

void json_escape_to(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Runs of bytes that need no escape (nearly all of them) are appended whole,
  // found eight bytes at a time.
  std::size_t run = 0;
  std::size_t i = 0;
  for (;;) {
    while (i + 8 <= s.size()) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, sizeof w);
      if (word_needs_escape(w)) break;
      i += 8;
    }
    for (; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == '"' || c == '\\') break;
    }
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    out.append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
}

namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

template <class T>  // boost::json::value or object
void append_serialized(std::string& out, const T& v) {
  boost::json::serializer sr;
  sr.reset(&v);
  char buf[1024];
  while (!sr.done()) out += sr.read(buf, sizeof buf);
}

}  // namespace

void append_json(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::string:  // the common case, without a serializer
      out.push_back('"');
      json_escape_to(out, v.get_string());
      out.push_back('"');
      return;
    case boost::json::kind::int64:
      append_int(out, v.get_int64());
      return;
    default:
      append_serialized(out, v);
  }
}

void append_json(std::string& out, const boost::json::object& v) { append_serialized(out, v); }

JsonObjectWriter& JsonObjectWriter::string(std::string_view key, std::string_view v) {
  member(key).push_back('"');
  json_escape_to(out_, v);
  out_.push_back('"');
  return *this;
}

JsonObjectWriter& JsonObjectWriter::number(std::string_view key, std::int64_t v) {
  append_int(member(key), v);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::boolean(std::string_view key, bool v) {
  member(key) += v ? "true" : "false";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::value(std::string_view key, const boost::json::value& v) {
  append_json(member(key), v);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::value(std::string_view key, const boost::json::object& v) {
  append_json(member(key), v);
  return *this;
}

std::string& JsonObjectWriter::member(std::string_view key) {
  if (!first_) out_.push_back(',');
  first_ = false;
  out_.push_back('"');
  json_escape_to(out_, key);
  out_ += "\":";
  return out_;
}

void JsonObjectWriter::close() {
  if (closed_) return;
  closed_ = true;
  out_.push_back('}');
}

}  // namespace tollgate
