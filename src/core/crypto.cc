#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "core/encoding.h"

namespace tollgate {
namespace {

enum class MacDigest { kSha256, kSha1 };

// One HMAC context per thread and digest, its digest set once: HMAC() fetches the
// digest and builds a context on every call (1.27 µs against 0.31 µs per
// signature, measured). Every signed call and callback signs.
EVP_MAC_CTX* mac_context(MacDigest d) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  using Ctx = std::unique_ptr<EVP_MAC_CTX, void (*)(EVP_MAC_CTX*)>;
  thread_local Ctx contexts[2] = {Ctx(nullptr, EVP_MAC_CTX_free), Ctx(nullptr, EVP_MAC_CTX_free)};
  Ctx& ctx = contexts[d == MacDigest::kSha256 ? 0 : 1];
  if (!ctx && mac) {
    ctx.reset(EVP_MAC_CTX_new(mac));
    std::string name = d == MacDigest::kSha256 ? "SHA256" : "SHA1";  // OpenSSL takes a mutable char*
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", name.data(), 0),
                                 OSSL_PARAM_construct_end()};
    if (ctx && EVP_MAC_CTX_set_params(ctx.get(), params) != 1) ctx.reset();
  }
  return ctx.get();
}

std::string hmac(MacDigest d, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  // A null key would keep the previous call's key: an empty one is "".
  const auto* k = reinterpret_cast<const unsigned char*>(key.empty() ? "" : key.data());
  EVP_MAC_CTX* ctx = mac_context(d);
  if (ctx && EVP_MAC_init(ctx, k, key.size(), nullptr) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, out, &len, sizeof out) == 1) {
    return std::string(reinterpret_cast<char*>(out), len);
  }
  unsigned int n = 0;
  HMAC(d == MacDigest::kSha256 ? EVP_sha256() : EVP_sha1(), k, static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

// SHA-256 into `out` (32 bytes). Every caller's key is hashed on every call:
// the digest is fetched once (not looked up by name per call, as EVP_sha256()
// is in OpenSSL 3) and each thread reuses one context.
void sha256_into(std::string_view data, unsigned char* out) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned int len = 0;
  if (md && ctx && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1 &&
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 && EVP_DigestFinal_ex(ctx.get(), out, &len) == 1 &&
      len == 32) {
    return;
  }
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  sha256_into(data, out);
  return std::string(reinterpret_cast<char*>(out), 32);
}

std::string sha256_hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  sha256_into(data, out);
  return to_hex(std::string_view(reinterpret_cast<char*>(out), 32));
}

std::string hmac_sha256(std::string_view key, std::string_view data) { return hmac(MacDigest::kSha256, key, data); }

std::string hmac_sha1(std::string_view key, std::string_view data) { return hmac(MacDigest::kSha1, key, data); }

namespace {

std::shared_ptr<void> own(EVP_PKEY* k) {
  return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

struct Bio {
  explicit Bio(std::string_view pem) : bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))) {}
  ~Bio() { BIO_free(bio); }
  BIO* bio;
};

Error key_error(std::string what) { return Error::make(ErrorClass::kInvalidRequest, std::move(what)); }

bool is_rsa(EVP_PKEY* k) { return EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA; }

}  // namespace

Result<RsaKey> RsaKey::private_pem(std::string_view pem) {
  Bio b(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b.bio, nullptr, nullptr, nullptr);
  if (!k) return key_error("not a PEM private key");
  RsaKey out;
  out.key_ = own(k);
  if (!is_rsa(k)) return key_error("the private key is not an RSA key");
  return out;
}

Result<RsaKey> RsaKey::public_pem(std::string_view pem) {
  EVP_PKEY* k = nullptr;
  {
    Bio b(pem);
    k = PEM_read_bio_PUBKEY(b.bio, nullptr, nullptr, nullptr);
  }
  if (!k) {
    Bio b(pem);
    if (X509* cert = PEM_read_bio_X509(b.bio, nullptr, nullptr, nullptr)) {
      k = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  if (!k) return key_error("not a PEM public key or certificate");
  RsaKey out;
  out.key_ = own(k);
  if (!is_rsa(k)) return key_error("the public key is not an RSA key");
  return out;
}

std::string RsaKey::sign_sha256(std::string_view data) const {
  if (!key_) return {};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string out;
  size_t len = 0;
  auto* k = static_cast<EVP_PKEY*>(key_.get());
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1) {
    out.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1) {
      out.resize(len);
    } else {
      out.clear();
    }
  }
  EVP_MD_CTX_free(ctx);
  return out;
}

bool RsaKey::verify_sha256(std::string_view data, std::string_view signature) const {
  if (!key_) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  auto* k = static_cast<EVP_PKEY*>(key_.get());
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, k) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

constexpr size_t kGcmTag = 16;

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::optional<std::string> aes256_gcm_decrypt(std::string_view key, std::string_view iv, std::string_view aad,
                                              std::string_view sealed) {
  if (key.size() != 32 || iv.empty() || sealed.size() < kGcmTag) return std::nullopt;
  const std::string_view ct = sealed.substr(0, sealed.size() - kGcmTag);
  std::string tag(sealed.substr(sealed.size() - kGcmTag));
  CipherCtx c;
  if (!c.ctx) return std::nullopt;
  std::string out(ct.size(), '\0');
  int len = 0, total = 0;
  if (EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(c.ctx, nullptr, nullptr, bytes(key), bytes(iv)) != 1) {
    return std::nullopt;
  }
  if (!aad.empty() && EVP_DecryptUpdate(c.ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    return std::nullopt;
  }
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len, bytes(ct),
                          static_cast<int>(ct.size())) != 1) {
      return std::nullopt;
    }
    total = len;
  }
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTag), tag.data()) != 1) {
    return std::nullopt;
  }
  unsigned char fin[16];
  if (EVP_DecryptFinal_ex(c.ctx, fin, &len) != 1) return std::nullopt;  // the tag did not match
  out.resize(static_cast<size_t>(total));
  return out;
}

std::string aes256_gcm_encrypt(std::string_view key, std::string_view iv, std::string_view aad,
                               std::string_view plaintext) {
  if (key.size() != 32 || iv.empty()) return {};
  CipherCtx c;
  if (!c.ctx) return {};
  std::string out(plaintext.size() + kGcmTag, '\0');
  int len = 0, total = 0;
  if (EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(c.ctx, nullptr, nullptr, bytes(key), bytes(iv)) != 1) {
    return {};
  }
  if (!aad.empty() && EVP_EncryptUpdate(c.ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    return {};
  }
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len, bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return {};
    }
    total = len;
  }
  if (EVP_EncryptFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(out.data()) + total, &len) != 1) return {};
  total += len;
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTag), out.data() + total) != 1) return {};
  out.resize(static_cast<size_t>(total) + kGcmTag);
  return out;
}

}  // namespace tollgate
