#pragma once
// Active health checks (providers.<name>.health_check, docs/configuration.md).
//
// A breaker that tripped learns that its provider is back from live probes: real
// calls sent when its open time has passed. Open times double while an outage
// lasts, so a provider that comes back is often left alone for seconds, and each
// probe is a caller's call sent into a provider that may still be dead. A health
// check is a cheap request (a status or balance query) that answers both: while
// one of a provider's breakers is open or half-open — and only then — it is sent
// every `interval`; `healthy_after` passes in a row half-open every open breaker
// of the provider at once (Breaker::on_health_check), so live probes follow
// within one interval of the provider's return; failing checks keep the breakers
// open (up to the breaker's max_open, in case the check itself is what is
// broken). A closed provider is never checked: its traffic is the check.
//
// One coroutine on worker 0, through that worker's Transport; each check is
// bounded by its timeout. Checks of a provider overlap, up to three (a check
// hung on a hanging provider must not hold back the one that would see it
// back); a verdict older than one already counted is dropped. Checks are
// not calls: they are not recorded, not logged per check, not counted in the
// provider's health window, and take nothing from its limits.

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/timers.h"
#include "core/transport.h"
#include "engine/runtime.h"
#include "metrics/registry.h"

namespace tollgate::engine {

class HealthChecker {
 public:
  using RuntimeSource = std::function<std::shared_ptr<const Runtime>()>;
  HealthChecker(const Clock& clock, Timers& timers, Transport& transport, RuntimeSource runtime,
                metrics::Registry* metrics = nullptr);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts a check of every provider whose check is due (it has a breaker open
  // or half-open, and its interval passed since its last check) on the calling
  // coroutine's executor; the checks end on their own, each within its timeout.
  // Returns how many it started.
  boost::asio::awaitable<int> check_due();
  // check_due() until stop(), waking at the shortest configured interval. Run on
  // the executor that owns the transport.
  boost::asio::awaitable<void> run();
  // Ends run() (from any thread other than run()'s) and waits up to `grace` for
  // it to return: a check in flight ends within its timeout.
  void stop(Millis grace = Millis(5000));

  struct Status {
    int passes_in_a_row = 0;
    int failures_in_a_row = 0;
    std::uint64_t sent = 0;
    std::string last_error;  // of the last failed check
  };
  Status status(const std::string& provider) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::engine
