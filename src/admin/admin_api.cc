#include "admin/admin_api.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>

#include "admin/views.h"
#include "core/crypto.h"
#include "core/time_format.h"
#include "engine/views.h"

namespace tollgate::admin {

namespace json = boost::json;

namespace {

http::ServerResponse reply(int status, const json::object& body) {
  return http::ServerResponse{HttpResponse{status, {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
                                           json::serialize(body)}};
}

http::ServerResponse error(int status, std::string_view code, std::string message) {
  return reply(status, json::object{{"error", {{"code", code}, {"message", std::move(message)}}}});
}

}  // namespace

AdminHandler::AdminHandler(const engine::RuntimeHolder& runtime, engine::StateRegistry& registry,
                           store::JobStore& store, const Clock& clock)
    : runtime_(runtime), registry_(registry), store_(store), clock_(clock) {}

boost::asio::awaitable<http::ServerResponse> AdminHandler::handle(HttpRequest req, const http::RequestContext&) {
  if (req.path == "/healthz") co_return reply(200, {{"status", "ok"}});
  const auto rt = runtime_.get();
  const std::string_view auth = req.header("Authorization");
  if (!auth.starts_with("Bearer ") || !constant_time_equals(auth.substr(7), rt->config().admin.token)) {
    co_return error(401, "unauthorized", "admin requests need 'Authorization: Bearer <admin token>'");
  }
  if (req.path.starts_with("/admin/providers")) co_return providers(req, *rt);
  if (req.path.starts_with("/admin/jobs") || req.path.starts_with("/admin/requests/")) co_return co_await jobs(req);
  co_return error(404, "not_found", "no such admin endpoint: " + req.method + " " + req.path);
}

http::ServerResponse AdminHandler::providers(const HttpRequest& req, const engine::Runtime& rt) {
  const SteadyTime now = clock_.now();
  const WallTime wall = clock_.wall();
  const std::string_view path = req.path;
  if (path == "/admin/providers" && req.method == "GET") return reply(200, providers_json(rt, now, wall));
  if (path.starts_with("/admin/providers/")) {
    std::string_view rest = path.substr(17);
    std::string_view action;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      action = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    const engine::ProviderRuntime* p = rt.provider(rest);
    if (!p) return error(404, "not_found", "no provider named '" + std::string(rest) + "'");
    if (action.empty() && req.method == "GET") return reply(200, provider_json(rt, *p, now, wall));
    if ((action == "disable" || action == "enable") && req.method == "POST") {
      registry_.set_disabled(p->name(), action == "disable");
      return reply(200, provider_json(rt, *p, now, wall));
    }
  }
  return error(404, "not_found", "no such admin endpoint: " + req.method + " " + req.path);
}

boost::asio::awaitable<http::ServerResponse> AdminHandler::jobs(const HttpRequest& req) {
  const std::string_view path = req.path;
  const auto now_ms = unix_millis(clock_.wall());
  auto store_error = [](const Error& e) { return error(503, "unavailable", "store: " + e.message); };
  if (path.starts_with("/admin/requests/") && req.method == "GET") {
    auto rec = co_await store_.get(std::string(path.substr(16)));
    if (!rec) co_return store_error(rec.error());
    if (!rec->has_value()) co_return error(404, "not_found", "no request with that id");
    co_return reply(200, engine::status_json(**rec));
  }
  if (path == "/admin/jobs/counts" && req.method == "GET") {
    auto c = co_await store_.counts();
    if (!c) co_return store_error(c.error());
    co_return reply(200, {{"queued", c->queued},
                          {"running", c->running},
                          {"dead", c->dead},
                          {"callbacks_pending", c->callbacks_pending}});
  }
  if (path == "/admin/jobs" && req.method == "GET") {
    std::string state = "dead";
    int limit = 50;
    for (std::string_view rest = req.query; !rest.empty();) {
      const auto amp = rest.find('&');
      const auto pair = rest.substr(0, amp);
      const auto eq = pair.find('=');
      const auto key = pair.substr(0, eq);
      const auto value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      if (key == "state") state = std::string(value);
      if (key == "limit") limit = std::clamp(std::atoi(std::string(value).c_str()), 1, 1000);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    auto st = store::parse_call_state(state);
    if (!st) co_return error(422, "invalid_request", "state must be queued, running, succeeded, failed or dead");
    auto list = co_await store_.list(*st, limit);
    if (!list) co_return store_error(list.error());
    json::array jobs;
    for (const auto& r : *list) jobs.push_back(engine::status_json(r));
    co_return reply(200, {{"state", state}, {"jobs", std::move(jobs)}});
  }
  if (path == "/admin/jobs/replay-dead" && req.method == "POST") {
    auto n = co_await store_.replay("", now_ms);
    if (!n) co_return store_error(n.error());
    co_return reply(200, {{"replayed", *n}});
  }
  if (path.starts_with("/admin/jobs/") && path.ends_with("/replay") && req.method == "POST") {
    const std::string id(path.substr(12, path.size() - 12 - 7));
    auto n = co_await store_.replay(id, now_ms);
    if (!n) co_return store_error(n.error());
    if (*n == 0) co_return error(404, "not_found", "no dead letter with id '" + id + "'");
    co_return reply(200, {{"replayed", *n}, {"id", id}});
  }
  co_return error(404, "not_found", "no such admin endpoint: " + req.method + " " + req.path);
}

}  // namespace tollgate::admin
