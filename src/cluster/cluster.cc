#include "cluster/cluster.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "core/process.h"

namespace tollgate::cluster {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto kHeartbeat = std::chrono::seconds(1);
constexpr std::int64_t kInstanceFreshMs = 5000;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view kind_name(ClusterEvent::Kind k) {
  switch (k) {
    case ClusterEvent::Kind::kBreakerOpen: return "breaker_open";
    case ClusterEvent::Kind::kDisabled: return "disabled";
    case ClusterEvent::Kind::kResync: return "resync";
  }
  return "resync";
}

}  // namespace

Cluster::Cluster(ClusterOptions options)
    : options_(std::move(options)),
      guard_(std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(ctx_.get_executor())),
      started_ms_(wall_ms()) {
  commands_ = RedisClient::make(ctx_, options_.redis);
  subscriber_ = RedisClient::make(ctx_, options_.redis);
  limits_ = std::make_unique<SharedLimits>(commands_, options_.prefix);
  subscriber_->subscribe(options_.prefix + "events", [this](std::string payload) { handle(payload); });
  thread_ = std::thread([this] {
    set_thread_name("cluster");
    ctx_.run();
  });
  asio::post(ctx_, [this] { heartbeat(); });
}

Cluster::~Cluster() {
  // The clients stop on their own thread, and the context runs that before it
  // stops: their commands still in flight fail now. Otherwise such a command's
  // waiting coroutine (held by the client) and the client (held by that
  // coroutine) keep each other alive past the context (LeakSanitizer saw it).
  commands_->stop();
  subscriber_->stop();
  std::promise<void> stopped;
  asio::post(ctx_, [&stopped] { stopped.set_value(); });
  stopped.get_future().wait_for(std::chrono::seconds(2));
  guard_.reset();
  ctx_.stop();
  if (thread_.joinable()) thread_.join();
}

bool Cluster::connected() const { return commands_->connected(); }

void Cluster::on_event(std::function<void(const ClusterEvent&)> handler) {
  asio::post(ctx_, [this, h = std::move(handler)]() mutable { handler_ = std::move(h); });
}

void Cluster::handle(const std::string& payload) {
  if (!handler_) return;
  if (payload.empty()) {
    handler_(ClusterEvent{ClusterEvent::Kind::kResync});
    return;
  }
  boost::system::error_code ec;
  const auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return;  // not ours: ignore
  const auto& o = v.get_object();
  auto str = [&](const char* k) -> std::string {
    const auto* f = o.if_contains(k);
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  ClusterEvent e;
  e.from = str("from");
  if (e.from == options_.instance) return;  // our own
  const std::string type = str("type");
  if (type == "breaker_open") {
    e.kind = ClusterEvent::Kind::kBreakerOpen;
  } else if (type == "disabled") {
    e.kind = ClusterEvent::Kind::kDisabled;
  } else {
    return;
  }
  e.provider = str("provider");
  e.capability = str("capability");
  e.reason = str("reason");
  if (const auto* f = o.if_contains("for_ms"); f && f->is_int64()) e.open_for = Millis(std::clamp<std::int64_t>(f->get_int64(), 0, 600000));
  if (const auto* f = o.if_contains("disabled"); f && f->is_bool()) e.disabled = f->get_bool();
  if (e.provider.empty()) return;
  handler_(e);
}

void Cluster::publish(ClusterEvent event) {
  json::object o{{"type", kind_name(event.kind)},
                 {"provider", event.provider},
                 {"capability", event.capability},
                 {"for_ms", event.open_for.count()},
                 {"disabled", event.disabled},
                 {"reason", event.reason},
                 {"from", options_.instance}};
  auto run = [](std::shared_ptr<RedisClient> redis, std::string channel, std::string payload) -> asio::awaitable<void> {
    std::vector<std::string> cmd{"PUBLISH", std::move(channel), std::move(payload)};
    (void)co_await redis->command(std::move(cmd));
  };
  asio::co_spawn(ctx_, run(commands_, options_.prefix + "events", json::serialize(o)), asio::detached);
}

void Cluster::heartbeat() {
  auto run = [](Cluster* self) -> asio::awaitable<void> {
    asio::steady_timer timer(self->ctx_);
    for (;;) {
      const json::object me{{"version", self->options_.version},
                            {"started_ms", self->started_ms_},
                            {"seen_ms", wall_ms()}};
      std::vector<std::string> cmd{"HSET", self->options_.prefix + "instances", self->options_.instance,
                                   json::serialize(me)};
      auto r = co_await self->commands_->command(std::move(cmd));
      // Until Redis answers (at start, after an outage) try again soon.
      timer.expires_after(r ? std::chrono::milliseconds(kHeartbeat) : std::chrono::milliseconds(100));
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
    }
  };
  asio::co_spawn(ctx_, run(this), asio::detached);
}

asio::awaitable<Result<void>> Cluster::set_disabled(std::string provider, bool disabled) {
  std::vector<std::string> cmd{disabled ? "SADD" : "SREM", options_.prefix + "disabled", provider};
  auto r = co_await commands_->command(std::move(cmd));
  if (!r) co_return r.error();
  if (r->type == RedisReply::Type::kError) co_return Error::make(ErrorClass::kUnavailable, "redis: " + r->str);
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::kDisabled;
  e.provider = std::move(provider);
  e.disabled = disabled;
  publish(std::move(e));
  co_return ok();
}

asio::awaitable<Result<std::vector<std::string>>> Cluster::disabled_providers() {
  std::vector<std::string> cmd{"SMEMBERS", options_.prefix + "disabled"};
  auto r = co_await commands_->command(std::move(cmd));
  if (!r) co_return r.error();
  std::vector<std::string> out;
  for (const auto& e : r->elements) out.push_back(e.str);
  co_return out;
}

asio::awaitable<Result<std::vector<InstanceInfo>>> Cluster::instances() {
  std::vector<std::string> get{"HGETALL", options_.prefix + "instances"};
  auto r = co_await commands_->command(std::move(get));
  if (!r) co_return r.error();
  std::vector<InstanceInfo> out;
  std::vector<std::string> stale;
  const auto now = wall_ms();
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    InstanceInfo info;
    info.id = r->elements[i].str;
    boost::system::error_code ec;
    const auto v = json::parse(r->elements[i + 1].str, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.get_object();
    if (const auto* f = o.if_contains("version"); f && f->is_string()) info.version = std::string(f->get_string());
    if (const auto* f = o.if_contains("started_ms"); f && f->is_int64()) info.started_ms = f->get_int64();
    if (const auto* f = o.if_contains("seen_ms"); f && f->is_int64()) info.seen_ms = f->get_int64();
    if (now - info.seen_ms > 10 * kInstanceFreshMs) {
      stale.push_back(info.id);  // long gone: forget it
      continue;
    }
    if (now - info.seen_ms <= kInstanceFreshMs) out.push_back(std::move(info));
  }
  if (!stale.empty()) {
    std::vector<std::string> cmd{"HDEL", options_.prefix + "instances"};
    for (auto& s : stale) cmd.push_back(std::move(s));
    (void)co_await commands_->command(std::move(cmd));
  }
  co_return out;
}

asio::awaitable<Result<std::vector<std::pair<std::string, std::string>>>> Cluster::values(
    std::vector<std::string> keys) {
  std::vector<std::pair<std::string, std::string>> out;
  if (keys.empty()) co_return out;
  std::vector<std::string> cmd{"MGET"};
  for (const auto& k : keys) cmd.push_back(options_.prefix + k);
  auto r = co_await commands_->command(std::move(cmd));
  if (!r) co_return r.error();
  for (size_t i = 0; i < keys.size() && i < r->elements.size(); ++i) out.emplace_back(keys[i], r->elements[i].str);
  co_return out;
}

}  // namespace tollgate::cluster
