#include "events/inbound.h"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include "core/random.h"
#include "core/time_format.h"
#include "events/normalize.h"

namespace tollgate::events {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

http::ServerResponse reply(int status, std::string_view code, std::string_view message) {
  http::ServerResponse r;
  r.response.status = status;
  r.response.headers.emplace_back("Content-Type", "application/json");
  r.response.body = json::serialize(json::object{{"error", json::object{{"code", code}, {"message", message}}}});
  if (status == 503) r.response.headers.emplace_back("Retry-After", "5");
  return r;
}

// "/events/a/b/c" -> {"a", "b", "c"}; nullopt for anything else (at most 3 parts).
std::optional<std::vector<std::string_view>> route(std::string_view path) {
  constexpr std::string_view kPrefix = "/events/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return std::nullopt;  // trailing slash
  }
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  for (auto p : parts) {
    if (p.empty()) return std::nullopt;
  }
  return parts;
}

}  // namespace

InboundHandler::InboundHandler(const engine::RuntimeHolder& runtime, store::EventStore& store, const Clock& clock,
                               EventsMetrics* metrics)
    : runtime_(runtime), store_(store), clock_(clock), metrics_(metrics) {}

std::vector<std::string> InboundHandler::prepare(const std::shared_ptr<const engine::Runtime>& rt) {
  std::vector<std::string> problems;
  verifiers(rt, &problems);
  return problems;
}

std::shared_ptr<const InboundHandler::Verifiers> InboundHandler::verifiers(
    const std::shared_ptr<const engine::Runtime>& rt, std::vector<std::string>* problems) {
  std::lock_guard lock(mu_);
  if (verifiers_ && verifiers_->runtime == rt) return verifiers_;
  auto v = std::make_shared<Verifiers>();
  v->runtime = rt;
  for (const auto& [name, p] : rt->config().providers) {
    if (!p.events.enabled) continue;
    auto made = Verifier::make(p.events, !rt->config().inbound.tls_cert.empty());
    if (!made) {
      spdlog::error("events: provider '{}': {}; its events are refused", name, made.error().message);
      if (problems) problems->push_back("provider '" + name + "': " + made.error().message);
      continue;
    }
    v->by_provider.emplace(name, std::move(*made));
  }
  verifiers_ = v;
  return verifiers_;
}

asio::awaitable<http::ServerResponse> InboundHandler::handle(HttpRequest req, http::RequestContext ctx) {
  if (req.path == "/healthz") co_return reply(200, "ok", "ok");
  const auto parts = route(req.path);
  const auto rt = runtime_.get();
  const config::ProviderConfig* p = parts ? rt->config().provider((*parts)[0]) : nullptr;
  const auto refused = [&](std::string_view reason) {
    if (metrics_) metrics_->refused.with({p ? p->name : std::string("unknown"), reason}).inc();
  };
  if (!p || !p->events.enabled ||
      std::find(p->events.kinds.begin(), p->events.kinds.end(), (*parts)[1]) == p->events.kinds.end()) {
    refused("not_found");
    co_return reply(404, "not_found", "no such event endpoint");
  }
  if (req.method != "POST") {
    auto r = reply(405, "method_not_allowed", "events are POSTed");
    r.response.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  const auto vs = verifiers(rt);
  const auto v = vs->by_provider.find(p->name);
  if (v == vs->by_provider.end()) {
    refused("signature");
    co_return reply(401, "unauthorized", "the event could not be verified");
  }
  const WallTime now = clock_.wall();
  const std::string_view token = parts->size() == 3 ? (*parts)[2] : std::string_view();
  auto checked = v->second.verify(req, token, ctx.peer, now);
  if (auto* no = std::get_if<Rejected>(&checked)) {
    refused(to_label(no->why));
    spdlog::warn("events: {} {} from {} refused ({}): {}", p->name, (*parts)[1], ctx.peer, to_label(no->why),
                 no->detail);
    co_return reply(401, "unauthorized", "the event could not be verified");
  }
  auto events = normalize(p->events, p->name, std::get<Verified>(checked));
  if (!events) {
    refused("malformed");
    spdlog::warn("events: {} {} from {}: {}", p->name, (*parts)[1], ctx.peer, events.error().message);
    co_return reply(400, "invalid_event", events.error().message);
  }

  const auto& inbound = rt->config().inbound;
  const std::int64_t now_ms = unix_millis(now);
  const std::string received_at = format_iso8601_ms(now);
  std::vector<store::EventRecord> records;
  records.reserve(events->size());
  for (auto& e : *events) {
    store::EventRecord r;
    r.id = "evt_" + new_call_id(static_cast<std::uint64_t>(now_ms));
    r.provider = p->name;
    r.message_id = e.message_id;
    r.dedupe_key = e.dedupe_key;
    r.kind = e.kind;
    r.delivery = e.delivery;
    json::object doc{{"id", r.id},
                     {"provider", p->name},
                     {"provider_message_id", e.message_id},
                     {"channel", (*parts)[1]},
                     {"kind", e.kind},
                     {"status", e.status},
                     {"received_at", received_at}};
    if (!e.at.empty()) doc["at"] = e.at;
    if (!e.provider_code.empty()) doc["provider_code"] = e.provider_code;
    r.doc_json = json::serialize(doc);
    r.received_ms = now_ms;
    r.hold_until_ms = now_ms + inbound.hold.count();
    records.push_back(std::move(r));
  }
  auto stored = co_await store_.insert_events(records, inbound.max_held);
  if (!stored) {
    refused("unavailable");
    spdlog::error("events: {} {}: not stored ({}); the vendor will send them again", p->name, (*parts)[1],
                  stored.error().message);
    co_return reply(503, "unavailable", "the event could not be stored now; send it again later");
  }
  if (metrics_) {
    for (size_t i = 0; i < stored->size(); ++i) {
      const auto& s = (*stored)[i];
      const std::string kind = p->events.kind_map.empty() ? "unmapped" : records[i].kind;
      metrics_->received.with({p->name, kind, !s.inserted ? "duplicate" : s.attached ? "stored" : "held"}).inc();
    }
  }
  http::ServerResponse ack;
  ack.response.status = p->events.ack_status;
  if (!p->events.ack_body.empty()) {
    ack.response.headers.emplace_back("Content-Type", p->events.ack_content_type);
    ack.response.body = p->events.ack_body;
  }
  co_return ack;
}

}  // namespace tollgate::events
