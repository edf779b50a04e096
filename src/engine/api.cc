#include "engine/api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>

#include "core/encoding.h"
#include "core/random.h"
#include "core/time_format.h"
#include "engine/validator.h"

namespace tollgate::engine {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

http::ServerResponse json_reply(int status, const json::object& body, const std::string& id = {}) {
  HttpResponse r{status, {{"Content-Type", "application/json"}}, json::serialize(body)};
  if (!id.empty()) r.headers.emplace_back("X-Request-Id", id);
  return http::ServerResponse{std::move(r)};
}

json::array attempts_json(const std::vector<AttemptRecord>& attempts) {
  json::array out;
  out.reserve(attempts.size());
  for (const auto& a : attempts) {
    json::object o{{"provider", a.provider}, {"outcome", a.outcome}, {"duration_ms", a.duration.count()}};
    if (!a.provider_code.empty()) o["provider_code"] = a.provider_code;
    if (a.probe) o["probe"] = true;
    if (a.hedge) o["hedge"] = true;
    out.push_back(std::move(o));
  }
  return out;
}

http::ServerResponse error_reply(const Error& e, const std::string& id,
                                 const std::vector<AttemptRecord>* attempts = nullptr) {
  json::object err{{"code", to_string(e.cls)}, {"message", e.message}, {"retryable", is_retryable(e.cls)}};
  if (!e.provider.empty()) err["provider"] = e.provider;
  if (!e.provider_code.empty()) err["provider_code"] = e.provider_code;
  json::object body{{"error", std::move(err)}};
  if (!id.empty()) body["id"] = id;
  if (attempts && !attempts->empty()) body["attempts"] = attempts_json(*attempts);
  auto reply = json_reply(http_status(e), body, id);
  if (e.retry_after.count() > 0) {
    reply.response.headers.emplace_back("Retry-After", std::to_string((e.retry_after.count() + 999) / 1000));
  }
  return reply;
}

Error err(ErrorClass c, std::string message) { return Error::make(c, std::move(message)); }

}  // namespace

ApiHandler::ApiHandler(const RuntimeHolder& runtime, const Clock& clock, std::vector<http::Client*> clients)
    : runtime_(runtime), clock_(clock), engine_(clock), clients_(std::move(clients)) {}

asio::awaitable<http::ServerResponse> ApiHandler::handle(HttpRequest req, const http::RequestContext& ctx) {
  if (req.path == "/healthz") {
    co_return json_reply(200, {{"status", "ok"}});
  }
  if (req.path.starts_with("/v1/")) {
    const std::string_view rest = std::string_view(req.path).substr(4);
    const auto slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0 && rest.find('/', slash + 1) == std::string_view::npos &&
        slash + 1 < rest.size() && rest.substr(0, slash) != "requests") {
      if (req.method != "POST") {
        auto r = error_reply(err(ErrorClass::kBadRequest, "use POST to call a capability"), {});
        r.response.status = 405;
        r.response.headers.emplace_back("Allow", "POST");
        co_return r;
      }
      std::string capability(rest.substr(0, slash));
      capability += '.';
      capability += rest.substr(slash + 1);
      co_return co_await call(req, ctx.worker, capability);
    }
  }
  co_return error_reply(err(ErrorClass::kNotFound, "no such endpoint: " + req.method + " " + req.path), {});
}

asio::awaitable<http::ServerResponse> ApiHandler::call(HttpRequest& req, int worker, std::string_view capability) {
  const auto rt = runtime_.get();  // this call runs on this snapshot to the end
  const auto& cfg = rt->config();

  const std::string_view auth = req.header("Authorization");
  if (!auth.starts_with("Bearer ") || auth.size() <= 7) {
    co_return error_reply(err(ErrorClass::kUnauthorized, "missing 'Authorization: Bearer <key>' header"), {});
  }
  const CallerRuntime* caller_rt = rt->caller_by_key(auth.substr(7));
  if (!caller_rt) co_return error_reply(err(ErrorClass::kUnauthorized, "unknown API key"), {});
  const config::CallerConfig* caller = caller_rt->config;
  const CapabilityRuntime* cap = rt->capability(capability);
  if (!cap) co_return error_reply(err(ErrorClass::kNotFound, "unknown capability '" + std::string(capability) + "'"), {});
  if (!caller->allows(capability)) {
    co_return error_reply(err(ErrorClass::kForbidden, "caller '" + caller->name + "' may not use " + std::string(capability)), {});
  }

  if (caller_rt->state->rate) {
    const auto wait = caller_rt->state->rate->try_acquire(clock_.now());
    if (wait.count() > 0) {
      Error e = err(ErrorClass::kRateLimited, "caller '" + caller->name + "' is over its rate limit");
      e.retry_after = std::chrono::ceil<Millis>(wait);
      co_return error_reply(e, {});
    }
  }

  CallRouting routing;
  routing.pin = std::string(req.header("X-Tollgate-Provider"));
  for (std::string_view rest = req.header("X-Tollgate-Exclude"); !rest.empty();) {
    const auto comma = rest.find(',');
    const auto item = trim(rest.substr(0, comma));
    if (!item.empty()) routing.exclude.emplace_back(item);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }

  Call call;
  call.received_at = clock_.wall();
  call.id = new_call_id(static_cast<std::uint64_t>(unix_millis(call.received_at)));
  call.caller = caller->name;
  call.capability = std::string(capability);

  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) co_return error_reply(err(ErrorClass::kBadRequest, "request body is not valid JSON"), call.id);
  if (!body.is_object()) co_return error_reply(err(ErrorClass::kBadRequest, "request body must be a JSON object of params"), call.id);
  call.params = std::move(body.get_object());
  if (auto valid = validate_params(*cap->config, call.params); !valid) {
    co_return error_reply(valid.error(), call.id);
  }

  Millis budget = cap->config->default_deadline;
  if (const std::string_view dh = req.header(cfg.server.deadline_header); !dh.empty()) {
    long long ms = 0;
    auto [p, e] = std::from_chars(dh.data(), dh.data() + dh.size(), ms);
    if (e != std::errc() || p != dh.data() + dh.size() || ms <= 0) {
      co_return error_reply(err(ErrorClass::kBadRequest, cfg.server.deadline_header + " must be a positive number of milliseconds"), call.id);
    }
    budget = std::min(Millis(ms), cap->config->max_deadline);
  }
  call.deadline = Deadline::after(clock_.now(), budget);

  CallOutcome outcome = co_await engine_.execute(*cap, call, routing, *clients_[worker]);
  if (!outcome.ok) co_return error_reply(outcome.error, call.id, &outcome.attempts);
  co_return json_reply(200,
                       {{"id", call.id},
                        {"status", "succeeded"},
                        {"provider", outcome.provider},
                        {"result", std::move(outcome.result)},
                        {"attempts", attempts_json(outcome.attempts)}},
                       call.id);
}

}  // namespace tollgate::engine
