#include "admin/admin_api.h"

#include <boost/json/serialize.hpp>

#include "admin/views.h"
#include "core/crypto.h"

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

AdminHandler::AdminHandler(const engine::RuntimeHolder& runtime, engine::StateRegistry& registry, const Clock& clock)
    : runtime_(runtime), registry_(registry), clock_(clock) {}

boost::asio::awaitable<http::ServerResponse> AdminHandler::handle(HttpRequest req, const http::RequestContext&) {
  co_return route(req);
}

http::ServerResponse AdminHandler::route(const HttpRequest& req) {
  if (req.path == "/healthz") return reply(200, {{"status", "ok"}});
  const auto rt = runtime_.get();
  const std::string_view auth = req.header("Authorization");
  const std::string& token = rt->config().admin.token;
  if (!auth.starts_with("Bearer ") || !constant_time_equals(auth.substr(7), token)) {
    return error(401, "unauthorized", "admin requests need 'Authorization: Bearer <admin token>'");
  }
  const SteadyTime now = clock_.now();
  const WallTime wall = clock_.wall();
  const std::string_view path = req.path;
  if (path == "/admin/providers" && req.method == "GET") return reply(200, providers_json(*rt, now, wall));
  if (path.starts_with("/admin/providers/")) {
    std::string_view rest = path.substr(17);
    std::string_view action;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      action = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    const engine::ProviderRuntime* p = rt->provider(rest);
    if (!p) return error(404, "not_found", "no provider named '" + std::string(rest) + "'");
    if (action.empty() && req.method == "GET") return reply(200, provider_json(*rt, *p, now, wall));
    if ((action == "disable" || action == "enable") && req.method == "POST") {
      registry_.set_disabled(p->name(), action == "disable");
      return reply(200, provider_json(*rt, *p, now, wall));
    }
  }
  return error(404, "not_found", "no such admin endpoint: " + req.method + " " + req.path);
}

}  // namespace tollgate::admin
