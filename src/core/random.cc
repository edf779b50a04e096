#include "core/random.h"

#include <openssl/rand.h>

#include <array>
#include <random>

namespace tollgate {
namespace {

struct Xoshiro256 {
  std::array<std::uint64_t, 4> s;

  Xoshiro256() {
    std::random_device rd;
    for (auto& v : s) {
      v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }
    if ((s[0] | s[1] | s[2] | s[3]) == 0) {
      s[0] = 0x9E3779B97F4A7C15ull;
    }
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

Xoshiro256& generator() {
  thread_local Xoshiro256 g;
  return g;
}

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

}  // namespace

std::uint64_t random_u64() { return generator().next(); }

double random_unit() { return static_cast<double>(random_u64() >> 11) * 0x1.0p-53; }

std::uint64_t random_below(std::uint64_t n) { return n == 0 ? 0 : random_u64() % n; }

std::string new_call_id(std::uint64_t unix_ms) {
  // 128 bits: 48 time bits then 80 random bits, written as 26 base32 digits
  // (the first digit carries only 3 bits).
  std::uint64_t hi = (unix_ms & 0xFFFFFFFFFFFFull) << 16;
  const std::uint64_t r1 = random_u64();
  const std::uint64_t lo = random_u64();
  hi |= r1 & 0xFFFF;
  std::string out(26, '0');
  // Emit 5 bits at a time from the 128-bit number (hi:lo), most significant first.
  for (int i = 25; i >= 0; --i) {
    const int shift = (25 - i) * 5;  // bit offset from the least significant end
    std::uint64_t bits;
    if (shift >= 64) {
      bits = hi >> (shift - 64);
    } else if (shift + 5 > 64) {
      bits = (lo >> shift) | (hi << (64 - shift));
    } else {
      bits = lo >> shift;
    }
    out[i] = kCrockford[bits & 31];
  }
  return out;
}

std::string call_id_floor(std::uint64_t unix_ms) {
  std::string out(26, '0');
  // The first 10 digits carry the 48 time bits (the first digit only 3 of its 5).
  for (int i = 0; i < 10; ++i) out[static_cast<size_t>(i)] = kCrockford[(unix_ms >> (5 * (9 - i))) & 31];
  return out;
}

std::string new_nonce() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    for (auto& b : bytes) {
      b = static_cast<unsigned char>(random_u64());
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace tollgate
