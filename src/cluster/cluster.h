#pragma once
// Cluster: what the instances of one gateway share through Redis (shared:
// in the config): limits and quotas (SharedLimits), provider state (a breaker
// one instance opened, an operator's disable/enable, which survives restarts),
// and who is up (each instance's heartbeat). Without `shared:` nothing here
// exists and every instance is on its own.
//
// Threads: the cluster owns one thread with its own io_context, on which its two
// Redis connections (commands, and a subscription to the events channel) live.
// Everything public may be called from any thread; event callbacks run on the
// cluster thread and must not block.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis.h"
#include "cluster/shared_limits.h"

namespace tollgate::cluster {

struct ClusterOptions {
  RedisOptions redis;
  std::string prefix = "tollgate:";  // every key and channel starts with it
  std::string instance;              // this process (host/pid/nonce)
  std::string version;               // shown in the cluster view
};

// Something one instance tells the others.
struct ClusterEvent {
  enum class Kind { kBreakerOpen, kDisabled, kResync } kind = Kind::kResync;
  std::string provider;
  std::string capability;    // breaker events: the route
  Millis open_for{0};        // breaker events
  bool disabled = false;     // kDisabled
  std::string from;          // the instance that sent it
  std::string reason;
};

struct InstanceInfo {
  std::string id;
  std::string version;
  std::int64_t started_ms = 0;
  std::int64_t seen_ms = 0;  // last heartbeat
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();  // stops the thread
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  SharedLimits& limits() { return *limits_; }
  // The cluster thread's executor (for work that awaits Redis from a callback).
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }
  const ClusterOptions& options() const { return options_; }
  bool connected() const;

  // Events from the other instances (never this one's own), on the cluster
  // thread. kResync after each (re)subscription: state may have been missed.
  void on_event(std::function<void(const ClusterEvent&)> handler);
  // Tells the others; fire and forget.
  void publish(ClusterEvent event);

  // Operator disables, shared and persistent: set, and the whole set.
  boost::asio::awaitable<Result<void>> set_disabled(std::string provider, bool disabled);
  boost::asio::awaitable<Result<std::vector<std::string>>> disabled_providers();
  // Instances whose heartbeat is recent (within 5 s).
  boost::asio::awaitable<Result<std::vector<InstanceInfo>>> instances();
  // Raw values of shared keys (limit usage for the admin view), by key.
  boost::asio::awaitable<Result<std::vector<std::pair<std::string, std::string>>>> values(
      std::vector<std::string> keys);

 private:
  void heartbeat();
  void handle(const std::string& payload);

  ClusterOptions options_;
  boost::asio::io_context ctx_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::shared_ptr<RedisClient> commands_;
  std::shared_ptr<RedisClient> subscriber_;
  std::unique_ptr<SharedLimits> limits_;
  std::function<void(const ClusterEvent&)> handler_;  // cluster thread only
  std::int64_t started_ms_ = 0;
  std::thread thread_;
};

}  // namespace tollgate::cluster
