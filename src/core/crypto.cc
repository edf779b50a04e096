#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/encoding.h"

namespace tollgate {
namespace {

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  return hmac(EVP_sha256(), key, data);
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  return hmac(EVP_sha1(), key, data);
}

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

}  // namespace tollgate
