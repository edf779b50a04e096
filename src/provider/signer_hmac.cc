// hmac_sha256: HMAC-SHA256 over a canonical string assembled from configurable
// parts of the request, written to a header through a format.
#include "core/crypto.h"
#include "core/encoding.h"
#include "provider/signer.h"

namespace tollgate::provider {
namespace {

struct Part {
  enum class Kind { kMethod, kPath, kQuery, kBody, kTimestamp, kNonce, kCallId, kHost, kHeader, kLiteral };
  Kind kind;
  std::string arg;  // header name or literal text
};

class HmacSigner final : public Signer {
 public:
  HmacSigner(std::string secret, std::vector<Part> parts, std::string separator, bool base64,
             std::string header, CompiledText format)
      : secret_(std::move(secret)),
        parts_(std::move(parts)),
        separator_(std::move(separator)),
        base64_(base64),
        header_(std::move(header)),
        format_(std::move(format)) {}

  Result<void> sign(HttpRequest& req, const SignInput& in) const override {
    std::string canonical;
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (i > 0) canonical += separator_;
      const Part& p = parts_[i];
      switch (p.kind) {
        case Part::Kind::kMethod: canonical += req.method; break;
        case Part::Kind::kPath: canonical += req.path; break;
        case Part::Kind::kQuery: canonical += req.query; break;
        case Part::Kind::kBody: canonical += req.body; break;
        case Part::Kind::kTimestamp: canonical += in.ctx.timestamp; break;
        case Part::Kind::kNonce: canonical += in.ctx.nonce; break;
        case Part::Kind::kCallId: canonical += in.ctx.call_id; break;
        case Part::Kind::kHost: canonical += in.host; break;
        case Part::Kind::kHeader: canonical += req.header(p.arg); break;
        case Part::Kind::kLiteral: canonical += p.arg; break;
      }
    }
    const std::string mac = hmac_sha256(secret_, canonical);
    const std::string sig = base64_ ? base64_encode(mac) : to_hex(mac);
    RenderContext ctx = in.ctx;
    ctx.signature = sig;
    req.headers.emplace_back(header_, format_.render(ctx, Placement::kText));
    return ok();
  }

  bool uses_time() const override {
    for (const auto& p : parts_) {
      if (p.kind == Part::Kind::kTimestamp) return true;
    }
    const auto& f = format_.parsed();
    return f.references(config::PlaceholderRoot::kAttempt, "timestamp") ||
           f.references(config::PlaceholderRoot::kAttempt, "timestamp_ms") ||
           f.references(config::PlaceholderRoot::kAttempt, "iso8601");
  }

  bool uses_nonce() const override {
    for (const auto& p : parts_) {
      if (p.kind == Part::Kind::kNonce) return true;
    }
    return format_.parsed().references(config::PlaceholderRoot::kAttempt, "nonce");
  }

 private:
  std::string secret_;
  std::vector<Part> parts_;
  std::string separator_;
  bool base64_;
  std::string header_;
  CompiledText format_;
};

}  // namespace

std::unique_ptr<Signer> make_hmac_sha256_signer(SignerOptions& o) {
  const std::string secret = o.required("secret");
  std::vector<Part> parts;
  for (const auto& text : o.list("canonical", true)) {
    using K = Part::Kind;
    static const std::pair<std::string_view, K> kSimple[] = {
        {"method", K::kMethod}, {"path", K::kPath},       {"query", K::kQuery},
        {"body", K::kBody},     {"timestamp", K::kTimestamp}, {"nonce", K::kNonce},
        {"call_id", K::kCallId}, {"host", K::kHost}};
    bool found = false;
    for (const auto& [name, kind] : kSimple) {
      if (text == name) {
        parts.push_back({kind, {}});
        found = true;
      }
    }
    if (found) continue;
    if (text.starts_with("header:") && text.size() > 7) {
      parts.push_back({K::kHeader, text.substr(7)});
    } else if (text.starts_with("literal:")) {
      parts.push_back({K::kLiteral, text.substr(8)});
    } else {
      o.error("canonical", "unknown part '" + text +
                               "' (known: method, path, query, body, timestamp, nonce, call_id, "
                               "host, header:<name>, literal:<text>)");
    }
  }
  std::string separator = o.optional("separator", "\n");
  if (separator == "\\n") separator = "\n";
  const std::string encoding = o.optional("encoding", "hex");
  if (encoding != "hex" && encoding != "base64") o.error("encoding", "must be hex or base64");
  const std::string header = o.optional("header", "X-Signature");
  const std::string format = o.format("format", "{{signature}}");
  return std::make_unique<HmacSigner>(secret, std::move(parts), separator, encoding == "base64",
                                      header, compile_text(format));
}

}  // namespace tollgate::provider
