#pragma once
// Hashes and MACs (OpenSSL) used by signers, caller-key checks and callbacks.
// Results are raw bytes; wrap with to_hex / base64_encode. Thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate {

std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha1(std::string_view key, std::string_view data);

// Comparison whose time does not depend on where the inputs differ.
bool constant_time_equals(std::string_view a, std::string_view b);

// AES-256-GCM (AEAD_AES_256_GCM, as WeChat Pay v3 encrypts notifications):
// `sealed` is the ciphertext followed by its 16-byte tag. Decryption returns
// nothing when the key is not 32 bytes, the IV is empty, or the tag does not
// match (tampered, wrong key or wrong associated data).
std::optional<std::string> aes256_gcm_decrypt(std::string_view key, std::string_view iv, std::string_view aad,
                                              std::string_view sealed);
std::string aes256_gcm_encrypt(std::string_view key, std::string_view iv, std::string_view aad,
                               std::string_view plaintext);

// An RSA key (private or public), loaded once from PEM and shared read-only by
// every thread. Signatures are PKCS#1 v1.5 with SHA-256 ("SHA256withRSA", RS256),
// as payment channels use them.
class RsaKey {
 public:
  RsaKey() = default;
  // A private key: PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1 ("BEGIN RSA PRIVATE KEY").
  static Result<RsaKey> private_pem(std::string_view pem);
  // A public key ("BEGIN PUBLIC KEY") or the key of an X.509 certificate.
  static Result<RsaKey> public_pem(std::string_view pem);
  bool valid() const { return key_ != nullptr; }
  // Raw signature bytes; empty on failure.
  std::string sign_sha256(std::string_view data) const;
  bool verify_sha256(std::string_view data, std::string_view signature) const;

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY
};

}  // namespace tollgate
