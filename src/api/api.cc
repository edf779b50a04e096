#include "api/api.h"

#include <boost/json/serialize.hpp>

#include <charconv>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/time_format.h"
#include "core/url.h"
#include "api/replies.h"

namespace tollgate::api {

using namespace tollgate::engine;

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Error err(ErrorClass c, std::string message) { return Error::make(c, std::move(message)); }

bool prefers_async(std::string_view prefer) {
  for (std::string_view rest = prefer; !rest.empty();) {
    const auto comma = rest.find(',');
    std::string_view token = trim(rest.substr(0, comma));
    token = token.substr(0, token.find(';'));
    if (iequals(trim(token), "respond-async")) return true;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return false;
}

}  // namespace

ApiHandler::ApiHandler(const RuntimeHolder& runtime, const Clock& clock, Timers& timers,
                       std::vector<Transport*> transports, store::JobStore& store, std::string instance,
                       EngineMetrics* metrics)
    : runtime_(runtime),
      clock_(clock),
      timers_(timers),
      engine_(clock, timers, metrics),
      transports_(std::move(transports)),
      store_(store),
      instance_(std::move(instance)),
      metrics_(metrics) {}

std::string ApiHandler::caller_name(const HttpRequest& req) const {
  if (!req.door_caller.empty()) return req.door_caller;
  const std::string_view auth = req.header("Authorization");
  const auto* c = auth.starts_with("Bearer ") ? runtime_.get()->caller_by_key(auth.substr(7)) : nullptr;
  return c ? c->config->name : "unknown";
}

asio::awaitable<http::ServerResponse> ApiHandler::handle(HttpRequest req, http::RequestContext ctx) {
  if (req.path == "/healthz") co_return json_reply(200, {{"status", "ok"}});
  const std::string_view path = req.path;
  if (path.starts_with("/v1/requests/")) {
    if (req.method != "GET") {
      auto r = error_reply(err(ErrorClass::kBadRequest, "use GET to read a request's status"), {});
      r.response.status = 405;
      r.response.headers.emplace_back("Allow", "GET");
      co_return r;
    }
    co_return co_await status(req, path.substr(13));
  }
  if (path.starts_with("/v1/")) {
    std::string_view rest = path.substr(4);
    const auto slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0 && rest.find('/', slash + 1) == std::string_view::npos &&
        slash + 1 < rest.size()) {
      if (req.method != "POST") {
        auto r = error_reply(err(ErrorClass::kBadRequest, "use POST to call a capability"), {});
        r.response.status = 405;
        r.response.headers.emplace_back("Allow", "POST");
        co_return r;
      }
      std::string_view op = rest.substr(slash + 1);
      const bool is_batch = op.ends_with(":batch");
      if (is_batch) op.remove_suffix(6);
      std::string capability(rest.substr(0, slash));
      capability += '.';
      capability += op;
      if (is_batch) co_return co_await batch(req, capability);
      co_return co_await call(req, ctx.worker, capability);
    }
  }
  co_return error_reply(err(ErrorClass::kNotFound, "no such endpoint: " + req.method + " " + req.path), {});
}

Result<ApiHandler::Admitted> ApiHandler::admit_caller(const HttpRequest& req, std::string_view capability) const {
  Admitted a;
  a.rt = runtime_.get();  // the call runs on this snapshot to the end
  if (!req.door_caller.empty()) {
    // An in-process door (queue mode) names its configured caller; a reload may have removed it.
    a.caller = a.rt->caller_by_name(req.door_caller);
    if (!a.caller) return err(ErrorClass::kUnauthorized, "caller '" + req.door_caller + "' is no longer configured");
  } else {
    const std::string_view auth = req.header("Authorization");
    if (!auth.starts_with("Bearer ") || auth.size() <= 7) {
      return err(ErrorClass::kUnauthorized, "missing 'Authorization: Bearer <key>' header");
    }
    a.caller = a.rt->caller_by_key(auth.substr(7));
    if (!a.caller) return err(ErrorClass::kUnauthorized, "unknown API key");
  }
  a.cap = a.rt->capability(capability);
  if (!a.cap) return err(ErrorClass::kNotFound, "unknown capability '" + std::string(capability) + "'");
  if (!a.caller->config->allows(capability)) {
    return err(ErrorClass::kForbidden,
               "caller '" + a.caller->config->name + "' may not use " + std::string(capability));
  }
  // A cluster's caller limits are taken on Redis (caller_limit_shared()).
  if (a.caller->state->rate && !a.cap->shared.limits) {
    const auto wait = a.caller->state->rate->try_acquire(clock_.now());
    if (wait.count() > 0) {
      Error e = err(ErrorClass::kRateLimited, "caller '" + a.caller->config->name + "' is over its rate limit");
      e.retry_after = std::chrono::ceil<Millis>(wait);
      return e;
    }
  }
  return a;
}

asio::awaitable<Result<void>> ApiHandler::caller_limit_shared(const Admitted& a) const {
  const auto& st = *a.caller->state;
  if (!a.cap->shared.limits || !st.rate) co_return ok();
  cluster::SharedLimit l;
  l.kind = cluster::SharedLimit::Kind::kRate;
  l.key = "rate:c:" + a.caller->config->name;
  l.interval_us = static_cast<std::int64_t>(1e6 / st.rps);
  l.tolerance_us = l.interval_us * (std::max(1, st.burst) - 1);
  std::vector<cluster::SharedLimit> limits{std::move(l)};
  auto grant = co_await a.cap->shared.limits->acquire(std::move(limits), Millis(1000));
  Millis wait{0};
  if (grant) {
    if (grant->granted) co_return ok();
    wait = grant->wait;
  } else {
    // Redis away: this instance's share of the caller's limit, or a refusal.
    if (a.caller->config->deny_on_shared_loss.value_or(a.cap->shared.deny_on_loss)) {
      Error e = err(ErrorClass::kRateLimited, "caller limits are unavailable right now");
      e.retry_after = Millis(1000);
      co_return e;
    }
    const auto w = st.fallback_rate->try_acquire(clock_.now());
    if (w.count() == 0) co_return ok();
    wait = std::chrono::ceil<Millis>(w);
  }
  Error e = err(ErrorClass::kRateLimited, "caller '" + a.caller->config->name + "' is over its rate limit");
  e.retry_after = std::max(wait, Millis(1));
  co_return e;
}

Result<void> check_callback(const std::string& url, const config::CallerConfig& caller) {
  auto parsed = parse_http_url(url, UrlRules{.what = "callback URL"});
  if (!parsed) return parsed.error();
  if (caller.callbacks.match(*parsed) == config::CallbackConfig::Match::kNone) {
    return err(ErrorClass::kInvalidRequest,
               "callback host '" + parsed->host_port() + "' is not allowed for caller '" + caller.name +
                   "' (callers[].callbacks.allowed_hosts)");
  }
  return ok();
}

Result<void> check_idempotency_key(std::string_view key, ErrorClass cls) {
  const bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7F; });
  if (key.empty() || key.size() > 255 || !visible) {
    return err(cls, "Idempotency-Key must be 1 to 255 visible ASCII characters");
  }
  return ok();
}

Result<CallOptions> ApiHandler::parse_options(const HttpRequest& req, const Admitted& a) const {
  CallOptions o;
  const auto& cfg = a.rt->config();
  o.prefer_async = prefers_async(req.header("Prefer"));
  o.idempotency_key = std::string(req.header("Idempotency-Key"));
  if (has_header(req.headers, "Idempotency-Key")) {
    if (auto valid = check_idempotency_key(o.idempotency_key, ErrorClass::kBadRequest); !valid) return valid.error();
  }
  if (const std::string_view nb = req.header("X-Tollgate-Not-Before"); !nb.empty()) {
    o.not_before = parse_rfc3339(nb);
    if (!o.not_before) {
      return err(ErrorClass::kInvalidRequest,
                 "X-Tollgate-Not-Before must be an RFC 3339 time such as 2026-11-27T09:00:00Z");
    }
  }
  if (!req.door_reply.empty()) {
    o.callback_url = req.door_reply;  // the door delivers it itself (jobs::ReplySink)
  } else if (const std::string_view cb = req.header("X-Tollgate-Callback"); !cb.empty()) {
    o.callback_url = std::string(cb);
    if (auto valid = check_callback(o.callback_url, *a.caller->config); !valid) return valid.error();
  }
  o.routing.pin = std::string(req.header("X-Tollgate-Provider"));
  for (std::string_view rest = req.header("X-Tollgate-Exclude"); !rest.empty();) {
    const auto comma = rest.find(',');
    const auto item = trim(rest.substr(0, comma));
    if (!item.empty()) o.routing.exclude.emplace_back(item);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (const std::string_view dh = req.header(cfg.server.deadline_header); !dh.empty()) {
    long long ms = 0;
    auto [p, e] = std::from_chars(dh.data(), dh.data() + dh.size(), ms);
    if (e != std::errc() || p != dh.data() + dh.size() || ms <= 0) {
      return err(ErrorClass::kBadRequest, cfg.server.deadline_header + " must be a positive number of milliseconds");
    }
    o.deadline = Millis(ms);
  }
  const auto& allowed = a.caller->config->traffic;
  o.traffic = allowed.front();
  if (const std::string_view th = req.header(cfg.test_traffic.header); !th.empty()) {
    const Traffic* found = nullptr;
    static constexpr Traffic kAll[] = {Traffic::kLive, Traffic::kDebug, Traffic::kStress};
    for (const auto& t : kAll) {
      if (to_string(t) == th) found = &t;
    }
    if (!found) return err(ErrorClass::kBadRequest, cfg.test_traffic.header + " must be live, debug or stress");
    if (std::find(allowed.begin(), allowed.end(), *found) == allowed.end()) {
      return err(ErrorClass::kForbidden, "caller '" + a.caller->config->name + "' may not send " +
                                             std::string(th) + " traffic");
    }
    o.traffic = *found;
  }
  if (o.traffic != Traffic::kLive && o.async()) {
    return err(ErrorClass::kInvalidRequest, "debug and stress calls are answered synchronously; they cannot be queued");
  }
  if (o.async() && !a.cap->config->async.allow) {
    return err(ErrorClass::kInvalidRequest, a.cap->config->name + " does not accept asynchronous calls");
  }
  return o;
}

store::CallRecord ApiHandler::new_record(const Admitted& a, const Call& call, const CallOptions& o,
                                         std::string_view body, bool payload) const {
  store::CallRecord r;
  r.id = call.id;
  r.caller = a.caller->config->name;
  r.capability = call.capability;
  r.trace_id = call.trace.trace_id;
  if (payload) {
    r.params_json = json::serialize(call.params);
    r.body_hash = sha256_hex(body);
  }
  r.idempotency_key = o.idempotency_key;
  r.routing_json = routing_json(o.routing);
  r.callback_url = o.callback_url;
  r.created_ms = r.updated_ms = unix_millis(call.received_at);
  r.not_before_ms = o.not_before ? std::max(r.created_ms, unix_millis(*o.not_before)) : r.created_ms;
  return r;
}

}  // namespace tollgate::api
