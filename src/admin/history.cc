#include "admin/history.h"

#include <boost/json.hpp>

#include "core/time_format.h"

namespace tollgate::admin {

namespace json = boost::json;

namespace {

double number(const json::value* v) {
  if (!v) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return 0;
}

std::string text(const json::value* v) { return v && v->is_string() ? std::string(v->get_string()) : std::string(); }

std::int64_t unix_seconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

void History::sample(const json::object& overview, WallTime now) {
  const auto* caps = overview.if_contains("capabilities");
  if (!caps || !caps->is_array()) return;
  const std::int64_t secs = unix_seconds(now);
  const std::int64_t step_start = secs - secs % kStep.count();
  std::lock_guard lock(mu_);
  std::map<std::string, bool> throttled_now;
  for (const auto& cap : caps->get_array()) {
    if (!cap.is_object()) continue;
    const std::string capability = text(cap.as_object().if_contains("name"));
    const auto* routes = cap.as_object().if_contains("routes");
    if (!routes || !routes->is_array()) continue;
    for (const auto& rv : routes->get_array()) {
      if (!rv.is_object()) continue;
      const auto& r = rv.get_object();
      const std::string provider = text(r.if_contains("provider"));
      const Key key{capability, provider};
      Point p;
      p.t = step_start;
      p.share = number(r.if_contains("traffic_share"));
      const double price = number(r.if_contains("price"));
      if (const auto* h = r.if_contains("health"); h && h->is_object()) {
        const auto& ho = h->get_object();
        p.calls = static_cast<std::int64_t>(number(ho.if_contains("calls")));
        p.successes = static_cast<std::int64_t>(number(ho.if_contains("successes")));
        if (const auto* l = ho.if_contains("latency_ms"); l && l->is_object()) {
          p.p50 = number(l->get_object().if_contains("p50"));
          p.p95 = number(l->get_object().if_contains("p95"));
        }
        if (const auto* e = ho.if_contains("errors"); e && e->is_object()) p.errors = e->get_object();
      }
      if (p.successes > 0) p.cost_per_success = price * static_cast<double>(p.calls) / static_cast<double>(p.successes);
      auto& points = series_[key];
      if (!points.empty() && points.back().t == step_start) {
        points.back() = std::move(p);
      } else {
        points.push_back(std::move(p));
      }

      // Breaker transitions of this route.
      std::string breaker = "closed", reason;
      if (const auto* b = r.if_contains("breaker"); b && b->is_object()) {
        breaker = text(b->get_object().if_contains("state"));
        reason = text(b->get_object().if_contains("reason"));
      }
      auto it = last_.try_emplace(key).first;
      if (it->second.breaker != breaker) {
        // A route seen for the first time in a state other than closed is news too.
        timeline_.push_back(Event{now, "breaker", provider, capability, breaker,
                                  breaker == "closed" ? std::string() : reason});
        it->second.breaker = breaker;
      }
      if (number(r.if_contains("throttled_for_ms")) > 0) throttled_now[provider] = true;
      else throttled_now.try_emplace(provider, false);
    }
  }
  // Throttling is per provider: one start and one end however many capabilities it serves.
  for (const auto& [provider, on] : throttled_now) {
    bool& was = throttled_[provider];
    if (was != on) {
      timeline_.push_back(Event{now, "throttled", provider, "", on ? "start" : "end",
                                on ? "the provider asked tollgate to slow down" : ""});
      was = on;
    }
  }
  trim(now);
}

void History::record(Event e) {
  std::lock_guard lock(mu_);
  timeline_.push_back(std::move(e));
  while (timeline_.size() > kMaxTimeline) timeline_.pop_front();
}

void History::trim(WallTime now) {
  const std::int64_t oldest = unix_seconds(now) - std::chrono::duration_cast<std::chrono::seconds>(kSpan).count();
  for (auto it = series_.begin(); it != series_.end();) {
    auto& points = it->second;
    while (!points.empty() && points.front().t < oldest) points.pop_front();
    it = points.empty() ? series_.erase(it) : std::next(it);
  }
  while (!timeline_.empty() && (timeline_.size() > kMaxTimeline || timeline_.front().at < now - kSpan)) {
    timeline_.pop_front();
  }
}

json::object History::json() const {
  std::lock_guard lock(mu_);
  json::array series;
  for (const auto& [key, points] : series_) {
    json::array pts;
    pts.reserve(points.size());
    for (const auto& p : points) {
      json::object o{{"t", p.t},         {"calls", p.calls}, {"successes", p.successes}, {"share", p.share},
                     {"p50_ms", p.p50}, {"p95_ms", p.p95},  {"errors", p.errors}};
      if (p.cost_per_success >= 0) o["cost_per_success"] = p.cost_per_success;
      pts.push_back(std::move(o));
    }
    series.push_back(json::object{{"capability", key.first}, {"provider", key.second}, {"points", std::move(pts)}});
  }
  json::array timeline;
  for (const auto& e : timeline_) {
    json::object o{{"t", format_iso8601_ms(e.at)}, {"kind", e.kind}, {"provider", e.provider}};
    if (!e.capability.empty()) o["capability"] = e.capability;
    if (!e.state.empty()) o["state"] = e.state;
    if (!e.reason.empty()) o["reason"] = e.reason;
    timeline.push_back(std::move(o));
  }
  return json::object{{"step_s", kStep.count()}, {"series", std::move(series)}, {"timeline", std::move(timeline)}};
}

}  // namespace tollgate::admin
