// The signers over a configurable canonical string (provider/canonical.h):
//   hmac_sha256  HMAC-SHA256 with a shared secret;
//   rsa_sha256   RSA PKCS#1 v1.5 with SHA-256 and a private key, as payment
//                channels (WeChat Pay v3, Alipay) sign requests.
// Both write the signature to a header through a format such as
// "v1={{signature}}" or "WECHATPAY2-SHA256-RSA2048 mchid=…,signature=\"{{signature}}\"".
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/process.h"
#include "provider/canonical.h"
#include "provider/signer.h"

namespace tollgate::provider {
namespace {

class CanonicalSigner final : public Signer {
 public:
  using Sign = std::function<std::string(std::string_view canonical)>;
  CanonicalSigner(Sign sign, CanonicalParts parts, bool base64, std::string header, CompiledText format)
      : sign_(std::move(sign)),
        parts_(std::move(parts)),
        base64_(base64),
        header_(std::move(header)),
        format_(std::move(format)) {}

  Result<void> sign(HttpRequest& req, const SignInput& in) const override {
    const std::string raw = sign_(parts_.of_request(req, in));
    if (raw.empty()) return Error::make(ErrorClass::kInternal, "signing failed");
    RenderContext ctx = in.ctx;
    const std::string sig = base64_ ? base64_encode(raw) : to_hex(raw);
    ctx.signature = sig;
    req.headers.emplace_back(header_, format_.render(ctx, Placement::kText));
    return ok();
  }

  bool uses_time() const override {
    const auto& f = format_.parsed();
    return parts_.uses_time() || f.references(config::PlaceholderRoot::kAttempt, "timestamp") ||
           f.references(config::PlaceholderRoot::kAttempt, "timestamp_ms") ||
           f.references(config::PlaceholderRoot::kAttempt, "iso8601");
  }

  bool uses_nonce() const override {
    return parts_.uses_nonce() || format_.parsed().references(config::PlaceholderRoot::kAttempt, "nonce");
  }

 private:
  Sign sign_;
  CanonicalParts parts_;
  bool base64_;
  std::string header_;
  CompiledText format_;
};

// The options both signers share: canonical, separator, encoding, header, format.
std::unique_ptr<Signer> canonical_signer(SignerOptions& o, CanonicalSigner::Sign sign, const char* default_encoding,
                                         const char* default_header) {
  const auto names = o.list("canonical", true);
  auto parts = CanonicalParts::parse(names, o.optional("separator", "\n"), CanonicalParts::Side::kRequest,
                                     [&](const std::string& m) { o.error("canonical", m); });
  for (const auto& name : names) {
    if (!name.starts_with("text:")) continue;
    if (auto t = config::parse_template(name.substr(5))) o.check_template("canonical", *t, false);
  }
  const std::string encoding = o.optional("encoding", default_encoding);
  if (encoding != "hex" && encoding != "base64") o.error("encoding", "must be hex or base64");
  const std::string header = o.optional("header", default_header);
  const std::string format = o.format("format", "{{signature}}");
  if (!parts) return nullptr;
  return std::make_unique<CanonicalSigner>(std::move(sign), std::move(*parts), encoding == "base64", header,
                                           compile_text(format));
}

}  // namespace

std::unique_ptr<Signer> make_hmac_sha256_signer(SignerOptions& o) {
  std::string secret = o.required("secret");
  return canonical_signer(
      o, [secret](std::string_view canonical) { return hmac_sha256(secret, canonical); }, "hex", "X-Signature");
}

// The private key: `private_key` (PEM text, e.g. "{{credentials.private_key}}" from
// the environment) or `private_key_file` (a PEM file).
std::unique_ptr<Signer> make_rsa_sha256_signer(SignerOptions& o) {
  const std::string text = o.optional("private_key", "");
  const std::string file = o.optional("private_key_file", "");
  RsaKey key;
  if (text.empty() == file.empty()) {
    o.error("private_key", "give exactly one of private_key (PEM text) and private_key_file");
  } else {
    const auto pem = text.empty() ? read_file(file) : std::optional<std::string>(text);
    const char* which = text.empty() ? "private_key_file" : "private_key";
    if (!pem) {
      o.error(which, "cannot read " + file);
    } else if (auto loaded = RsaKey::private_pem(*pem)) {
      key = std::move(*loaded);
    } else {
      o.error(which, loaded.error().message);
    }
  }
  return canonical_signer(
      o, [key](std::string_view canonical) { return key.sign_sha256(canonical); }, "base64", "Authorization");
}

}  // namespace tollgate::provider
