#pragma once
// AdminHandler: the operators' API on its own listener (127.0.0.1 by default),
// every request authenticated with the admin bearer token. See docs/api.md.
//   GET  /admin/providers                 health, breakers, limits, traffic share
//   GET  /admin/providers/{name}
//   POST /admin/providers/{name}/disable  out of rotation at once (kept across reloads)
//   POST /admin/providers/{name}/enable
//   GET  /healthz                          (no token needed)
// Runs on the worker that owns the connection; reads shared state only.

#include "engine/api.h"
#include "engine/state.h"
#include "http/server.h"

namespace tollgate::admin {

class AdminHandler final : public http::Handler {
 public:
  AdminHandler(const engine::RuntimeHolder& runtime, engine::StateRegistry& registry, const Clock& clock);
  boost::asio::awaitable<http::ServerResponse> handle(HttpRequest req, const http::RequestContext& ctx) override;

 private:
  http::ServerResponse route(const HttpRequest& req);

  const engine::RuntimeHolder& runtime_;
  engine::StateRegistry& registry_;
  const Clock& clock_;
};

}  // namespace tollgate::admin
