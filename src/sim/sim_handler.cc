#include "sim/sim_handler.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace tollgate::sim {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

http::ServerResponse reply(int status, std::string body) {
  return http::ServerResponse{HttpResponse{status, {{"Content-Type", "application/json"}}, std::move(body)}};
}

std::string error_body(std::string_view message) {
  return json::serialize(json::object{{"error", message}});
}

}  // namespace

SimHandler::SimHandler(Credentials creds, EventKeys keys)
    : creds_(std::move(creds)), dialects_(make_dialects(creds_)),
      events_(std::make_unique<EventSender>(creds_, std::move(keys))) {}

void SimHandler::report(const Dialect& d, const HttpRequest& req, const HttpResponse& resp) {
  if (!events_->wants(d.name())) return;
  for (auto& r : receipts_of(d.name(), req, resp)) events_->schedule(std::move(r));
}

http::ServerResponse SimHandler::control(const HttpRequest& req) {
  const std::string_view path = req.path;
  if (path == "/_sim/health") return reply(200, R"({"status":"ok"})");
  if (path == "/_sim/stats" && req.method == "GET") return reply(200, state_.stats_json());
  if (path == "/_sim/delivered" && req.method == "GET") return reply(200, state_.delivered_json());
  if (path == "/_sim/last" && req.method == "GET") return reply(200, state_.last_json());
  if (path.starts_with("/_sim/refs/") && req.method == "GET") {
    const std::string ref(path.substr(11));
    return reply(200, json::serialize(json::object{{"ref", ref}, {"received", state_.ref_count(ref)}}));
  }
  if (path == "/_sim/behavior" && req.method == "GET") return reply(200, behavior_.to_json());
  if (path == "/_sim/behavior" && (req.method == "POST" || req.method == "PUT")) {
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec) return reply(400, error_body("body is not JSON"));
    auto set = behavior_.set(v);
    if (!set) return reply(422, error_body(set.error().message));
    return reply(200, behavior_.to_json());
  }
  if (path == "/_sim/events" && req.method == "GET") return reply(200, events_->to_json());
  if (path == "/_sim/events/stats" && req.method == "GET") return reply(200, events_->stats_json());
  if (path == "/_sim/events" && (req.method == "POST" || req.method == "PUT")) {
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec) return reply(400, error_body("body is not JSON"));
    auto set = events_->set(v);
    if (!set) return reply(422, error_body(set.error().message));
    return reply(200, events_->to_json());
  }
  if (path == "/_sim/reset" && req.method == "POST") {
    behavior_.reset();
    state_.reset();
    events_->reset();
    return reply(200, R"({"status":"reset"})");
  }
  return reply(404, error_body("unknown control endpoint"));
}

asio::awaitable<http::ServerResponse> SimHandler::health() {
  state_.health_check();
  const Decision decision = behavior_.decide();
  if (decision.fault && decision.fault->kind == FaultKind::kHang) co_return http::ServerResponse{{}, http::ResponseMode::kHang};
  if (decision.delay.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(decision.delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!decision.fault) co_return reply(200, R"({"status":"ok"})");
  switch (decision.fault->kind) {
    case FaultKind::kReset:
      co_return http::ServerResponse{{}, http::ResponseMode::kReset};
    case FaultKind::kClose:
      co_return http::ServerResponse{{}, http::ResponseMode::kClose};
    case FaultKind::kHttp500:
      co_return reply(500, R"({"status":"error"})");
    case FaultKind::kHttp429:
      co_return reply(429, R"({"status":"throttled"})");
    default:
      co_return reply(503, R"({"status":"unavailable"})");
  }
}

asio::awaitable<http::ServerResponse> SimHandler::handle(HttpRequest req, http::RequestContext ctx) {
  if (req.path.starts_with("/_sim/")) co_return control(req);
  if (req.path.ends_with("/health") && (req.method == "GET" || req.method == "HEAD")) co_return co_await health();
  const Dialect* dialect = nullptr;
  for (const auto& d : dialects_) {
    if (d->matches(req)) {
      dialect = d.get();
      break;
    }
  }
  if (!dialect) co_return reply(404, error_body("no dialect serves " + req.path));

  state_.connection(ctx.connection_id);
  const Decision decision = behavior_.decide();
  state_.received(std::string(dialect->name()), dialect->ref(req));
  state_.remember_last(req);
  if (decision.fault && decision.fault->kind == FaultKind::kHang) {
    state_.outcome("hang");
    co_return http::ServerResponse{{}, http::ResponseMode::kHang};
  }
  // A normal answer is decided on arrival and sent after the latency, so an
  // event scheduled with a shorter delay overtakes it (as real receipts can).
  // Its outcome is counted when the answer leaves, after the latency.
  std::optional<HttpResponse> normal;
  std::string normal_outcome;
  if (!decision.fault) {
    normal = dialect->answer(req, state_, normal_outcome);
    report(*dialect, req, *normal);
  }
  if (decision.delay.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(decision.delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (normal) {
    state_.outcome(normal_outcome);
    co_return http::ServerResponse{std::move(*normal)};
  }
  const Fault& f = *decision.fault;
  switch (f.kind) {
    case FaultKind::kReset:
      state_.outcome("reset");
      co_return http::ServerResponse{{}, http::ResponseMode::kReset};
    case FaultKind::kClose:
      state_.outcome("close");
      co_return http::ServerResponse{{}, http::ResponseMode::kClose};
    case FaultKind::kHttp500:
    case FaultKind::kHttp503:
      state_.outcome(f.kind == FaultKind::kHttp500 ? "http_500" : "http_503");
      co_return http::ServerResponse{HttpResponse{f.kind == FaultKind::kHttp500 ? 500 : 503,
                                                  {{"Content-Type", "text/html"}},
                                                  "<html><body>Service Unavailable</body></html>"}};
    case FaultKind::kHttp429:
      state_.outcome("http_429");
      co_return http::ServerResponse{HttpResponse{
          429, {{"Retry-After", std::to_string(f.retry_after_s)}, {"Content-Type", "text/plain"}}, "slow down"}};
    case FaultKind::kMalformed:
      state_.outcome("malformed");
      co_return http::ServerResponse{HttpResponse{200, {{"Content-Type", "application/json"}}, "{\"code\":0,\"da"}};
    case FaultKind::kAnswerLost: {
      std::string outcome;
      report(*dialect, req, dialect->answer(req, state_, outcome));  // carried out: its receipt comes
      state_.outcome("answer_lost");
      co_return http::ServerResponse{{}, http::ResponseMode::kHang};
    }
    case FaultKind::kTamper: {
      std::string outcome;
      HttpResponse resp = dialect->answer(req, state_, outcome);
      // One byte more after signing: still well-formed, no longer what was signed.
      resp.body += ' ';
      state_.outcome("tamper");
      co_return http::ServerResponse{std::move(resp)};
    }
    case FaultKind::kSlowBody: {
      std::string outcome;
      HttpResponse resp = dialect->answer(req, state_, outcome);
      state_.outcome("slow_body");
      co_return http::ServerResponse{std::move(resp), http::ResponseMode::kSlowBody, Millis(f.interval_ms)};
    }
    case FaultKind::kErrorCode:
    case FaultKind::kThrottle:
    case FaultKind::kInvalid:
    case FaultKind::kVendorError:
      state_.outcome(std::string(fault_name(f.kind)));
      co_return http::ServerResponse{dialect->fault_answer(f)};
    case FaultKind::kHang:
      break;
  }
  co_return reply(500, error_body("unhandled fault"));
}

}  // namespace tollgate::sim
