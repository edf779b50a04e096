// Parsers for the server, callers and capabilities sections.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/parse_sections.h"

namespace tollgate::config::detail {
namespace {

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool valid_capability_name(std::string_view s) {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size()) return false;
  if (s.find('.', dot + 1) != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
}

std::optional<ParamType> parse_type(std::string_view s) {
  if (s == "string") return ParamType::kString;
  if (s == "integer") return ParamType::kInteger;
  if (s == "number") return ParamType::kNumber;
  if (s == "boolean") return ParamType::kBoolean;
  if (s == "object") return ParamType::kObject;
  if (s == "array") return ParamType::kArray;
  return std::nullopt;
}

void parse_param(YamlReader& r, const std::string& what, const std::string& name,
                 const YAML::Node& n, ParamSpec& p) {
  p.name = name;
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what,
              {"type", "required", "format", "min_length", "max_length", "minimum", "maximum",
               "one_of", "sensitive", "idempotency_key"});
  const std::string type = r.string_field(n, "type", what, "string");
  if (auto t = parse_type(type)) {
    p.type = *t;
  } else {
    r.error(n["type"], what + ".type must be string, integer, number, boolean, object or array");
  }
  p.required = r.bool_field(n, "required", what, false);
  if (const YAML::Node& sens = n["sensitive"]; sens && sens.IsSequence()) {
    // Fields inside an object param: "code", or a dotted path "otp.value".
    p.sensitive_fields = r.string_list(n, "sensitive", what);
    if (p.type != ParamType::kObject) {
      r.error(sens, what + ".sensitive: a list of fields needs type: object (use sensitive: true otherwise)");
    }
    for (const auto& f : p.sensitive_fields) {
      if (f.empty() || f.front() == '.' || f.back() == '.' || f.find("..") != std::string::npos) {
        r.error(sens, what + ".sensitive: '" + f + "' is not a field name or dotted path");
      }
    }
  } else {
    p.sensitive = r.bool_field(n, "sensitive", what, false);
  }
  p.idempotency_key = r.bool_field(n, "idempotency_key", what, false);
  if (p.idempotency_key && !p.required) r.error(n, what + ": an idempotency_key param must be required");
  const std::string format = r.string_field(n, "format", what, "");
  if (format == "e164") {
    p.format = ParamFormat::kE164;
  } else if (format == "cn_resident_id") {
    p.format = ParamFormat::kCnResidentId;
  } else if (!format.empty()) {
    r.error(n["format"], what + ".format '" + format + "' is unknown (known: e164, cn_resident_id)");
  }
  if (n["min_length"]) p.min_length = r.int_field(n, "min_length", what, 0, 0, 1 << 24);
  if (n["max_length"]) p.max_length = r.int_field(n, "max_length", what, 0, 0, 1 << 24);
  p.minimum = r.number_field(n, "minimum", what);
  p.maximum = r.number_field(n, "maximum", what);
  p.one_of = r.string_list(n, "one_of", what);
  const bool stringy = p.type == ParamType::kString;
  if (!stringy && (p.format != ParamFormat::kNone || p.min_length || p.max_length ||
                   !p.one_of.empty())) {
    r.error(n, what + ": format, min_length, max_length and one_of apply to strings only");
  }
  const bool numeric = p.type == ParamType::kInteger || p.type == ParamType::kNumber;
  if (!numeric && (p.minimum || p.maximum)) {
    r.error(n, what + ": minimum and maximum apply to integers and numbers only");
  }
}

}  // namespace

void parse_server(YamlReader& r, const YAML::Node& n, ServerConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "server")) return;
  r.only_keys(n, "server",
              {"listen", "workers", "max_header_bytes", "max_body_bytes", "request_timeout",
               "idle_timeout", "deadline_header", "max_connections"});
  if (n["listen"]) {
    const std::string listen = r.string_field(n, "listen", "server", "");
    if (!parse_host_port(listen, out.host, out.port)) {
      r.error(n["listen"], "server.listen must be host:port, e.g. 127.0.0.1:8080");
    }
  }
  out.workers = static_cast<int>(r.int_field(n, "workers", "server", 0, 0, 256));
  out.max_connections = static_cast<int>(r.int_field(n, "max_connections", "server", out.max_connections, 1, 1 << 22));
  out.max_header_bytes = r.int_field(n, "max_header_bytes", "server", 8192, 1024, 1 << 20);
  out.max_body_bytes = r.int_field(n, "max_body_bytes", "server", 65536, 256, 64 << 20);
  out.request_timeout = r.duration_field(n, "request_timeout", "server", out.request_timeout);
  out.idle_timeout = r.duration_field(n, "idle_timeout", "server", out.idle_timeout);
  out.deadline_header = r.string_field(n, "deadline_header", "server", out.deadline_header);
}

void parse_callers(YamlReader& r, const YAML::Node& n, std::vector<CallerConfig>& out) {
  if (!n) {
    r.error(SourceMark{}, "callers: at least one caller is required");
    return;
  }
  if (!n.IsSequence()) {
    r.error(n, "callers must be a list");
    return;
  }
  for (const auto& item : n) {
    CallerConfig c;
    c.mark = mark_of(item);
    if (!r.is_map(item, "caller")) continue;
    c.name = r.string_field(item, "name", "caller", "");
    const std::string what = "caller '" + c.name + "'";
    r.only_keys(item, what, {"name", "key_sha256", "capabilities", "rate_limit", "callbacks", "traffic"});
    if (item["traffic"]) {
      c.traffic.clear();
      for (const auto& t : r.string_list(item, "traffic", what)) {
        if (auto tc = parse_traffic(t)) {
          c.traffic.push_back(*tc);
        } else {
          r.error(item["traffic"], what + ".traffic: '" + t + "' is not live, debug or stress");
        }
      }
      if (c.traffic.empty()) r.error(item["traffic"], what + ".traffic must list at least one class");
    }
    parse_callbacks(r, item["callbacks"], what + ".callbacks", c.callbacks);
    if (c.name.empty()) r.error(item, "caller.name is required");
    c.key_sha256 = r.string_field(item, "key_sha256", what, "");
    if (c.key_sha256.size() != 64 || !is_lower_hex(c.key_sha256)) {
      r.error(item["key_sha256"] ? item["key_sha256"] : item,
              what + ".key_sha256 must be 64 lower-case hex digits (tollgate hash-key KEY prints it)");
    }
    c.capabilities = r.string_list(item, "capabilities", what);
    if (const YAML::Node& rl = item["rate_limit"]; rl && r.is_map(rl, what + ".rate_limit")) {
      r.only_keys(rl, what + ".rate_limit", {"rps", "burst", "on_shared_loss"});
      if (rl["on_shared_loss"]) {
        const std::string loss = r.string_field(rl, "on_shared_loss", what + ".rate_limit", "local");
        if (loss == "local" || loss == "deny") {
          c.deny_on_shared_loss = loss == "deny";
        } else {
          r.error(rl["on_shared_loss"], what + ".rate_limit.on_shared_loss must be local or deny");
        }
      }
      auto rps = r.number_field(rl, "rps", what + ".rate_limit");
      if (!rps || *rps <= 0) {
        r.error(rl, what + ".rate_limit.rps must be a number above 0");
      } else {
        c.rps = *rps;
      }
      c.burst = static_cast<int>(r.int_field(rl, "burst", what + ".rate_limit", std::max(1, static_cast<int>(c.rps)), 1, 1000000));
    }
    if (c.capabilities.empty()) r.error(item, what + ".capabilities must list at least one");
    for (const auto& other : out) {
      if (other.name == c.name) r.error(item, "caller '" + c.name + "' is defined twice");
      if (other.key_sha256 == c.key_sha256 && !c.key_sha256.empty()) {
        r.error(item, what + " has the same key as caller '" + other.name + "'");
      }
    }
    out.push_back(std::move(c));
  }
}

void parse_capabilities(YamlReader& r, const YAML::Node& n,
                        std::map<std::string, CapabilityConfig>& out) {
  if (!n) {
    r.error(SourceMark{}, "capabilities: at least one capability is required");
    return;
  }
  if (!r.is_map(n, "capabilities")) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    CapabilityConfig c;
    c.name = it->first.as<std::string>("");
    c.mark = mark_of(it->first);
    const std::string what = "capability '" + c.name + "'";
    if (!valid_capability_name(c.name)) {
      r.error(it->first, what + ": name must be <capability>.<operation> in lower case, e.g. sms.send");
    }
    const YAML::Node body = it->second;  // a handle copy: it-> returns a temporary proxy
    if (!r.is_map(body, what)) continue;
    r.only_keys(body, what,
                {"params", "idempotent", "secret_results", "deadline", "max_deadline", "providers", "retry", "strategy", "adaptive",
                 "retry_budget", "hedge", "async"});
    if (const YAML::Node& a = body["async"]; a && r.is_map(a, what + ".async")) {
      r.only_keys(a, what + ".async", {"allow", "fallback"});
      c.async.allow = r.bool_field(a, "allow", what + ".async", false);
      c.async.fallback = r.bool_field(a, "fallback", what + ".async", false);
    }
    if (body["strategy"]) {
      const std::string s = r.string_field(body, "strategy", what, "priority");
      if (auto k = policy::parse_strategy(s)) {
        c.strategy = *k;
      } else {
        r.error(body["strategy"], what + ".strategy must be priority, weighted, cost, latency or adaptive, not '" + s + "'");
      }
    }
    if (const YAML::Node& a = body["adaptive"]; a && r.is_map(a, what + ".adaptive")) {
      r.only_keys(a, what + ".adaptive", {"success", "latency", "price"});
      if (auto v = ratio_field(r, a, "success", what + ".adaptive", 100)) c.adaptive.success = *v;
      if (auto v = ratio_field(r, a, "latency", what + ".adaptive", 100)) c.adaptive.latency = *v;
      if (auto v = ratio_field(r, a, "price", what + ".adaptive", 100)) c.adaptive.price = *v;
      if (c.adaptive.success + c.adaptive.latency + c.adaptive.price <= 0) {
        r.error(a, what + ".adaptive needs at least one weight above 0");
      }
    }
    if (const YAML::Node& b = body["retry_budget"]; b && r.is_map(b, what + ".retry_budget")) {
      r.only_keys(b, what + ".retry_budget", {"ratio", "min_per_second", "window"});
      if (auto v = ratio_field(r, b, "ratio", what + ".retry_budget", 10)) c.retry_budget.ratio = *v;
      if (auto v = ratio_field(r, b, "min_per_second", what + ".retry_budget", 1e6)) c.retry_budget.min_per_second = *v;
      c.retry_budget.window = r.duration_field(b, "window", what + ".retry_budget", c.retry_budget.window, Millis(1000));
    }
    if (const YAML::Node& h = body["hedge"]; h && r.is_map(h, what + ".hedge")) {
      r.only_keys(h, what + ".hedge", {"delay", "min_delay"});
      c.hedge.enabled = true;
      const std::string delay = r.string_field(h, "delay", what + ".hedge", "");
      if (delay == "p95") {
        c.hedge.use_p95 = true;
        c.hedge.delay = r.duration_field(h, "min_delay", what + ".hedge", Millis(20));
      } else if (auto d = parse_duration(delay)) {
        c.hedge.delay = *d;
        if (h["min_delay"]) r.error(h["min_delay"], what + ".hedge.min_delay applies to delay: p95 only");
      } else {
        r.error(h["delay"] ? h["delay"] : h, what + ".hedge.delay must be a duration or p95");
      }
    }
    c.idempotent = r.bool_field(body, "idempotent", what, false);
    c.secret_results = r.bool_field(body, "secret_results", what, false);
    c.default_deadline = r.duration_field(body, "deadline", what, c.default_deadline);
    c.max_deadline = r.duration_field(body, "max_deadline", what,
                                      std::max(c.max_deadline, c.default_deadline));
    if (c.max_deadline < c.default_deadline) {
      r.error(body["max_deadline"], what + ".max_deadline is shorter than its deadline");
    }
    c.providers = r.string_list(body, "providers", what);
    c.providers_mark = body["providers"] ? mark_of(body["providers"]) : c.mark;
    if (c.providers.empty()) r.error(it->first, what + ".providers must list at least one provider");
    if (const YAML::Node& retry = body["retry"]; retry && r.is_map(retry, what + ".retry")) {
      r.only_keys(retry, what + ".retry", {"max_attempts", "base_backoff", "max_backoff"});
      c.retry.max_attempts = static_cast<int>(r.int_field(retry, "max_attempts", what + ".retry", 3, 1, 20));
      c.retry.base_backoff = r.duration_field(retry, "base_backoff", what + ".retry", c.retry.base_backoff);
      c.retry.max_backoff = r.duration_field(retry, "max_backoff", what + ".retry", c.retry.max_backoff);
    }
    if (const YAML::Node& params = body["params"]; params && r.is_map(params, what + ".params")) {
      for (auto p = params.begin(); p != params.end(); ++p) {
        ParamSpec spec;
        const std::string pname = p->first.as<std::string>("");
        parse_param(r, what + ".params." + pname, pname, p->second, spec);
        c.params.push_back(std::move(spec));
      }
    }
    if (c.hedge.enabled && !c.idempotent) {
      r.error(body["hedge"], what + ".hedge needs idempotent: true (a hedge sends the call twice)");
    }
    if (out.count(c.name)) r.error(it->first, what + " is defined twice");
    out.emplace(c.name, std::move(c));
  }
}

}  // namespace tollgate::config::detail
