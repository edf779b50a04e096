#include "jobs/callbacks.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <map>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/time_format.h"
#include "core/url.h"
#include "engine/outcome_json.h"

namespace tollgate::jobs {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr Millis kPoll{200};

}  // namespace

std::string callback_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  return "sha256=" + to_hex(hmac_sha256(secret, signed_text));
}

struct Callbacks::Impl : std::enable_shared_from_this<Callbacks::Impl> {
  Impl(http::Workers& w, Transport& t, EndpointFactory f, const engine::RuntimeHolder& rt, store::JobStore& s,
       const Clock& clk, Timers& tm, std::string inst, JobsMetrics* m)
      : workers(w), transport(t), factory(std::move(f)), runtime(rt), store(s), clock(clk), timers(tm),
        instance(std::move(inst)), metrics(m) {}

  http::Workers& workers;
  Transport& transport;
  EndpointFactory factory;
  const engine::RuntimeHolder& runtime;
  store::JobStore& store;
  const Clock& clock;
  Timers& timers;
  const std::string instance;
  JobsMetrics* metrics;
  CancelToken* wake = nullptr;  // worker 0 only
  CancelToken* event_wake = nullptr;
  store::EventStore* events = nullptr;
  ReplySink* sink = nullptr;
  std::atomic<bool> stopping{false};
  // Per caller and origin (worker 0 only). The snapshot each was built for is
  // kept with it: a reload that changes the caller's allow-list rebuilds it.
  struct Cached {
    std::shared_ptr<const engine::Runtime> runtime;
    std::shared_ptr<const TransportEndpoint> endpoint;
  };
  std::map<std::string, Cached> endpoints;

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      // Hold the snapshot: a reload may drop the holder's reference meanwhile.
      const auto rt = runtime.get();
      const auto& jc = rt->config().jobs;
      const auto now_ms = unix_millis(clock.wall());
      auto due = co_await store.claim_callbacks(now_ms, 32, instance, now_ms + 2 * jc.callback_timeout.count());
      if (due) {
        for (auto& rec : *due) asio::co_spawn(workers.context(0), deliver(std::move(rec)), asio::detached);
      }
      CancelToken token;
      wake = &token;
      co_await timers.wait_until(clock.now() + kPoll, &token);
      wake = nullptr;
    }
  }

  void log_try(store::CallRecord& rec, const std::string& outcome, bool delivered, const config::JobsConfig& jc) {
    json::array log;
    boost::system::error_code ec;
    auto v = json::parse(rec.callback_log_json.empty() ? "[]" : rec.callback_log_json, ec);
    if (!ec && v.is_array()) log = v.get_array();
    log.push_back(json::object{{"at", format_iso8601_ms(clock.wall())}, {"outcome", outcome}});
    rec.callback_log_json = json::serialize(log);
    ++rec.callback_tries;
    const auto now_ms = unix_millis(clock.wall());
    const char* result = "retry";
    if (delivered) {
      rec.callback_state = store::CallbackState::kDelivered;
      result = "delivered";
    } else if (rec.callback_tries >= jc.callback_max_tries) {
      rec.callback_state = store::CallbackState::kFailed;
      result = "failed";
    }
    if (metrics) metrics->callbacks.with({result}).inc();
    if (!delivered && rec.callback_state != store::CallbackState::kFailed) {
      const long long wait = std::min<long long>(300'000, 1000LL << std::min(rec.callback_tries - 1, 20));
      rec.callback_next_ms = now_ms + wait;
    }
  }

  // The connection target for a callback to `url`, for `caller` under runtime `rt`.
  std::shared_ptr<const TransportEndpoint> endpoint_for(const std::shared_ptr<const engine::Runtime>& rt,
                                                        const config::CallerConfig& caller, const Url& url,
                                                        config::CallbackConfig::Match match,
                                                        const config::JobsConfig& jc) {
    const std::string key = caller.name + "|" + url.scheme + "://" + url.host_port();
    auto& cached = endpoints[key];
    if (cached.endpoint && cached.runtime == rt) return cached.endpoint;
    EndpointOptions o;
    o.scheme = url.scheme;
    o.host = url.host;
    o.port = url.port;
    o.connect_timeout = jc.callback_timeout;
    o.max_connections = 8;
    o.pool_tag = "callback:" + caller.name;
    // The allow-list as of this snapshot (copied: the endpoint may outlive it).
    o.address_check = [callbacks = caller.callbacks, url, match](const std::string& ip) -> std::optional<std::string> {
      if (callbacks.allows_address(url, match, ip)) return std::nullopt;
      return ip + " (" + std::string(to_string(address_scope(ip))) + ") is not allowed for this callback host";
    };
    auto made = factory(o);
    if (!made) return nullptr;
    cached = Cached{rt, *made};
    return cached.endpoint;
  }

  struct Try {
    bool delivered = false;
    std::string outcome;
    bool give_up = false;  // no point trying again (the host is no longer allowed)
  };

  // POSTs `body` to the caller's callback URL, signed with the caller's secret.
  asio::awaitable<Try> post_signed(const std::shared_ptr<const engine::Runtime>& rt, const std::string& caller_name,
                                   const std::string& url, const std::string& body, HeaderList extra) {
    const auto& jc = rt->config().jobs;
    const config::CallerConfig* caller = nullptr;
    for (const auto& c : rt->config().callers) {
      if (c.name == caller_name) caller = &c;
    }
    const auto target = parse_http_url(url, UrlRules{.what = "callback URL"});
    const auto match = caller && target ? caller->callbacks.match(*target) : config::CallbackConfig::Match::kNone;
    if (match == config::CallbackConfig::Match::kNone) {
      co_return Try{false, std::string("not sent: the callback host is no longer allowed for this caller"), true};
    }
    const std::string ts = std::to_string(unix_seconds(clock.wall()));
    HttpRequest req;
    req.method = "POST";
    req.path = target->path;
    req.query = target->query;
    req.headers = std::move(extra);
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("X-Tollgate-Timestamp", ts);
    req.headers.emplace_back("X-Tollgate-Signature", callback_signature(caller->callbacks.secret, ts, body));
    req.body = body;
    auto ep = endpoint_for(rt, *caller, *target, match, jc);
    if (!ep) co_return Try{false, std::string("not sent: cannot set up a connection"), false};
    auto resp = co_await transport.send(ep, req, clock.now() + jc.callback_timeout);
    if (resp && resp->status >= 200 && resp->status < 300) co_return Try{true, "HTTP " + std::to_string(resp->status), false};
    if (resp) co_return Try{false, "HTTP " + std::to_string(resp->status), false};
    co_return Try{false, resp.error().provider_code.empty() ? resp.error().message : resp.error().provider_code, false};
  }

  asio::awaitable<void> deliver(store::CallRecord rec) {
    auto self = shared_from_this();
    const auto rt = runtime.get();
    const auto& jc = rt->config().jobs;
    const std::string body = json::serialize(engine::status_json(rec));
    Try t;
    if (sink && rec.callback_url.starts_with(sink->scheme())) {
      auto d = co_await sink->deliver(rec.callback_url, body);
      t = Try{d.delivered, std::move(d.outcome), false};
    } else {
      HeaderList headers;  // (GCC 12 cannot take a braced list inside co_await)
      headers.emplace_back("X-Tollgate-Id", rec.id);
      t = co_await post_signed(rt, rec.caller, rec.callback_url, body, std::move(headers));
    }
    if (t.give_up) rec.callback_tries = jc.callback_max_tries - 1;
    log_try(rec, t.outcome, t.delivered, jc);
    auto saved = co_await store.update(rec);
    if (!saved) spdlog::error("callbacks: cannot record delivery of {}: {}", rec.id, saved.error().message);
  }

  // Providers' events, forwarded to the callback of the call they belong to:
  // each stored event once, retried like a callback until the caller's endpoint
  // answers 2xx (X-Tollgate-Event-Id lets it drop a repeat of a retry).
  asio::awaitable<void> event_loop() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      const auto rt = runtime.get();  // held, as in loop()
      const auto& jc = rt->config().jobs;
      const auto now_ms = unix_millis(clock.wall());
      auto due = co_await events->claim_event_forwards(now_ms, 32, now_ms + 2 * jc.callback_timeout.count());
      if (due) {
        for (auto& ev : *due) asio::co_spawn(workers.context(0), forward(std::move(ev)), asio::detached);
      }
      CancelToken token;
      event_wake = &token;
      co_await timers.wait_until(clock.now() + kPoll, &token);
      event_wake = nullptr;
    }
  }

  asio::awaitable<void> forward(store::EventRecord ev) {
    auto self = shared_from_this();
    const auto rt = runtime.get();
    const auto& jc = rt->config().jobs;
    const std::string body = json::serialize(json::object{{"event", engine::event_json(ev)}});
    Try t;
    if (sink && ev.callback_url.starts_with(sink->scheme())) {
      auto d = co_await sink->deliver(ev.callback_url, body);
      t = Try{d.delivered, std::move(d.outcome), false};
    } else {
      HeaderList headers;
      headers.emplace_back("X-Tollgate-Id", ev.call_id);
      headers.emplace_back("X-Tollgate-Event-Id", ev.id);
      t = co_await post_signed(rt, ev.caller, ev.callback_url, body, std::move(headers));
    }
    json::array log;
    boost::system::error_code ec;
    auto v = json::parse(ev.forward_log_json.empty() ? "[]" : ev.forward_log_json, ec);
    if (!ec && v.is_array()) log = v.get_array();
    log.push_back(json::object{{"at", format_iso8601_ms(clock.wall())}, {"outcome", t.outcome}});
    ev.forward_log_json = json::serialize(log);
    ++ev.forward_tries;
    const char* result = "retry";
    if (t.delivered) {
      ev.forward = store::ForwardState::kDelivered;
      result = "delivered";
    } else if (t.give_up || ev.forward_tries >= jc.callback_max_tries) {
      ev.forward = store::ForwardState::kFailed;
      result = "failed";
    } else {
      const long long wait = std::min<long long>(300'000, 1000LL << std::min(ev.forward_tries - 1, 20));
      ev.forward_next_ms = unix_millis(clock.wall()) + wait;
    }
    if (metrics) metrics->event_forwards.with({result}).inc();
    auto saved = co_await events->update_event_forward(ev);
    if (!saved) spdlog::error("callbacks: cannot record forwarding of event {}: {}", ev.id, saved.error().message);
  }
};

Callbacks::Callbacks(http::Workers& workers, Transport& transport, EndpointFactory endpoints,
                     const engine::RuntimeHolder& runtime, store::JobStore& store, const Clock& clock, Timers& timers,
                     std::string instance, JobsMetrics* metrics)
    : impl_(std::make_shared<Impl>(workers, transport, std::move(endpoints), runtime, store, clock, timers,
                                   std::move(instance), metrics)) {}

Callbacks::~Callbacks() = default;

void Callbacks::set_events(store::EventStore* events) { impl_->events = events; }

void Callbacks::set_reply_sink(ReplySink* sink) { impl_->sink = sink; }

void Callbacks::start() {
  asio::co_spawn(impl_->workers.context(0), impl_->loop(), asio::detached);
  if (impl_->events) asio::co_spawn(impl_->workers.context(0), impl_->event_loop(), asio::detached);
}

void Callbacks::stop() {
  impl_->stopping.store(true);
  asio::post(impl_->workers.context(0), [self = impl_] {
    if (self->wake) self->wake->cancel();
    if (self->event_wake) self->event_wake->cancel();
  });
}

}  // namespace tollgate::jobs
