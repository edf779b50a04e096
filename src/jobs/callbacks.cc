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
#include "engine/views.h"

namespace tollgate::jobs {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr Millis kPoll{200};

struct Target {
  std::string scheme, host, path;
  std::uint16_t port = 0;
};

std::optional<Target> parse_url(const std::string& url) {
  Target t;
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) return std::nullopt;
  t.scheme = https ? "https" : "http";
  const std::string rest = url.substr(https ? 8 : 7);
  const auto slash = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (t.path.front() == '?') t.path = "/" + t.path;
  t.port = https ? 443 : 80;
  t.host = authority;
  if (const auto colon = authority.rfind(':'); colon != std::string::npos && authority.back() != ']') {
    try {
      t.port = static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1)));
    } catch (...) {
      return std::nullopt;
    }
    t.host = authority.substr(0, colon);
  }
  if (t.host.size() > 2 && t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
  if (t.host.empty()) return std::nullopt;
  return t;
}

}  // namespace

std::string callback_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  return "sha256=" + to_hex(hmac_sha256(secret, signed_text));
}

struct Callbacks::Impl : std::enable_shared_from_this<Callbacks::Impl> {
  Impl(http::Workers& w, http::Client& c, const engine::RuntimeHolder& rt, store::JobStore& s, const Clock& clk,
       std::string inst, JobsMetrics* m)
      : workers(w), client(c), runtime(rt), store(s), clock(clk), instance(std::move(inst)), metrics(m),
        wake(w.context(0)) {}

  http::Workers& workers;
  http::Client& client;
  const engine::RuntimeHolder& runtime;
  store::JobStore& store;
  const Clock& clock;
  const std::string instance;
  JobsMetrics* metrics;
  asio::steady_timer wake;
  std::atomic<bool> stopping{false};
  std::map<std::string, std::shared_ptr<const http::Endpoint>> endpoints;  // worker 0 only

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      const auto& jc = runtime.get()->config().jobs;
      const auto now_ms = unix_millis(clock.wall());
      auto due = co_await store.claim_callbacks(now_ms, 32, instance, now_ms + 2 * jc.callback_timeout.count());
      if (due) {
        for (auto& rec : *due) asio::co_spawn(workers.context(0), deliver(std::move(rec)), asio::detached);
      }
      wake.expires_after(kPoll);
      co_await wake.async_wait(nothrow);
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

  asio::awaitable<void> deliver(store::CallRecord rec) {
    auto self = shared_from_this();
    const auto rt = runtime.get();
    const auto& jc = rt->config().jobs;
    const config::CallerConfig* caller = nullptr;
    for (const auto& c : rt->config().callers) {
      if (c.name == rec.caller) caller = &c;
    }
    const auto target = parse_url(rec.callback_url);
    std::string outcome;
    bool delivered = false;
    if (!caller || !target || !caller->callbacks.allows(target->host, target->port)) {
      outcome = "not sent: the callback host is no longer allowed for this caller";
      rec.callback_tries = jc.callback_max_tries - 1;  // give up now
    } else {
      const std::string body = json::serialize(engine::status_json(rec));
      const std::string ts = std::to_string(unix_seconds(clock.wall()));
      HttpRequest req;
      req.method = "POST";
      const auto q = target->path.find('?');
      req.path = target->path.substr(0, q);
      if (q != std::string::npos) req.query = target->path.substr(q + 1);
      req.headers = {{"Content-Type", "application/json"},
                     {"X-Tollgate-Id", rec.id},
                     {"X-Tollgate-Timestamp", ts},
                     {"X-Tollgate-Signature", callback_signature(caller->callbacks.secret, ts, body)}};
      req.body = body;
      const std::string key = target->scheme + "://" + target->host + ":" + std::to_string(target->port);
      auto& ep = endpoints[key];
      if (!ep) {
        http::EndpointOptions o;
        o.scheme = target->scheme;
        o.host = target->host;
        o.port = target->port;
        o.connect_timeout = jc.callback_timeout;
        o.max_connections = 8;
        auto made = http::Endpoint::make(o);
        if (made) ep = *made;
      }
      if (!ep) {
        outcome = "not sent: cannot set up a connection";
      } else {
        auto resp = co_await client.send(ep, std::move(req), clock.now() + jc.callback_timeout);
        if (resp && resp->status >= 200 && resp->status < 300) {
          delivered = true;
          outcome = "HTTP " + std::to_string(resp->status);
        } else if (resp) {
          outcome = "HTTP " + std::to_string(resp->status);
        } else {
          outcome = resp.error().provider_code.empty() ? resp.error().message : resp.error().provider_code;
        }
      }
    }
    log_try(rec, outcome, delivered, jc);
    auto saved = co_await store.update(rec);
    if (!saved) spdlog::error("callbacks: cannot record delivery of {}: {}", rec.id, saved.error().message);
  }
};

Callbacks::Callbacks(http::Workers& workers, http::Client& client, const engine::RuntimeHolder& runtime,
                     store::JobStore& store, const Clock& clock, std::string instance, JobsMetrics* metrics)
    : impl_(std::make_shared<Impl>(workers, client, runtime, store, clock, std::move(instance), metrics)) {}

Callbacks::~Callbacks() = default;

void Callbacks::start() { asio::co_spawn(impl_->workers.context(0), impl_->loop(), asio::detached); }

void Callbacks::stop() {
  impl_->stopping.store(true);
  asio::post(impl_->workers.context(0), [self = impl_] { self->wake.cancel(); });
}

}  // namespace tollgate::jobs
