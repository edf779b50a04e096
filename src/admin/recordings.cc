#include "admin/recordings.h"

#include <boost/json.hpp>

#include <algorithm>

#include "shadow/recorder.h"

namespace tollgate::admin {

namespace json = boost::json;

json::object export_recordings(const engine::Runtime& rt, SteadyTime now) {
  std::vector<std::string> caps;
  for (const auto& [name, c] : rt.capabilities()) caps.push_back(name);
  std::sort(caps.begin(), caps.end());
  json::array list;
  for (const auto& name : caps) {
    for (const auto& c : rt.capability(name)->candidates) {
      const auto snap = c.route->recorder.snapshot(now);
      list.push_back(json::object{{"provider", c.provider->name()},
                                  {"capability", name},
                                  {"samples", snap.samples()},
                                  {"recording", shadow::to_json(snap)}});
    }
  }
  return json::object{{"version", 1}, {"recordings", std::move(list)}};
}

Result<int> import_recordings(const engine::Runtime& rt, const json::value& doc) {
  auto bad = [](std::string m) { return Error::make(ErrorClass::kInvalidRequest, std::move(m)); };
  if (!doc.is_object() || !doc.as_object().contains("recordings") || !doc.at("recordings").is_array()) {
    return bad("body must be {\"recordings\": [...]} as GET /admin/recordings returns it");
  }
  std::vector<std::pair<engine::RouteState*, shadow::Recording>> ready;
  for (const auto& item : doc.at("recordings").as_array()) {
    if (!item.is_object()) return bad("each recording must be an object");
    const auto& o = item.as_object();
    const auto* p = o.if_contains("provider");
    const auto* c = o.if_contains("capability");
    const auto* r = o.if_contains("recording");
    if (!p || !p->is_string() || !c || !c->is_string() || !r) {
      return bad("each recording needs provider, capability and recording");
    }
    const auto* cap = rt.capability(c->as_string());
    const int idx = cap ? cap->candidate_index(p->as_string()) : -1;
    if (idx < 0) {
      return bad("no provider '" + std::string(p->as_string()) + "' serves '" + std::string(c->as_string()) + "'");
    }
    auto rec = shadow::from_json(*r);
    if (!rec) return bad(std::string(p->as_string()) + "/" + std::string(c->as_string()) + ": " + rec.error().message);
    ready.emplace_back(cap->candidates[static_cast<size_t>(idx)].route.get(), std::move(*rec));
  }
  for (auto& [route, rec] : ready) route->recorder.import(rec);
  return static_cast<int>(ready.size());
}

}  // namespace tollgate::admin
