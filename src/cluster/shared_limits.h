#pragma once
// SharedLimits: rate limits, concurrency limits and quotas enforced across every
// instance of a cluster, on Redis. One admission evaluates all the limits that
// apply to it (the provider's, its operation's) in one Lua script on the server
// — one round trip, all granted or none — with the server's clock, so instance
// clocks do not matter:
//   rate        GCRA: one key holding the theoretical arrival time (µs)
//   concurrency a sorted set of slots scored by their expiry, so the slots of an
//               instance that died free themselves
//   quota       a counter per period (day or month, in the limit's time zone)
//
// Redis slow or down: a breaker of its own (two failures in a row open it for a
// second, then one probe) makes every admission answer `unavailable` at once
// instead of waiting out the timeout; the caller then falls back to local limits
// (limit ÷ expected instances) or denies, per limit.
//
// Thread-safety: any thread may call acquire() and release(); the Redis work
// runs on the cluster thread (cluster/cluster.h).

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/redis.h"
#include "core/clock.h"
#include "core/result.h"

namespace tollgate::cluster {

struct SharedLimit {
  enum class Kind { kRate, kConcurrency, kQuota };
  Kind kind = Kind::kRate;
  std::string key;            // without the cluster prefix
  std::int64_t interval_us = 0;   // rate: 1e6 / rps
  std::int64_t tolerance_us = 0;  // rate: (burst - 1) × interval
  std::int64_t max = 0;           // concurrency: slots; quota: units
  std::int64_t ttl_s = 0;         // quota: how long the period's counter lives
  std::string reason;             // "rate limit reached" — for the caller's message
};

struct Grant {
  bool granted = false;
  int denied_by = -1;         // index into the request's limits
  Millis wait{0};             // rate: when one could be admitted
  std::string slot;           // concurrency slot id (released later)
  std::vector<SharedLimit> held;  // what release() gives back
  // Per limit of the request: a quota's cluster-wide count after this call
  // (-1 for other kinds, or a quota not reached because an earlier limit said no).
  std::vector<std::int64_t> quota_used;
};

class SharedLimits {
 public:
  SharedLimits(std::shared_ptr<RedisClient> redis, std::string prefix);

  // Evaluates `limits` together. `slot_ttl`: how long a concurrency slot lives
  // if never released (the attempt's deadline plus a margin). Errors (Redis
  // unreachable, slow, breaker open) are `unavailable`, at once when open.
  boost::asio::awaitable<Result<Grant>> acquire(std::vector<SharedLimit> limits, Millis slot_ttl);
  // Frees the grant's concurrency slots; when the request never reached the
  // provider, refunds its rate token and quota units. Fire and forget.
  void release(const Grant& grant, bool delivered);

  // Whether shared limits are being enforced (the breaker is closed).
  bool healthy() const { return !open_.load(); }
  std::uint64_t failures() const { return failures_total_.load(); }

 private:
  bool admit_call(SteadyTime now);  // the breaker
  void on_outcome(bool ok, SteadyTime now);
  boost::asio::awaitable<Result<RedisReply>> eval(const std::string& script, const std::string& sha,
                                                  std::vector<std::string> keys, std::vector<std::string> args);

  std::shared_ptr<RedisClient> redis_;
  const std::string prefix_;
  std::mutex mu_;
  int consecutive_failures_ = 0;
  SteadyTime open_until_{};
  bool probing_ = false;
  std::atomic<bool> open_{false};
  std::atomic<std::uint64_t> failures_total_{0};
};

}  // namespace tollgate::cluster
