#pragma once
// Fast per-thread pseudo-random numbers (xoshiro256**) and unique ids. Each thread
// has its own generator seeded from the OS; nothing is shared.

#include <cstdint>
#include <string>

namespace tollgate {

// Uniform 64 random bits from this thread's generator.
std::uint64_t random_u64();
// Uniform double in [0, 1).
double random_unit();
// Uniform integer in [0, n) (n > 0).
std::uint64_t random_below(std::uint64_t n);

// A new call id: 26 Crockford base32 characters, time-ordered (48-bit milliseconds
// since the epoch, then 80 random bits) like a ULID, so ids sort by creation time.
std::string new_call_id(std::uint64_t unix_ms);

// The smallest call id that new_call_id(unix_ms) can return: ids created before
// `unix_ms` sort below it.
std::string call_id_floor(std::uint64_t unix_ms);

// 32 hex characters of OS-quality randomness (signature nonces).
std::string new_nonce();

}  // namespace tollgate
