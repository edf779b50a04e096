// The SQLite store's events and sends (store/event_store.h). Runs on the store
// thread, inside the batch's transaction, like everything in db.cc.
#include "store/sqlite/db.h"

namespace tollgate::store {

namespace {

constexpr const char* kEventCols =
    "id, provider, message_id, dedupe_key, kind, delivery, doc, received_ms, state, hold_until_ms, call_id, "
    "capability, caller, callback_url, forward, forward_tries, forward_next_ms, forward_log";

EventRecord read_event(Stmt& s) {
  EventRecord e;
  e.id = s.text(0);
  e.provider = s.text(1);
  e.message_id = s.text(2);
  e.dedupe_key = s.text(3);
  e.kind = s.text(4);
  e.delivery = static_cast<DeliveryOutcome>(s.integer(5));
  e.doc_json = s.text(6);
  e.received_ms = s.integer(7);
  e.state = static_cast<EventState>(s.integer(8));
  e.hold_until_ms = s.integer(9);
  e.call_id = s.text(10);
  e.capability = s.text(11);
  e.caller = s.text(12);
  e.callback_url = s.text(13);
  e.forward = static_cast<ForwardState>(s.integer(14));
  e.forward_tries = static_cast<int>(s.integer(15));
  e.forward_next_ms = s.integer(16);
  e.forward_log_json = s.text(17);
  return e;
}

// Fills an event's call fields from its send; forwarding is due at once when
// the caller gave a callback URL.
void attach(EventRecord& e, const SendRecord& s, std::int64_t now) {
  e.state = EventState::kAttached;
  e.call_id = s.call_id;
  e.capability = s.capability;
  e.caller = s.caller;
  e.callback_url = s.callback_url;
  e.hold_until_ms = 0;
  if (!s.callback_url.empty()) {
    e.forward = ForwardState::kPending;
    e.forward_next_ms = now;
  }
}

}  // namespace

Result<void> SqliteStore::Db::record_send(const SendRecord& s) {
  Use ins(*this, "INSERT OR IGNORE INTO sends (provider, message_id, call_id, capability, caller, callback_url, "
                "sent_ms, delivery) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)");
  ins.bind(1, s.provider).bind(2, s.message_id).bind(3, s.call_id).bind(4, s.capability).bind(5, s.caller);
  ins.bind(6, s.callback_url).bind(7, s.sent_ms);
  if (ins.step() != SQLITE_DONE) return error("recording a send failed");
  if (sqlite3_changes(db_) == 0) return ok();  // known already (a replayed answer)
  return attach_held(s);
}

// Events that arrived before their send was recorded: attach them to it.
Result<void> SqliteStore::Db::attach_held(const SendRecord& s) {
  static const std::string kHeld = std::string("SELECT ") + kEventCols +
                                   " FROM events WHERE provider=?1 AND message_id=?2 AND state=0 ORDER BY received_ms";
  Use held(*this, kHeld);
  held.bind(1, s.provider).bind(2, s.message_id);
  std::vector<EventRecord> found;
  int rc;
  while ((rc = held.step()) == SQLITE_ROW) found.push_back(read_event(held));
  if (rc != SQLITE_DONE) return error("reading held events failed");
  DeliveryOutcome latest = DeliveryOutcome::kNone;
  Use up(*this, "UPDATE events SET state=1, hold_until_ms=0, call_id=?2, capability=?3, caller=?4, callback_url=?5, "
               "forward=?6, forward_next_ms=?7 WHERE id=?1");
  for (auto& e : found) {
    attach(e, s, e.received_ms);
    if (e.delivery != DeliveryOutcome::kNone) latest = e.delivery;
    up.bind(1, e.id).bind(2, e.call_id).bind(3, e.capability).bind(4, e.caller).bind(5, e.callback_url);
    up.bind(6, static_cast<std::int64_t>(e.forward)).bind(7, e.forward_next_ms);
    rc = up.step();
    up.reset();
    if (rc != SQLITE_DONE) return error("attaching a held event failed");
  }
  if (latest != DeliveryOutcome::kNone) {
    Use d(*this, "UPDATE sends SET delivery=?3 WHERE provider=?1 AND message_id=?2");
    d.bind(1, s.provider).bind(2, s.message_id).bind(3, static_cast<std::int64_t>(latest));
    if (d.step() != SQLITE_DONE) return error("recording a delivery failed");
  }
  return ok();
}

Result<std::vector<EventInsert>> SqliteStore::Db::insert_events(std::vector<EventRecord>& events, int max_held) {
  Use dup(*this, "SELECT id, state FROM events WHERE dedupe_key=?1");
  Use send(*this, "SELECT call_id, capability, caller, callback_url FROM sends WHERE provider=?1 AND message_id=?2");
  static const std::string kInsert =
      std::string("INSERT INTO events (") + kEventCols +
      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
  Use ins(*this, kInsert);
  Use delivered(*this, "UPDATE sends SET delivery=?3 WHERE provider=?1 AND message_id=?2");
  std::vector<EventInsert> out;
  bool any_held = false;
  for (auto& e : events) {
    dup.bind(1, e.dedupe_key);
    int rc = dup.step();
    if (rc == SQLITE_ROW) {
      out.push_back(EventInsert{false, static_cast<EventState>(dup.integer(1)) == EventState::kAttached, dup.text(0)});
      dup.reset();
      continue;
    }
    dup.reset();
    if (rc != SQLITE_DONE) return error("event lookup failed");
    send.bind(1, e.provider).bind(2, e.message_id);
    rc = send.step();
    if (rc == SQLITE_ROW) {
      SendRecord s{e.provider, e.message_id, send.text(0), send.text(1), send.text(2), send.text(3), 0};
      attach(e, s, e.received_ms);
    } else {
      e.state = EventState::kHeld;
      any_held = true;
    }
    send.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error("send lookup failed");
    ins.bind(1, e.id).bind(2, e.provider).bind(3, e.message_id).bind(4, e.dedupe_key).bind(5, e.kind);
    ins.bind(6, static_cast<std::int64_t>(e.delivery)).bind(7, e.doc_json).bind(8, e.received_ms);
    ins.bind(9, static_cast<std::int64_t>(e.state)).bind(10, e.hold_until_ms).bind(11, e.call_id);
    ins.bind(12, e.capability).bind(13, e.caller).bind(14, e.callback_url);
    ins.bind(15, static_cast<std::int64_t>(e.forward)).bind(16, static_cast<std::int64_t>(e.forward_tries));
    ins.bind(17, e.forward_next_ms).bind(18, e.forward_log_json);
    rc = ins.step();
    ins.reset();
    if (rc != SQLITE_DONE) return error("storing an event failed");
    if (e.state == EventState::kAttached && e.delivery != DeliveryOutcome::kNone) {
      delivered.bind(1, e.provider).bind(2, e.message_id).bind(3, static_cast<std::int64_t>(e.delivery));
      rc = delivered.step();
      delivered.reset();
      if (rc != SQLITE_DONE) return error("recording a delivery failed");
    }
    out.push_back(EventInsert{true, e.state == EventState::kAttached, e.id});
  }
  if (any_held) {
    auto held = held_events();
    if (!held) return held.error();
    if (*held > max_held) {
      return Error::make(ErrorClass::kUnavailable,
                         "too many events are waiting for their calls (" + std::to_string(max_held) + ")");
    }
  }
  return out;
}

Result<std::vector<EventRecord>> SqliteStore::Db::events_for_call(const std::string& call_id) {
  static const std::string kOfCall =
      std::string("SELECT ") + kEventCols + " FROM events WHERE call_id=?1 ORDER BY received_ms, id";
  Use s(*this, kOfCall);
  s.bind(1, call_id);
  std::vector<EventRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_event(s));
  if (rc != SQLITE_DONE) return error("reading events failed");
  return out;
}

Result<std::vector<EventRecord>> SqliteStore::Db::claim_event_forwards(std::int64_t now, int limit,
                                                                      std::int64_t until) {
  static const std::string kDue =
      std::string("SELECT ") + kEventCols +
      " FROM events WHERE forward=1 AND forward_next_ms<=?1 ORDER BY forward_next_ms LIMIT ?2";
  Use s(*this, kDue);
  s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  std::vector<EventRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_event(s));
  if (rc != SQLITE_DONE) return error("claiming event forwards failed");
  Use lease(*this, "UPDATE events SET forward_next_ms=?2 WHERE id=?1");
  for (auto& e : out) {
    lease.bind(1, e.id).bind(2, until);
    rc = lease.step();
    lease.reset();
    if (rc != SQLITE_DONE) return error("claiming event forwards failed");
    e.forward_next_ms = until;
  }
  return out;
}

Result<void> SqliteStore::Db::update_event_forward(const EventRecord& e) {
  Use s(*this, "UPDATE events SET forward=?2, forward_tries=?3, forward_next_ms=?4, forward_log=?5 WHERE id=?1");
  s.bind(1, e.id).bind(2, static_cast<std::int64_t>(e.forward)).bind(3, static_cast<std::int64_t>(e.forward_tries));
  s.bind(4, e.forward_next_ms).bind(5, e.forward_log_json);
  if (s.step() != SQLITE_DONE) return error("recording an event forward failed");
  if (sqlite3_changes(db_) != 1) return Error::make(ErrorClass::kNotFound, "no event " + e.id);
  return ok();
}

Result<int> SqliteStore::Db::sweep_events(std::int64_t now) {
  // Held events whose send is known by now (one writer never leaves any; kept
  // for symmetry with the shared store, where two instances can cross).
  Use known(*this, "SELECT DISTINCT s.provider, s.message_id, s.call_id, s.capability, s.caller, s.callback_url, "
                  "s.sent_ms FROM events e JOIN sends s ON s.provider=e.provider AND s.message_id=e.message_id "
                  "WHERE e.state=0");
  std::vector<SendRecord> sends;
  int rc;
  while ((rc = known.step()) == SQLITE_ROW) {
    sends.push_back(SendRecord{known.text(0), known.text(1), known.text(2), known.text(3), known.text(4),
                               known.text(5), known.integer(6)});
  }
  if (rc != SQLITE_DONE) return error("sweeping events failed");
  for (const auto& s : sends) {
    if (auto a = attach_held(s); !a) return a.error();
  }
  Use expire(*this, "UPDATE events SET state=2 WHERE state=0 AND hold_until_ms<?1");
  expire.bind(1, now);
  if (expire.step() != SQLITE_DONE) return error("expiring held events failed");
  return sqlite3_changes(db_);
}

Result<std::vector<DeliveryCount>> SqliteStore::Db::delivery_counts(std::int64_t from, std::int64_t to) {
  Use s(*this, "SELECT provider, capability, COUNT(*), SUM(delivery=1), SUM(delivery=2) FROM sends "
              "WHERE sent_ms>=?1 AND sent_ms<=?2 GROUP BY provider, capability");
  s.bind(1, from).bind(2, to);
  std::vector<DeliveryCount> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(DeliveryCount{s.text(0), s.text(1), s.integer(2), s.integer(3), s.integer(4)});
  }
  if (rc != SQLITE_DONE) return error("counting deliveries failed");
  return out;
}

Result<std::int64_t> SqliteStore::Db::held_events() {
  Use s(*this, "SELECT COUNT(*) FROM events WHERE state=0");
  if (s.step() != SQLITE_ROW) return error("counting held events failed");
  return s.integer(0);
}

}  // namespace tollgate::store
