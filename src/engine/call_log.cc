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

void append_masked_params(std::string& out, const json::object& params, const config::CapabilityConfig& cap) {
  JsonObjectWriter w(out);
  for (const auto& kv : params) {
    const auto* spec = cap.param(kv.key());
    if (spec && spec->sensitive) {
      w.string(kv.key(), kv.value().is_string() ? mask_value(kv.value().get_string()) : "****");
    } else if (spec && !spec->sensitive_fields.empty()) {
      json::value copy = kv.value();
      for (const auto& path : spec->sensitive_fields) mask_path(copy, path);
      w.value(kv.key(), copy);
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
  logger->log(level, "{}", text);
}

}  // namespace tollgate::engine
