#pragma once
// Normalisation of a verified event document into tollgate's event shape, by
// the provider's events.map (docs/events.md): JSON pointers into each item (a
// batch is split by events.items, or is a top-level array), the vendor's status
// mapped to a kind callers know. A form body reads as a JSON object of its
// fields ("/MessageStatus").
//
// Bad documents are refused whole (nothing stored): an item without a message
// id or status, more than kMaxItems items, a value that is not a scalar.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "events/verify.h"
#include "store/event_store.h"

namespace tollgate::events {

inline constexpr size_t kMaxItems = 1000;

struct NormalizedEvent {
  std::string message_id;
  std::string kind;           // mapped: delivered | undelivered | paid | refunded | … ; "other" when unmapped
  std::string status;         // the vendor's status as sent (capped, printable)
  std::string at;             // when it happened, as the vendor wrote it ("" when not mapped)
  std::string provider_code;  // the vendor's code ("" when not mapped)
  std::string dedupe_key;     // hex SHA-256 of the provider and the dedupe values
  store::DeliveryOutcome delivery = store::DeliveryOutcome::kNone;
};

Result<std::vector<NormalizedEvent>> normalize(const config::EventsConfig& cfg, std::string_view provider,
                                               const Verified& doc);

// The delivery outcome a normalised kind stands for.
store::DeliveryOutcome delivery_of(std::string_view kind);

}  // namespace tollgate::events
