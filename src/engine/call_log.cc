#include "engine/call_log.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <optional>
#include <string>

#include "core/json_text.h"
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

void append_masked_value(std::string& out, const json::value& v) {
  if (v.is_string()) {
    out.push_back('"');
    json_escape_to(out, mask_value(v.get_string()));
    out.push_back('"');
  } else {
    out += "\"****\"";
  }
}

// Writes `v` as JSON with the fields at `paths` (dotted, relative to `v`; an
// empty path is `v` itself) masked; arrays apply the paths to each element.
// Written as it goes: the caller's params are never copied to be masked.
void append_masked(std::string& out, const json::value& v, const std::vector<std::string_view>& paths) {
  for (const auto p : paths) {
    if (p.empty()) return append_masked_value(out, v);
  }
  if (v.is_array()) {
    out.push_back('[');
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out.push_back(',');
      first = false;
      append_masked(out, item, paths);
    }
    out.push_back(']');
    return;
  }
  if (!v.is_object()) return append_json(out, v);
  out.push_back('{');
  bool first = true;
  std::vector<std::string_view> below;
  for (const auto& kv : v.get_object()) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    json_escape_to(out, kv.key());
    out += "\":";
    below.clear();
    for (const auto p : paths) {
      const auto dot = p.find('.');
      if (p.substr(0, dot) != kv.key()) continue;
      below.push_back(dot == std::string_view::npos ? std::string_view() : p.substr(dot + 1));
    }
    if (below.empty()) {
      append_json(out, kv.value());
    } else {
      append_masked(out, kv.value(), below);
    }
  }
  out.push_back('}');
}

}  // namespace

void append_masked_params(std::string& out, const json::object& params, const config::CapabilityConfig& cap) {
  JsonObjectWriter w(out);
  for (const auto& kv : params) {
    const auto* spec = cap.param(kv.key());
    if (spec && spec->sensitive) {
      w.string(kv.key(), kv.value().is_string() ? mask_value(kv.value().get_string()) : "****");
    } else if (spec && !spec->sensitive_fields.empty()) {
      const std::vector<std::string_view> paths(spec->sensitive_fields.begin(), spec->sensitive_fields.end());
      append_masked(w.member(kv.key()), kv.value(), paths);
    } else {
      w.value(kv.key(), kv.value());
    }
  }
}

namespace {
std::atomic<bool> g_json{true};

// One line of the call log, written field by field as a JSON object or as
// key=value text (strings bare, other values as JSON; no time or level, which
// the text pattern prints).
class Line {
 public:
  Line(std::string& out, bool json) : out_(out), json_(json) {
    if (json_) w_.emplace(out_);
  }
  void string(std::string_view key, std::string_view v) {
    if (json_) {
      w_->string(key, v);
    } else if (key != "time" && key != "level") {
      start(key) += v;
    }
  }
  void number(std::string_view key, std::int64_t v) {
    if (json_) {
      w_->number(key, v);
    } else {
      start(key) += std::to_string(v);
    }
  }
  // The caller appends the value's JSON text to the string returned.
  std::string& json_member(std::string_view key) { return json_ ? w_->member(key) : start(key); }
  void close() {
    if (w_) w_->close();
  }

 private:
  std::string& start(std::string_view key) {
    if (!out_.empty()) out_.push_back(' ');
    out_ += key;
    out_.push_back('=');
    return out_;
  }
  std::string& out_;
  bool json_;
  std::optional<JsonObjectWriter> w_;
};
}  // namespace

void set_call_log_json(bool json) { g_json.store(json); }

void log_call(const CallLogEntry& e) {
  static const std::shared_ptr<spdlog::logger> logger = spdlog::get("calls");
  if (!logger || !e.call) return;
  const auto level = e.error && http_status(*e.error) >= 500 ? spdlog::level::warn : spdlog::level::info;
  if (!logger->should_log(level)) return;
  const Call& c = *e.call;
  const auto [capability, operation] = split_capability(c.capability);
  std::string text;
  text.reserve(512);
  Line line(text, g_json.load());
  line.string("time", format_iso8601_ms(std::chrono::system_clock::now()));
  line.string("level", level == spdlog::level::warn ? "warn" : "info");
  line.string("msg", e.msg);
  line.string("id", c.id);
  line.string("caller", c.caller);
  line.string("capability", capability);
  line.string("operation", operation);
  line.string("traffic", to_string(c.traffic));
  line.string("outcome", e.outcome);
  line.number("status", e.status);
  {
    // Each provider tried, once, in the order first tried.
    std::string& out = line.json_member("providers");
    out.push_back('[');
    if (e.attempts) {
      const auto& attempts = *e.attempts;
      for (size_t i = 0; i < attempts.size(); ++i) {
        const std::string& name = attempts[i].provider;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; ++j) seen = attempts[j].provider == name;
        if (seen) continue;
        if (out.back() != '[') out.push_back(',');
        out.push_back('"');
        json_escape_to(out, name);
        out.push_back('"');
      }
    }
    out.push_back(']');
  }
  line.number("attempts", e.attempts ? static_cast<std::int64_t>(e.attempts->size()) : 0);
  line.number("duration_ms", e.duration.count());
  line.string("trace_id", c.trace.trace_id);
  if (e.run > 0) line.number("run", e.run);
  if (e.error) {
    line.string("error_class", to_string(e.error->cls));
    if (!e.error->provider_code.empty()) line.string("provider_code", e.error->provider_code);
    if (!e.error->detail.empty()) line.string("detail", e.error->detail);
  }
  if (e.capability) append_masked_params(line.json_member("params"), c.params, *e.capability);
  line.close();
  logger->log(level, spdlog::string_view_t(text.data(), text.size()));  // as it is: no format pass
}

}  // namespace tollgate::engine
