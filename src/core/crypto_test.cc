#include "core/crypto.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/encoding.h"

namespace tollgate {
namespace {

// RFC 4231, test cases 1, 2 and 6 (HMAC-SHA256).
TEST(Crypto, HmacSha256Rfc4231) {
  EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// The HMAC context is kept per thread and digest: each call's key is its own —
// an empty key after a long one, a long one after an empty one, the two digests
// interleaved, from several threads.
TEST(Crypto, HmacKeysNeverCarryOverBetweenCalls) {
  const std::string empty_sha256 = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad";
  const std::string jefe_sha256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  const std::string jefe_sha1 = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
  const std::string long_key_sha256 = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) != jefe_sha256) ++wrong;
        if (to_hex(hmac_sha256(std::string_view(), "")) != empty_sha256) ++wrong;  // a null key, after Jefe
        if (to_hex(hmac_sha256("", "")) != empty_sha256) ++wrong;
        if (to_hex(hmac_sha1("Jefe", "what do ya want for nothing?")) != jefe_sha1) ++wrong;
        if (to_hex(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")) !=
            long_key_sha256) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// RFC 2202, test case 2 (HMAC-SHA1).
TEST(Crypto, HmacSha1Rfc2202) {
  EXPECT_EQ(to_hex(hmac_sha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

// FIPS 180-2 examples.
TEST(Crypto, Sha256) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Each thread reuses one digest context: interleaved use from several threads,
// long and empty inputs in turn, must not mix their states.
TEST(Crypto, Sha256FromManyThreadsWithTheContextReused) {
  const std::string million(1000000, 'a');
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (sha256_hex(million) != "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") ++wrong;
        if (sha256_hex("abc") != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ++wrong;
        if (to_hex(sha256("")) != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Crypto, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "ab"));
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

// The GCM specification's test case 16 (McGrew & Viega): AES-256, 60-byte
// plaintext, 20 bytes of associated data, 96-bit IV.
TEST(Aes256Gcm, MatchesThePublishedTestVectorBothWays) {
  const auto key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const auto iv = unhex("cafebabefacedbaddecaf888");
  const auto aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const auto pt = unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const std::string sealed = unhex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  EXPECT_EQ(to_hex(aes256_gcm_encrypt(key, iv, aad, pt)), to_hex(sealed));
  auto opened = aes256_gcm_decrypt(key, iv, aad, sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, pt);
}

TEST(Aes256Gcm, RefusesATamperedCiphertextWrongDataOrWrongKey) {
  const std::string key(32, 'k');
  const std::string sealed = aes256_gcm_encrypt(key, "nonce-123456", "transaction", R"({"out_trade_no":"T1"})");
  ASSERT_TRUE(aes256_gcm_decrypt(key, "nonce-123456", "transaction", sealed));
  std::string flipped = sealed;
  flipped[3] ^= 1;
  EXPECT_FALSE(aes256_gcm_decrypt(key, "nonce-123456", "transaction", flipped));
  EXPECT_FALSE(aes256_gcm_decrypt(key, "nonce-123456", "refund", sealed));
  EXPECT_FALSE(aes256_gcm_decrypt(std::string(32, 'x'), "nonce-123456", "transaction", sealed));
  EXPECT_FALSE(aes256_gcm_decrypt("short", "nonce-123456", "transaction", sealed));
  EXPECT_FALSE(aes256_gcm_decrypt(key, "nonce-123456", "transaction", sealed.substr(0, 10)));
}

}  // namespace
}  // namespace tollgate
