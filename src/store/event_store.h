#pragma once
// EventStore: what providers tell us after a call — delivery receipts, payment
// and refund notifications (docs/events.md) — and the sends they refer to.
//
//   sends   one row per (provider, provider message id) a successful live call
//           produced: which call, capability and caller, where the caller wants
//           events forwarded, and the latest delivery outcome its receipts gave.
//   events  one row per distinct event (its dedupe key is unique): attached to
//           its call, or held until the send that names its message id is
//           recorded (bounded in time and count), and its forwarding to the
//           caller's callback.
//
// A vendor retries an event until it is acknowledged; tollgate acknowledges only
// after insert_events() has committed, and a repeat finds the dedupe key taken:
// stored once, forwarded once.
//
// Implemented by the SQLite and PostgreSQL stores; every method may be called
// from any thread.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace tollgate::store {

struct SendRecord {
  std::string provider;
  std::string message_id;    // the provider's id (Twilio sid, Aliyun BizId, ...)
  std::string call_id;
  std::string capability;
  std::string caller;
  std::string callback_url;  // the caller's, for events; "" when none
  std::int64_t sent_ms = 0;
};

enum class EventState { kHeld, kAttached, kExpired };
std::string_view to_string(EventState s);
enum class ForwardState { kNone, kPending, kDelivered, kFailed };
std::string_view to_string(ForwardState s);

// What a delivery event says about the send it names.
enum class DeliveryOutcome { kNone = 0, kDelivered = 1, kUndelivered = 2 };

struct EventRecord {
  std::string id;            // tollgate's id of the event (evt_…)
  std::string provider;
  std::string message_id;
  std::string dedupe_key;    // unique: a repeat of a stored event is not stored again
  std::string kind;          // normalised: delivered | undelivered | paid | refunded | …
  DeliveryOutcome delivery = DeliveryOutcome::kNone;
  std::string doc_json;      // the normalised event as callers see it
  std::int64_t received_ms = 0;
  EventState state = EventState::kHeld;
  std::int64_t hold_until_ms = 0;  // a held event expires then
  // Filled from its send once attached.
  std::string call_id;
  std::string capability;
  std::string caller;
  std::string callback_url;
  ForwardState forward = ForwardState::kNone;
  int forward_tries = 0;
  std::int64_t forward_next_ms = 0;
  std::string forward_log_json = "[]";
};

struct EventInsert {
  bool inserted = false;  // false: a repeat of an event already stored
  bool attached = false;  // its send is known
  std::string id;         // the stored event's id (the earlier one for a repeat)
};

struct DeliveryCount {
  std::string provider;
  std::string capability;
  std::int64_t sent = 0;
  std::int64_t delivered = 0;
  std::int64_t undelivered = 0;
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // A live call's provider named its message id (fire-and-forget, committed with
  // the next batch). Events already held for that id attach to the call.
  virtual void record_send(SendRecord send) = 0;

  // Durably stores the events of one inbound request, all or nothing: each is a
  // repeat (nothing stored), attached to its known send (forwarding pending when
  // the send has a callback URL; the send's delivery outcome updated), or held
  // until hold_until_ms. Fails with kUnavailable, storing nothing, when holding
  // them would exceed `max_held` held events.
  virtual boost::asio::awaitable<Result<std::vector<EventInsert>>> insert_events(std::vector<EventRecord> events,
                                                                                  int max_held) = 0;

  // The events of a call, oldest first.
  virtual boost::asio::awaitable<Result<std::vector<EventRecord>>> events_for_call(std::string call_id) = 0;

  // Claims up to `limit` events whose forwarding is due, pushing their next try
  // to `lease_until_ms` so no other instance takes them meanwhile.
  virtual boost::asio::awaitable<Result<std::vector<EventRecord>>> claim_event_forwards(std::int64_t now_ms,
                                                                                       int limit,
                                                                                       std::int64_t lease_until_ms) = 0;
  // Records a forwarding try (forward, forward_tries, forward_next_ms, forward_log_json).
  virtual boost::asio::awaitable<Result<void>> update_event_forward(EventRecord event) = 0;

  // Housekeeping: attaches held events whose send has been recorded since (a
  // send and its event stored at once by two instances), then expires held
  // events past their hold. Returns how many expired.
  virtual boost::asio::awaitable<Result<int>> sweep_events(std::int64_t now_ms) = 0;

  // Per provider and capability, sends made in [from_ms, to_ms] and how many of
  // them a receipt reported delivered or undelivered.
  virtual boost::asio::awaitable<Result<std::vector<DeliveryCount>>> delivery_counts(std::int64_t from_ms,
                                                                                     std::int64_t to_ms) = 0;
  // Events held now (a gauge).
  virtual boost::asio::awaitable<Result<std::int64_t>> held_events() = 0;
};

}  // namespace tollgate::store
