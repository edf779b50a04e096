#pragma once
// ApiHandler: the caller-facing HTTP API (docs/api.md). Authenticates the caller,
// resolves the capability, parses and validates the params, computes the
// deadline, runs the Engine and renders the unified answer. Called on the worker
// thread that owns the connection; uses that worker's http::Client.

#include <atomic>
#include <memory>
#include <vector>

#include "engine/engine.h"
#include "engine/runtime.h"
#include "http/client.h"
#include "http/server.h"

namespace tollgate::engine {

// The current runtime snapshot; readers get a shared_ptr that keeps it alive for
// the whole call. Swapped atomically on reload.
class RuntimeHolder {
 public:
  explicit RuntimeHolder(std::shared_ptr<const Runtime> rt) : rt_(std::move(rt)) {}
  std::shared_ptr<const Runtime> get() const { return rt_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const Runtime> rt) { rt_.store(std::move(rt), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const Runtime>> rt_;
};

class ApiHandler final : public http::Handler {
 public:
  // `clients[i]` belongs to worker i.
  ApiHandler(const RuntimeHolder& runtime, const Clock& clock, std::vector<http::Client*> clients);

  boost::asio::awaitable<http::ServerResponse> handle(HttpRequest req, const http::RequestContext& ctx) override;

 private:
  boost::asio::awaitable<http::ServerResponse> call(HttpRequest& req, int worker, std::string_view capability);

  const RuntimeHolder& runtime_;
  const Clock& clock_;
  Engine engine_;
  std::vector<http::Client*> clients_;
};

}  // namespace tollgate::engine
