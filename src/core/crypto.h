#pragma once
// Hashes and MACs (OpenSSL) used by signers, caller-key checks and callbacks.
// Results are raw bytes; wrap with to_hex / base64_encode. Thread-safe.

#include <string>
#include <string_view>

namespace tollgate {

std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha1(std::string_view key, std::string_view data);

// Comparison whose time does not depend on where the inputs differ.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace tollgate
