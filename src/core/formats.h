#pragma once
// Well-known identifier formats that params may be declared with. Pure.

#include <string_view>

namespace tollgate {

// "+", a non-zero country digit, then 7 to 14 more digits (8 to 15 in all).
bool is_e164(std::string_view s);

// A mainland China resident identity number (GB 11643-1999): 17 digits and a
// check character (0-9 or X) by ISO 7064 MOD 11-2.
bool is_cn_resident_id(std::string_view s);

}  // namespace tollgate
