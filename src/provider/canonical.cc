#include "provider/canonical.h"

#include <span>

#include "provider/signer.h"

namespace tollgate::provider {

std::optional<CanonicalParts> CanonicalParts::parse(const std::vector<std::string>& names, std::string separator,
                                                    Side side, const std::function<void(const std::string&)>& error) {
  using K = Part::Kind;
  static const std::pair<std::string_view, K> kRequestParts[] = {
      {"method", K::kMethod}, {"path", K::kPath},           {"query", K::kQuery},   {"target", K::kTarget},
      {"body", K::kBody},     {"timestamp", K::kTimestamp}, {"nonce", K::kNonce},   {"call_id", K::kCallId},
      {"host", K::kHost}};
  static const std::pair<std::string_view, K> kResponseParts[] = {{"body", K::kBody}, {"status", K::kStatus}};
  CanonicalParts out;
  out.separator_ = separator == "\\n" ? "\n" : std::move(separator);
  bool ok = true;
  for (const auto& name : names) {
    bool found = false;
    const std::span<const std::pair<std::string_view, K>> simple =
        side == Side::kRequest ? std::span<const std::pair<std::string_view, K>>(kRequestParts)
                               : std::span<const std::pair<std::string_view, K>>(kResponseParts);
    for (const auto& [n, kind] : simple) {
      if (name == n) {
        out.parts_.push_back(Part{kind, {}, CompiledText()});
        found = true;
      }
    }
    if (found) continue;
    if (name.starts_with("header:") && name.size() > 7) {
      out.parts_.push_back(Part{K::kHeader, name.substr(7), CompiledText()});
    } else if (name.starts_with("literal:")) {
      out.parts_.push_back(Part{K::kLiteral, name.substr(8), CompiledText()});
    } else if (side == Side::kRequest && name.starts_with("text:")) {
      auto parsed = config::parse_template(name.substr(5));
      if (!parsed) {
        error("part '" + name + "': " + parsed.error().message);
        ok = false;
        continue;
      }
      out.parts_.push_back(Part{K::kText, {}, CompiledText(std::move(*parsed))});
    } else {
      error(side == Side::kRequest
                ? "unknown part '" + name +
                      "' (known: method, path, query, target, body, timestamp, nonce, call_id, host, "
                      "header:<name>, literal:<text>, text:<template>)"
                : "unknown part '" + name + "' (known: body, status, header:<name>, literal:<text>)");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::string CanonicalParts::of_request(const HttpRequest& req, const SignInput& in) const {
  std::string out;
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (i > 0) out += separator_;
    const Part& p = parts_[i];
    switch (p.kind) {
      case Part::Kind::kMethod: out += req.method; break;
      case Part::Kind::kPath: out += req.path; break;
      case Part::Kind::kQuery: out += req.query; break;
      case Part::Kind::kTarget: out += req.target(); break;
      case Part::Kind::kBody: out += req.body; break;
      case Part::Kind::kTimestamp: out += in.ctx.timestamp; break;
      case Part::Kind::kNonce: out += in.ctx.nonce; break;
      case Part::Kind::kCallId: out += in.ctx.call_id; break;
      case Part::Kind::kHost: out += in.host; break;
      case Part::Kind::kHeader: out += req.header(p.arg); break;
      case Part::Kind::kLiteral: out += p.arg; break;
      case Part::Kind::kText: p.text.render(out, in.ctx, Placement::kText); break;
      case Part::Kind::kStatus: break;
    }
  }
  return out;
}

std::string CanonicalParts::of_response(const HttpResponse& resp) const {
  std::string out;
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (i > 0) out += separator_;
    const Part& p = parts_[i];
    switch (p.kind) {
      case Part::Kind::kBody: out += resp.body; break;
      case Part::Kind::kStatus: out += std::to_string(resp.status); break;
      case Part::Kind::kHeader: out += resp.header(p.arg); break;
      case Part::Kind::kLiteral: out += p.arg; break;
      default: break;
    }
  }
  return out;
}

bool CanonicalParts::uses_time() const {
  for (const auto& p : parts_) {
    if (p.kind == Part::Kind::kTimestamp) return true;
    if (p.kind == Part::Kind::kText) {
      for (const char* f : {"timestamp", "timestamp_ms", "iso8601"}) {
        if (p.text.parsed().references(config::PlaceholderRoot::kAttempt, f)) return true;
      }
    }
  }
  return false;
}

bool CanonicalParts::uses_nonce() const {
  for (const auto& p : parts_) {
    if (p.kind == Part::Kind::kNonce) return true;
    if (p.kind == Part::Kind::kText && p.text.parsed().references(config::PlaceholderRoot::kAttempt, "nonce")) {
      return true;
    }
  }
  return false;
}

}  // namespace tollgate::provider
