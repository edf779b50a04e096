#include "provider/xml.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <string>
#include <vector>

namespace tollgate::provider {
namespace {

namespace json = boost::json;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Appends character data with XML's five entities and numeric references
// decoded; false on any other '&'.
bool append_text(std::string& out, std::string_view raw) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out.push_back(raw[i]);
      continue;
    }
    const size_t semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) return false;
    const std::string_view ent = raw.substr(i + 1, semi - i - 1);
    if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (ent.size() >= 2 && ent[0] == '#') {
      const bool hex = ent[1] == 'x';
      const std::string_view digits = ent.substr(hex ? 2 : 1);
      if (digits.empty()) return false;
      unsigned long cp = 0;
      for (char c : digits) {
        int d;
        if (c >= '0' && c <= '9') {
          d = c - '0';
        } else if (hex && c >= 'a' && c <= 'f') {
          d = c - 'a' + 10;
        } else if (hex && c >= 'A' && c <= 'F') {
          d = c - 'A' + 10;
        } else {
          return false;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<unsigned long>(d);
        if (cp > 0x10FFFF) return false;
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      append_utf8(out, cp);
    } else {
      return false;  // no DTD, so no other entities
    }
    i = semi;
  }
  return true;
}

// One open element while parsing.
struct Frame {
  std::string name;
  json::object children;
  std::string text;
  bool has_elements = false;
};

// Adds `v` under `key`; a repeated key becomes an array of its values.
void add_child(json::object& parent, std::string_view key, json::value v) {
  auto* existing = parent.if_contains(key);
  if (!existing) {
    parent.emplace(key, std::move(v));
  } else if (existing->is_array()) {
    existing->get_array().push_back(std::move(v));
  } else {
    json::array both;
    both.push_back(std::move(*existing));
    both.push_back(std::move(v));
    *existing = std::move(both);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<json::value> xml_to_json(std::string_view xml, const XmlLimits& limits) {
  if (xml.size() > limits.max_bytes) return std::nullopt;
  std::vector<Frame> stack;
  json::object root;
  bool seen_root = false;
  size_t i = 0;
  const size_t n = xml.size();
  auto starts = [&](std::string_view s) { return xml.substr(i, s.size()) == s; };
  while (i < n) {
    if (xml[i] != '<') {
      const size_t lt = xml.find('<', i);
      const std::string_view raw = xml.substr(i, lt == std::string_view::npos ? n - i : lt - i);
      if (stack.empty()) {
        if (!trim(raw).empty()) return std::nullopt;  // text outside the root element
      } else if (!append_text(stack.back().text, raw)) {
        return std::nullopt;
      }
      if (lt == std::string_view::npos) break;
      i = lt;
      continue;
    }
    if (starts("<!--")) {
      const size_t end = xml.find("-->", i + 4);
      if (end == std::string_view::npos) return std::nullopt;
      i = end + 3;
      continue;
    }
    if (starts("<![CDATA[")) {
      const size_t end = xml.find("]]>", i + 9);
      if (end == std::string_view::npos || stack.empty()) return std::nullopt;
      stack.back().text.append(xml.substr(i + 9, end - i - 9));
      i = end + 3;
      continue;
    }
    if (starts("<?")) {
      const size_t end = xml.find("?>", i + 2);
      if (end == std::string_view::npos) return std::nullopt;
      i = end + 2;
      continue;
    }
    if (starts("<!")) return std::nullopt;  // DOCTYPE and friends: never needed, never expanded
    if (starts("</")) {
      size_t j = i + 2;
      while (j < n && is_name_char(xml[j])) ++j;
      const std::string_view name = xml.substr(i + 2, j - i - 2);
      while (j < n && is_space(xml[j])) ++j;
      if (j >= n || xml[j] != '>' || stack.empty() || stack.back().name != name) return std::nullopt;
      i = j + 1;
      Frame done = std::move(stack.back());
      stack.pop_back();
      json::value v = done.has_elements ? json::value(std::move(done.children))
                                        : json::value(json::string(trim(done.text)));
      if (stack.empty()) {
        root.emplace(done.name, std::move(v));
      } else {
        stack.back().has_elements = true;
        add_child(stack.back().children, done.name, std::move(v));
      }
      continue;
    }
    // A start tag: name, attributes (skipped, quotes respected), '>' or '/>'.
    size_t j = i + 1;
    while (j < n && is_name_char(xml[j])) ++j;
    const std::string_view name = xml.substr(i + 1, j - i - 1);
    if (name.empty()) return std::nullopt;
    bool self_closing = false;
    for (;;) {
      if (j >= n) return std::nullopt;
      const char c = xml[j];
      if (c == '"' || c == '\'') {
        const size_t close = xml.find(c, j + 1);
        if (close == std::string_view::npos) return std::nullopt;
        j = close + 1;
      } else if (c == '>') {
        break;
      } else if (c == '/' && j + 1 < n && xml[j + 1] == '>') {
        self_closing = true;
        ++j;
        break;
      } else if (c == '<') {
        return std::nullopt;
      } else {
        ++j;
      }
    }
    i = j + 1;
    if (stack.empty() && seen_root) return std::nullopt;  // a second root element
    seen_root = true;
    if (self_closing) {
      if (stack.empty()) {
        root.emplace(name, json::string());
      } else {
        stack.back().has_elements = true;
        add_child(stack.back().children, name, json::string());
      }
      continue;
    }
    if (stack.size() >= limits.max_depth) return std::nullopt;
    stack.push_back(Frame{std::string(name), {}, {}, false});
  }
  if (!stack.empty() || root.empty()) return std::nullopt;
  return json::value(std::move(root));
}

}  // namespace tollgate::provider
