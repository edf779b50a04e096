#include "config/template_syntax.h"

#include <algorithm>

#include "core/encoding.h"

namespace tollgate::config {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

Result<Placeholder> parse_reference(std::string_view ref) {
  ref = trim(ref);
  if (ref == "signature") {
    return Placeholder{PlaceholderRoot::kSignature, ""};
  }
  const auto dot = ref.find('.');
  if (dot == std::string_view::npos) {
    return Error::make(ErrorClass::kInvalidRequest,
                       "placeholder '{{" + std::string(ref) +
                           "}}' must be root.name (params, call, attempt or credentials)");
  }
  const std::string_view root = ref.substr(0, dot);
  const std::string_view name = ref.substr(dot + 1);
  // params may name a member inside an object param: params.vars.code
  auto valid_path = [&](std::string_view n) {
    if (root != "params") return !n.empty() && std::all_of(n.begin(), n.end(), is_name_char);
    size_t start = 0;
    while (start <= n.size()) {
      size_t dot = n.find('.', start);
      if (dot == std::string_view::npos) dot = n.size();
      const auto seg = n.substr(start, dot - start);
      if (seg.empty() || !std::all_of(seg.begin(), seg.end(), is_name_char)) return false;
      start = dot + 1;
    }
    return true;
  };
  if (!valid_path(name)) {
    return Error::make(ErrorClass::kInvalidRequest,
                       "placeholder '{{" + std::string(ref) + "}}' has an invalid name");
  }
  auto known = [&](auto& list) { return std::find(std::begin(list), std::end(list), name) != std::end(list); };
  if (root == "params") return Placeholder{PlaceholderRoot::kParams, std::string(name)};
  if (root == "credentials") return Placeholder{PlaceholderRoot::kCredentials, std::string(name)};
  if (root == "call") {
    if (!known(kCallFields)) {
      return Error::make(ErrorClass::kInvalidRequest,
                         "unknown placeholder 'call." + std::string(name) +
                             "' (known: call.id, call.caller, call.capability)");
    }
    return Placeholder{PlaceholderRoot::kCall, std::string(name)};
  }
  if (root == "attempt") {
    if (!known(kAttemptFields)) {
      return Error::make(ErrorClass::kInvalidRequest,
                         "unknown placeholder 'attempt." + std::string(name) +
                             "' (known: attempt.number, attempt.nonce, attempt.timestamp, "
                             "attempt.timestamp_ms, attempt.iso8601)");
    }
    return Placeholder{PlaceholderRoot::kAttempt, std::string(name)};
  }
  return Error::make(ErrorClass::kInvalidRequest,
                     "unknown placeholder root '" + std::string(root) +
                         "' (known: params, call, attempt, credentials)");
}

}  // namespace

bool ParsedTemplate::references(PlaceholderRoot root, std::string_view name) const {
  return std::any_of(segments.begin(), segments.end(), [&](const TemplateSegment& s) {
    return s.is_placeholder && s.placeholder.root == root && s.placeholder.name == name;
  });
}

Result<ParsedTemplate> parse_template(std::string_view text) {
  ParsedTemplate out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.segments.push_back({false, std::string(text.substr(pos)), {}});
      break;
    }
    if (open > pos) {
      out.segments.push_back({false, std::string(text.substr(pos, open - pos)), {}});
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Error::make(ErrorClass::kInvalidRequest, "unterminated '{{' in template");
    }
    auto ph = parse_reference(text.substr(open + 2, close - open - 2));
    if (!ph) return std::move(ph).error();
    out.segments.push_back({true, {}, std::move(ph.value())});
    pos = close + 2;
  }
  return out;
}

}  // namespace tollgate::config
