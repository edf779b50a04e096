#include "engine/api.h"

#include <boost/json/serialize.hpp>

#include <charconv>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/time_format.h"
#include "engine/views.h"

namespace tollgate::engine {

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

ApiHandler::ApiHandler(const RuntimeHolder& runtime, const Clock& clock, std::vector<http::Client*> clients,
                       store::JobStore& store, std::string instance, EngineMetrics* metrics)
    : runtime_(runtime),
      clock_(clock),
      engine_(clock, metrics),
      clients_(std::move(clients)),
      store_(store),
      instance_(std::move(instance)),
      metrics_(metrics) {}

std::string ApiHandler::caller_name(const HttpRequest& req) const {
  const std::string_view auth = req.header("Authorization");
  const auto* c = auth.starts_with("Bearer ") ? runtime_.get()->caller_by_key(auth.substr(7)) : nullptr;
  return c ? c->config->name : "unknown";
}

asio::awaitable<http::ServerResponse> ApiHandler::handle(HttpRequest req, const http::RequestContext& ctx) {
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
  const std::string_view auth = req.header("Authorization");
  if (!auth.starts_with("Bearer ") || auth.size() <= 7) {
    return err(ErrorClass::kUnauthorized, "missing 'Authorization: Bearer <key>' header");
  }
  a.caller = a.rt->caller_by_key(auth.substr(7));
  if (!a.caller) return err(ErrorClass::kUnauthorized, "unknown API key");
  a.cap = a.rt->capability(capability);
  if (!a.cap) return err(ErrorClass::kNotFound, "unknown capability '" + std::string(capability) + "'");
  if (!a.caller->config->allows(capability)) {
    return err(ErrorClass::kForbidden,
               "caller '" + a.caller->config->name + "' may not use " + std::string(capability));
  }
  if (a.caller->state->rate) {
    const auto wait = a.caller->state->rate->try_acquire(clock_.now());
    if (wait.count() > 0) {
      Error e = err(ErrorClass::kRateLimited, "caller '" + a.caller->config->name + "' is over its rate limit");
      e.retry_after = std::chrono::ceil<Millis>(wait);
      return e;
    }
  }
  return a;
}

Result<void> ApiHandler::check_callback(const std::string& url, const config::CallerConfig& caller) const {
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) {
    return err(ErrorClass::kInvalidRequest, "callback URL must be http:// or https://");
  }
  const std::string rest = url.substr(https ? 8 : 7);
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string::npos) {
    return err(ErrorClass::kInvalidRequest, "callback URL has no valid host");
  }
  std::string host = authority;
  std::uint16_t port = https ? 443 : 80;
  if (const auto colon = authority.rfind(':'); colon != std::string::npos && authority.back() != ']') {
    unsigned p = 0;
    const auto* end = authority.data() + authority.size();
    auto [ptr, ec] = std::from_chars(authority.data() + colon + 1, end, p);
    if (ec != std::errc() || ptr != end || p == 0 || p > 65535) {
      return err(ErrorClass::kInvalidRequest, "callback URL has an invalid port");
    }
    host = authority.substr(0, colon);
    port = static_cast<std::uint16_t>(p);
  }
  if (!caller.callbacks.allows(host, port)) {
    return err(ErrorClass::kInvalidRequest,
               "callback host '" + host + ":" + std::to_string(port) + "' is not allowed for caller '" + caller.name +
                   "' (callers[].callbacks.allowed_hosts)");
  }
  return ok();
}

Result<CallOptions> ApiHandler::parse_options(const HttpRequest& req, const Admitted& a) const {
  CallOptions o;
  const auto& cfg = a.rt->config();
  o.prefer_async = prefers_async(req.header("Prefer"));
  o.idempotency_key = std::string(req.header("Idempotency-Key"));
  if (has_header(req.headers, "Idempotency-Key")) {
    const bool printable = std::all_of(o.idempotency_key.begin(), o.idempotency_key.end(),
                                       [](char c) { return c > 0x20 && c < 0x7F; });
    if (o.idempotency_key.empty() || o.idempotency_key.size() > 255 || !printable) {
      return err(ErrorClass::kBadRequest, "Idempotency-Key must be 1 to 255 visible ASCII characters");
    }
  }
  if (const std::string_view nb = req.header("X-Tollgate-Not-Before"); !nb.empty()) {
    o.not_before = parse_rfc3339(nb);
    if (!o.not_before) {
      return err(ErrorClass::kInvalidRequest,
                 "X-Tollgate-Not-Before must be an RFC 3339 time such as 2026-11-27T09:00:00Z");
    }
  }
  if (const std::string_view cb = req.header("X-Tollgate-Callback"); !cb.empty()) {
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
  if (payload) {
    r.params_json = json::serialize(call.params);
    r.body_hash = sha256_hex(body);
  }
  r.idempotency_key = o.idempotency_key;
  if (!o.routing.pin.empty() || !o.routing.exclude.empty()) {
    json::array ex;
    for (const auto& e : o.routing.exclude) ex.push_back(json::value(e));
    r.routing_json = json::serialize(json::object{{"pin", o.routing.pin}, {"exclude", std::move(ex)}});
  }
  r.callback_url = o.callback_url;
  r.created_ms = r.updated_ms = unix_millis(call.received_at);
  r.not_before_ms = o.not_before ? std::max(r.created_ms, unix_millis(*o.not_before)) : r.created_ms;
  return r;
}

}  // namespace tollgate::engine
