#include "provider/response_verifier.h"

#include "core/encoding.h"
#include "core/process.h"

namespace tollgate::provider {

std::shared_ptr<const ResponseVerifier> ResponseVerifier::make(const config::ProviderConfig& provider,
                                                               const config::OperationConfig& op,
                                                               std::vector<config::Problem>& problems) {
  const auto& v = op.response.verify;
  const std::string what = "provider '" + provider.name + "' operation '" + op.capability + "'.response.verify";
  const size_t before = problems.size();
  auto problem = [&](const std::string& m) { problems.push_back({v.mark, what + ": " + m}); };

  std::string pem = v.public_key;
  // A whole-value {{credentials.NAME}} takes the key from the provider's credentials.
  if (pem.starts_with("{{credentials.") && pem.ends_with("}}")) {
    const std::string name = pem.substr(14, pem.size() - 16);
    auto it = provider.credentials.find(name);
    if (it == provider.credentials.end()) {
      problem("{{credentials." + name + "}} is not defined in provider '" + provider.name + "'.credentials");
      return nullptr;
    }
    pem = it->second;
  }
  if (!v.public_key_file.empty()) {
    auto text = read_file(v.public_key_file);
    if (!text) {
      problem("cannot read public_key_file " + v.public_key_file);
      return nullptr;
    }
    pem = std::move(*text);
  }
  auto key = RsaKey::public_pem(pem);
  if (!key) problem(key.error().message);
  auto parts = CanonicalParts::parse(v.canonical, v.separator, CanonicalParts::Side::kResponse,
                                     [&](const std::string& m) { problem("canonical: " + m); });
  if (problems.size() != before || !key || !parts) return nullptr;
  return std::make_shared<ResponseVerifier>(std::move(*key), std::move(*parts), v.signature.substr(7),
                                            v.encoding == "base64");
}

bool ResponseVerifier::verify(const HttpResponse& resp) const {
  const std::string_view text = resp.header(header_);
  if (text.empty()) return false;
  std::optional<std::string> sig;
  if (base64_) {
    sig = base64_decode(text);
  } else {
    // hex
    std::string raw;
    if (text.size() % 2 != 0) return false;
    for (size_t i = 0; i < text.size(); i += 2) {
      auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
      if (hi < 0 || lo < 0) return false;
      raw += static_cast<char>(hi * 16 + lo);
    }
    sig = std::move(raw);
  }
  return sig && key_.verify_sha256(parts_.of_response(resp), *sig);
}

}  // namespace tollgate::provider
