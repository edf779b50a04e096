#include "engine/call_log.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <spdlog/spdlog.h>

#include "core/time_format.h"
#include "engine/metrics.h"

namespace tollgate::engine {

namespace json = boost::json;

std::string mask_value(std::string_view v) {
  if (v.size() >= 12) return std::string(v.substr(0, 6)) + "****" + std::string(v.substr(v.size() - 4));
  if (v.size() >= 8) return std::string(v.substr(0, 3)) + "****" + std::string(v.substr(v.size() - 2));
  return "****";
}

namespace {

json::value masked(const json::value& v) {
  return v.is_string() ? json::value(mask_value(v.get_string())) : json::value("****");
}

// Masks the field at `path` (dotted) inside `v`; arrays apply it to each element.
void mask_path(json::value& v, std::string_view path) {
  if (v.is_array()) {
    for (auto& item : v.get_array()) mask_path(item, path);
    return;
  }
  if (!v.is_object()) return;
  const auto dot = path.find('.');
  auto* child = v.get_object().if_contains(path.substr(0, dot));
  if (!child) return;
  if (dot == std::string_view::npos) {
    *child = masked(*child);
  } else {
    mask_path(*child, path.substr(dot + 1));
  }
}

}  // namespace

std::string masked_params(const json::object& params, const config::CapabilityConfig& cap) {
  json::object out;
  for (const auto& kv : params) {
    const auto* spec = cap.param(kv.key());
    if (spec && spec->sensitive) {
      out[kv.key()] = masked(kv.value());
    } else if (spec && !spec->sensitive_fields.empty()) {
      json::value copy = kv.value();
      for (const auto& path : spec->sensitive_fields) mask_path(copy, path);
      out[kv.key()] = std::move(copy);
    } else {
      out[kv.key()] = kv.value();
    }
  }
  return json::serialize(out);
}

namespace {
std::atomic<bool> g_json{true};

std::string as_text(const json::object& line) {
  std::string out;
  for (const auto& kv : line) {
    if (kv.key() == "time" || kv.key() == "level") continue;
    if (!out.empty()) out.push_back(' ');
    out += kv.key();
    out.push_back('=');
    out += kv.value().is_string() ? std::string(kv.value().get_string()) : json::serialize(kv.value());
  }
  return out;
}
}  // namespace

void set_call_log_json(bool json) { g_json.store(json); }

void log_call(const CallLogEntry& e) {
  static const std::shared_ptr<spdlog::logger> logger = spdlog::get("calls");
  if (!logger || !e.call) return;
  const auto level = e.error && http_status(*e.error) >= 500 ? spdlog::level::warn : spdlog::level::info;
  if (!logger->should_log(level)) return;
  const Call& c = *e.call;
  const auto [capability, operation] = split_capability(c.capability);
  json::array providers;
  std::string codes;
  if (e.attempts) {
    for (const auto& a : *e.attempts) {
      if (std::find(providers.begin(), providers.end(), json::value(a.provider)) == providers.end()) {
        providers.push_back(json::value(a.provider));
      }
    }
  }
  json::object line{{"time", format_iso8601_ms(std::chrono::system_clock::now())},
                    {"level", level == spdlog::level::warn ? "warn" : "info"},
                    {"msg", e.msg},
                    {"id", c.id},
                    {"caller", c.caller},
                    {"capability", capability},
                    {"operation", operation},
                    {"traffic", to_string(c.traffic)},
                    {"outcome", e.outcome},
                    {"status", e.status},
                    {"providers", std::move(providers)},
                    {"attempts", e.attempts ? e.attempts->size() : 0},
                    {"duration_ms", e.duration.count()},
                    {"trace_id", c.trace.trace_id}};
  if (e.run > 0) line["run"] = e.run;
  if (e.error) {
    line["error_class"] = to_string(e.error->cls);
    if (!e.error->provider_code.empty()) line["provider_code"] = e.error->provider_code;
    if (!e.error->detail.empty()) line["detail"] = e.error->detail;
  }
  if (e.capability) {
    boost::system::error_code ec;
    line["params"] = json::parse(masked_params(c.params, *e.capability), ec);
  }
  logger->log(level, "{}", g_json.load() ? json::serialize(line) : as_text(line));
}

}  // namespace tollgate::engine
