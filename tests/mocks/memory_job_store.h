#pragma once
// MemoryJobStore: the JobStore (store/job_store.h) in memory, for unit tests of
// the caller API and the runner through their seams. Every operation completes
// at once on the awaiting coroutine. Failures can be injected: the next N
// updates (or inserts) fail as a store that cannot commit would.
// Single-threaded.

#include <algorithm>
#include <map>

#include "store/job_store.h"

namespace tollgate::testing {

class MemoryJobStore final : public store::JobStore {
 public:
  int fail_updates = 0;  // the next this-many update() calls fail
  int fail_inserts = 0;
  int updates_seen = 0;

  boost::asio::awaitable<Result<store::InsertResult>> insert(store::CallRecord rec) override {
    co_return insert_now(std::move(rec));
  }
  boost::asio::awaitable<Result<std::vector<store::InsertResult>>> insert_many(
      std::vector<store::CallRecord> recs) override {
    std::vector<store::InsertResult> out;
    for (auto& r : recs) {
      auto one = insert_now(std::move(r));
      if (!one) co_return one.error();
      out.push_back(std::move(*one));
    }
    co_return out;
  }
  boost::asio::awaitable<Result<void>> update(store::CallRecord rec) override {
    ++updates_seen;
    if (fail_updates > 0) {
      --fail_updates;
      co_return Error::make(ErrorClass::kInternal, "injected: the store cannot commit");
    }
    auto it = records_.find(rec.id);
    if (it == records_.end()) co_return Error::make(ErrorClass::kNotFound, "no record " + rec.id);
    it->second = std::move(rec);
    co_return ok();
  }
  void record(store::CallRecord rec) override { records_[rec.id] = std::move(rec); }
  boost::asio::awaitable<Result<std::optional<store::CallRecord>>> get(std::string id) override {
    auto it = records_.find(id);
    if (it == records_.end()) co_return std::optional<store::CallRecord>();
    co_return std::optional<store::CallRecord>(it->second);
  }
  boost::asio::awaitable<Result<std::vector<store::CallRecord>>> claim(std::int64_t now_ms, int limit,
                                                                        std::string owner,
                                                                        std::int64_t lease_until_ms,
                                                                        store::ClaimFilter filter) override {
    std::vector<store::CallRecord> out;
    for (const bool expired_pass : {true, false}) {
      for (auto& [id, r] : records_) {
        if (static_cast<int>(out.size()) >= limit || !r.async || !filter.allows(r.capability)) continue;
        const bool expired = r.state == store::CallState::kRunning && r.lease_until_ms < now_ms;
        const bool due = r.state == store::CallState::kQueued && r.not_before_ms <= now_ms;
        if (expired_pass ? !expired : !due) continue;
        r.resumed_from = expired ? r.lease_owner : "";
        r.resumed = expired;
        r.state = store::CallState::kRunning;
        r.lease_owner = owner;
        r.lease_until_ms = lease_until_ms;
        ++r.runs;
        out.push_back(r);
      }
    }
    co_return out;
  }
  boost::asio::awaitable<Result<int>> renew_leases(std::vector<std::string> ids, std::string owner,
                                                   std::int64_t lease_until_ms) override {
    int held = 0;
    for (const auto& id : ids) {
      auto it = records_.find(id);
      if (it == records_.end() || it->second.lease_owner != owner || it->second.state != store::CallState::kRunning) {
        continue;
      }
      it->second.lease_until_ms = lease_until_ms;
      ++held;
    }
    co_return held;
  }
  boost::asio::awaitable<Result<void>> update_leased(store::CallRecord rec, std::string owner) override {
    auto it = records_.find(rec.id);
    if (it == records_.end() || it->second.lease_owner != owner || it->second.state != store::CallState::kRunning) {
      co_return Error::make(ErrorClass::kConflict, "not leased to " + owner);
    }
    co_return co_await update(std::move(rec));
  }
  boost::asio::awaitable<Result<std::vector<store::CallRecord>>> claim_callbacks(std::int64_t, int, std::string,
                                                                                  std::int64_t) override {
    co_return std::vector<store::CallRecord>{};
  }
  boost::asio::awaitable<Result<std::vector<store::CallRecord>>> list(store::CallState state, int limit) override {
    std::vector<store::CallRecord> out;
    for (const auto& [id, r] : records_) {
      if (r.state == state && static_cast<int>(out.size()) < limit) out.push_back(r);
    }
    co_return out;
  }
  boost::asio::awaitable<Result<int>> replay(std::string, std::int64_t) override { co_return 0; }
  boost::asio::awaitable<Result<store::StateCounts>> counts() override { co_return store::StateCounts{}; }
  void save_recordings(std::vector<std::pair<std::string, std::string>>) override {}
  boost::asio::awaitable<Result<std::vector<std::pair<std::string, std::string>>>> load_recordings() override {
    co_return std::vector<std::pair<std::string, std::string>>{};
  }
  boost::asio::awaitable<Result<int>> fail_orphaned_sync_calls(std::string, std::int64_t) override { co_return 0; }
  boost::asio::awaitable<Result<void>> purge(std::int64_t, std::int64_t) override { co_return ok(); }

  const std::map<std::string, store::CallRecord>& records() const { return records_; }

 private:
  Result<store::InsertResult> insert_now(store::CallRecord rec) {
    if (fail_inserts > 0) {
      --fail_inserts;
      return Error::make(ErrorClass::kInternal, "injected: the store cannot commit");
    }
    if (!rec.idempotency_key.empty()) {
      for (const auto& [id, r] : records_) {
        if (r.caller == rec.caller && r.idempotency_key == rec.idempotency_key) {
          return store::InsertResult{false, r};
        }
      }
    }
    records_[rec.id] = std::move(rec);
    return store::InsertResult{true, std::nullopt};
  }
  std::map<std::string, store::CallRecord> records_;
};

}  // namespace tollgate::testing
