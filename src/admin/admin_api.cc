#include "admin/admin_api.h"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "admin/dashboard.h"
#include "admin/recordings.h"
#include "admin/routing_metrics.h"
#include "admin/views.h"
#include "core/crypto.h"
#include "core/time_format.h"
#include "engine/outcome_json.h"

namespace tollgate::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

http::ServerResponse reply(int status, const json::object& body) {
  return http::ServerResponse{HttpResponse{status, {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
                                           json::serialize(body)}};
}

http::ServerResponse error(int status, std::string_view code, std::string message) {
  // The caller API's error object (docs/openapi.yaml): nothing here is worth retrying as is.
  return reply(status,
               json::object{{"error", {{"code", code}, {"message", std::move(message)}, {"retryable", false}}}});
}

// One parameter of a query string (no percent-decoding: the admin API's values are plain words).
std::string_view query_value(std::string_view query, std::string_view name) {
  for (std::string_view rest = query; !rest.empty();) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return {};
}

// The operator's reason for a disable or enable: {"reason": "..."} (optional),
// at most 200 printable characters. nullopt: the body is not such an object.
std::optional<std::string> reason_of(const std::string& body) {
  if (body.empty()) return std::string();
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* r = v.get_object().if_contains("reason");
  if (!r) return std::string();
  if (!r->is_string() || r->get_string().size() > 200) return std::nullopt;
  std::string reason(r->get_string());
  for (const char c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
  }
  return reason;
}

}  // namespace

AdminHandler::AdminHandler(const engine::RuntimeHolder& runtime, engine::StateRegistry& registry,
                           store::JobStore& store, const Clock& clock, metrics::Registry* metrics, Reload reload,
                           cluster::Cluster* cluster)
    : runtime_(runtime), registry_(registry), store_(store), clock_(clock), metrics_(metrics),
      reload_(std::move(reload)),
      cluster_(cluster) {}

boost::asio::awaitable<http::ServerResponse> AdminHandler::metrics_text() {
  std::string text = metrics_ ? metrics_->render() : std::string();
  metrics::SampleWriter w(text);
  const auto rt = runtime_.get();
  collect_routing(*rt, clock_.now(), clock_.wall(), w);
  if (auto c = co_await store_.counts()) {
    w.family("tollgate_jobs", "Async jobs by state.", metrics::Type::kGauge);
    w.sample("tollgate_jobs", {{"state", "queued"}}, static_cast<double>(c->queued));
    w.sample("tollgate_jobs", {{"state", "running"}}, static_cast<double>(c->running));
    w.sample("tollgate_jobs", {{"state", "dead"}}, static_cast<double>(c->dead));
    w.family("tollgate_callbacks_pending", "Callbacks waiting to be delivered.", metrics::Type::kGauge);
    w.sample("tollgate_callbacks_pending", {}, static_cast<double>(c->callbacks_pending));
  }
  co_return http::ServerResponse{HttpResponse{200, {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}},
                                              std::move(text)}};
}

boost::asio::awaitable<http::ServerResponse> AdminHandler::handle(HttpRequest req, http::RequestContext) {
  if (req.path == "/healthz") co_return reply(200, {{"status", "ok"}});
  if (req.path == "/readyz") {
    // Ready when a config is loaded and the store answers.
    auto c = co_await store_.counts();
    if (!c) co_return error(503, "unavailable", "the store does not answer: " + c.error().message);
    co_return reply(200, {{"status", "ready"}});
  }
  if (req.path == "/metrics" && req.method == "GET") co_return co_await metrics_text();
  if (req.path == "/dashboard" || req.path == "/") {
    co_return http::ServerResponse{HttpResponse{200,
                                                {{"Content-Type", "text/html; charset=utf-8"},
                                                 {"Cache-Control", "no-store"},
                                                 {"Content-Security-Policy",
                                                  "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"}},
                                                std::string(dashboard_html())}};
  }
  const auto rt = runtime_.get();
  const std::string_view auth = req.header("Authorization");
  if (!auth.starts_with("Bearer ") || !constant_time_equals(auth.substr(7), rt->config().admin.token)) {
    co_return error(401, "unauthorized", "admin requests need 'Authorization: Bearer <admin token>'");
  }
  if (req.path.starts_with("/admin/providers")) co_return co_await providers(req, *rt);
  if (req.path == "/admin/cluster" && req.method == "GET") co_return co_await cluster_view(*rt);
  if (req.path == "/admin/overview" && req.method == "GET") {
    co_return co_await overview(*rt, query_value(req.query, "history") == "1");
  }
  if (req.path == "/admin/config/reload" && req.method == "POST") {
    if (!reload_) co_return error(404, "not_found", "reload is not available");
    // The reload runs on its own thread; this worker keeps serving meanwhile.
    const auto ex = co_await asio::this_coro::executor;
    const ReloadOutcome r = co_await asio::async_initiate<decltype(asio::use_awaitable), void(ReloadOutcome)>(
        [this, ex](auto handler) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          reload_([shared, ex](ReloadOutcome out) {
            asio::post(ex, [shared, out = std::move(out)]() mutable { (*shared)(std::move(out)); });
          });
        },
        asio::use_awaitable);
    if (!r.applied) {
      json::array problems;
      for (const auto& p : r.problems) problems.push_back(json::value(p));
      co_return reply(422, {{"error", {{"code", "invalid_request"},
                                       {"message", "the config file has problems; the previous config keeps serving"},
                                       {"retryable", false}}},
                            {"problems", std::move(problems)}});
    }
    co_return reply(200, {{"reloaded", true}});
  }
  if (req.path.starts_with("/admin/jobs") || req.path.starts_with("/admin/requests/")) co_return co_await jobs(req);
  if (req.path == "/admin/recordings" && req.method == "GET") {
    co_return reply(200, export_recordings(*rt, clock_.now()));
  }
  if (req.path == "/admin/recordings" && req.method == "POST") {
    boost::system::error_code ec;
    const json::value doc = json::parse(req.body, ec);
    if (ec) co_return error(400, "invalid_request", "body is not JSON: " + ec.message());
    auto imported = import_recordings(*rt, doc);
    if (!imported) co_return error(422, "invalid_request", imported.error().message);
    co_return reply(200, {{"imported", *imported}});
  }
  co_return error(404, "not_found", "no such admin endpoint: " + req.method + " " + req.path);
}

asio::awaitable<http::ServerResponse> AdminHandler::providers(const HttpRequest& req, const engine::Runtime& rt) {
  const SteadyTime now = clock_.now();
  const WallTime wall = clock_.wall();
  const std::string_view path = req.path;
  if (path == "/admin/providers" && req.method == "GET") co_return reply(200, providers_json(rt, now, wall));
  if (path.starts_with("/admin/providers/")) {
    std::string_view rest = path.substr(17);
    std::string_view action;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      action = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    const engine::ProviderRuntime* p = rt.provider(rest);
    if (!p) co_return error(404, "not_found", "no provider named '" + std::string(rest) + "'");
    if (action.empty() && req.method == "GET") co_return reply(200, provider_json(rt, *p, now, wall));
    if ((action == "disable" || action == "enable") && req.method == "POST") {
      const bool disable = action == "disable";
      const auto reason = reason_of(req.body);
      if (!reason) co_return error(400, "bad_request", "the body must be {\"reason\": \"...\"}: at most 200 printable characters");
      if (cluster_) {
        // Every instance, and after restarts: the cluster's set is the truth.
        auto shared = co_await cluster_->set_disabled(p->name(), disable);
        if (!shared) {
          co_return error(503, "unavailable",
                          "the cluster's shared state is unreachable: nothing was changed (" + shared.error().message + ")");
        }
      }
      registry_.set_disabled(p->name(), disable);
      if (history_) history_->record({wall, disable ? "disabled" : "enabled", p->name(), "", "", *reason});
      spdlog::info("provider {} {} by the admin API{}{}", p->name(), disable ? "disabled" : "enabled",
                   reason->empty() ? "" : ": ", *reason);
      co_return reply(200, provider_json(rt, *p, now, wall));
    }
  }
  co_return error(404, "not_found", "no such admin endpoint: " + req.method + " " + req.path);
}

asio::awaitable<http::ServerResponse> AdminHandler::cluster_view(const engine::Runtime& rt) {
  json::object out;
  if (auto c = co_await store_.counts()) {
    out["jobs"] = json::object{{"queued", c->queued},
                               {"running", c->running},
                               {"dead", c->dead},
                               {"callbacks_pending", c->callbacks_pending}};
  }
  if (!cluster_) {
    out["shared"] = false;
    co_return reply(200, out);
  }
  out["shared"] = true;
  out["redis"] = json::object{{"connected", cluster_->connected()},
                              {"limits", cluster_->limits().healthy() ? "shared" : "local fallback"},
                              {"failures", cluster_->limits().failures()}};
  json::array instances;
  if (auto list = co_await cluster_->instances()) {
    for (const auto& i : *list) {
      instances.push_back(json::object{{"id", i.id},
                                       {"version", i.version},
                                       {"started_at", format_iso8601_ms(WallTime(std::chrono::milliseconds(i.started_ms)))},
                                       {"seen_at", format_iso8601_ms(WallTime(std::chrono::milliseconds(i.seen_ms)))}});
    }
  }
  out["instances"] = std::move(instances);
  // Quota usage as the cluster counts it (the local view counts only this instance).
  std::vector<std::string> keys;
  std::vector<std::pair<std::string, std::string>> labels;
  const auto wall = clock_.wall();
  for (const auto& [name, p] : rt.providers()) {
    const auto& l = p.config().limits;
    const auto day = std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(wall + l.quota_utc_offset)};
    char d[16], m[16];
    std::snprintf(d, sizeof d, "%04d-%02u-%02u", static_cast<int>(day.year()), static_cast<unsigned>(day.month()),
                  static_cast<unsigned>(day.day()));
    std::snprintf(m, sizeof m, "%04d-%02u", static_cast<int>(day.year()), static_cast<unsigned>(day.month()));
    if (l.daily_quota) {
      keys.push_back("quota:p:" + name + ":" + d);
      labels.emplace_back(name, "day");
    }
    if (l.monthly_quota) {
      keys.push_back("quota:p:" + name + ":" + m);
      labels.emplace_back(name, "month");
    }
  }
  json::array quotas;
  if (auto values = co_await cluster_->values(keys)) {
    for (size_t i = 0; i < values->size(); ++i) {
      const auto& l = rt.provider(labels[i].first)->config().limits;
      const auto used = (*values)[i].second.empty() ? 0LL : std::atoll((*values)[i].second.c_str());
      quotas.push_back(json::object{{"provider", labels[i].first},
                                    {"period", labels[i].second},
                                    {"used", used},
                                    {"limit", labels[i].second == "day" ? l.daily_quota : l.monthly_quota}});
    }
  }
  out["quotas"] = std::move(quotas);
  co_return reply(200, out);
}

boost::asio::awaitable<http::ServerResponse> AdminHandler::overview(const engine::Runtime& rt, bool with_history) {
  json::object out = overview_json(rt, clock_.now(), clock_.wall());
  if (with_history && history_) out["history"] = history_->json();
  if (queue_status_) out["queues"] = queue_status_();
  if (auto c = co_await store_.counts()) {
    out["jobs"] = json::object{{"queued", c->queued},
                               {"running", c->running},
                               {"dead", c->dead},
                               {"callbacks_pending", c->callbacks_pending}};
  }
  co_return reply(200, out);
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
    if (const auto v = query_value(req.query, "state"); !v.empty()) state = std::string(v);
    if (const auto v = query_value(req.query, "limit"); !v.empty()) {
      limit = std::clamp(std::atoi(std::string(v).c_str()), 1, 1000);
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
