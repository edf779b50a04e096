#pragma once
// Wall-clock formatting and parsing for timestamps that leave or enter the process
// (signatures, status documents, `not_before`). Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace tollgate {

std::int64_t unix_seconds(WallTime t);
std::int64_t unix_millis(WallTime t);

// "2026-11-26T13:08:20Z" (seconds precision, UTC).
std::string format_iso8601(WallTime t);
// "2026-11-26T13:08:20.123Z" (milliseconds, UTC).
std::string format_iso8601_ms(WallTime t);

// Parses RFC 3339 date-times: "2026-11-26T13:08:20Z", with optional fraction and a
// "+hh:mm"/"-hh:mm" offset. nullopt when malformed or out of range.
std::optional<WallTime> parse_rfc3339(std::string_view s);

}  // namespace tollgate
