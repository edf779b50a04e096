// The admin API through its seams (one io_context standing in for one worker).
#include "admin/admin_api.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

#include "config/loader.h"
#include "tests/mocks/fake_transport.h"
#include "tests/mocks/test_runtime.h"
#include "tests/mocks/memory_job_store.h"
#include "tests/mocks/sim_time.h"

namespace tollgate::admin {
namespace {

constexpr const char* kConfig = R"(admin: {listen: 127.0.0.1:0, token: admin-token-0123}
callers:
  - name: shop
    key_sha256: 62af8704764faf8ea82fc61ce9c4c3908b6cb97d463a634e9e587d7c885db0ef
    capabilities: [sms.send]
capabilities:
  sms.send:
    providers: [alpha]
    params: {to: {type: string}}
providers:
  alpha:
    base_url: http://alpha.test
    operations: {sms.send: {request: {path: /send}}}
)";

// Defect 16: a reload (YAML, key files, TLS contexts: blocking work) used to run
// on the worker that received the admin request, stalling every connection of
// that worker. Here the reload is held open; the same worker keeps answering
// other requests until it ends, then the reload's own answer arrives.
TEST(Admin, AReloadInProgressDoesNotStallItsWorker) {
  engine::StateRegistry registry;
  auto rt = testing::test_runtime(kConfig, registry, "admin.yaml");
  ASSERT_TRUE(rt);
  engine::RuntimeHolder holder(rt);
  testing::MemoryJobStore store;
  testing::SimTime time;
  std::function<void(AdminHandler::ReloadOutcome)> pending;  // the reload, still running "elsewhere"
  AdminHandler admin(holder, registry, store, time, nullptr,
                     [&](std::function<void(AdminHandler::ReloadOutcome)> done) { pending = std::move(done); });

  boost::asio::io_context worker;
  auto request = [&](const std::string& method, const std::string& path, std::optional<HttpResponse>& out) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.headers = {{"Authorization", "Bearer admin-token-0123"}};
    boost::asio::co_spawn(worker, admin.handle(std::move(req), http::RequestContext{}),
                          [&out](std::exception_ptr e, http::ServerResponse r) {
                            if (e) std::rethrow_exception(e);
                            out = std::move(r.response);
                          });
  };
  std::optional<HttpResponse> reloaded, providers, health;
  request("POST", "/admin/config/reload", reloaded);
  worker.poll();
  ASSERT_TRUE(pending) << "the reload was not handed off";
  EXPECT_FALSE(reloaded.has_value());
  request("GET", "/admin/providers", providers);
  request("GET", "/healthz", health);
  worker.poll();
  ASSERT_TRUE(providers.has_value()) << "the worker stalled behind the reload";
  EXPECT_EQ(providers->status, 200);
  ASSERT_TRUE(health.has_value());
  EXPECT_FALSE(reloaded.has_value());
  // The reload ends on its own thread; its answer is posted back to the worker.
  std::thread([&] { pending(AdminHandler::ReloadOutcome{true, {}}); }).join();
  worker.restart();
  worker.poll();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->status, 200);
}

}  // namespace
}  // namespace tollgate::admin
