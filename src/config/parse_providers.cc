// Parser for the providers section: endpoints, credentials, signer, and each
// operation's request template and response mapping.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "config/parse_sections.h"

namespace tollgate::config::detail {
namespace {

bool parse_base_url(const std::string& url, ProviderConfig& p) {
  auto u = parse_http_url(url, UrlRules{.allow_userinfo = false, .allow_path = true, .allow_query = false,
                                        .what = "base_url"});
  if (!u) return false;
  p.scheme = u->scheme;
  p.host = u->host;
  p.port = u->port;
  p.base_path = u->path;
  while (!p.base_path.empty() && p.base_path.back() == '/') p.base_path.pop_back();
  return true;
}

// Whether a plain YAML scalar reads as a JSON number, boolean or null.
bool is_json_literal(const std::string& s) {
  if (s == "true" || s == "false" || s == "null") return true;
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && s.find_first_of("xXnN") == std::string::npos;
}

void parse_json_template(YamlReader& r, const YAML::Node& n, const std::string& what,
                         JsonTemplate& out) {
  out.mark = mark_of(n);
  if (n.IsMap()) {
    out.kind = JsonTemplate::Kind::kObject;
    for (auto it = n.begin(); it != n.end(); ++it) {
      JsonTemplate child;
      const std::string key = it->first.as<std::string>("");
      parse_json_template(r, it->second, what + "." + key, child);
      out.members.push_back(JsonTemplateMember{key, std::move(child)});
    }
  } else if (n.IsSequence()) {
    out.kind = JsonTemplate::Kind::kArray;
    for (const auto& item : n) {
      JsonTemplate child;
      parse_json_template(r, item, what + "[]", child);
      out.items.push_back(std::move(child));
    }
  } else if (n.IsNull()) {
    out.kind = JsonTemplate::Kind::kLiteral;
    out.text = "null";
  } else {
    auto v = r.text(n, what);
    out.text = v ? *v : "";
    // An unquoted YAML scalar that reads as a number/bool/null keeps that type.
    out.kind = (n.Tag() == "?" && is_json_literal(out.text)) ? JsonTemplate::Kind::kLiteral
                                                              : JsonTemplate::Kind::kString;
  }
}

void parse_pairs(YamlReader& r, const YAML::Node& n, const std::string& what,
                 std::vector<std::pair<std::string, TemplateText>>& out) {
  if (!n) return;
  if (!r.is_map(n, what)) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.as<std::string>("");
    auto v = r.text(it->second, what + "." + key);
    out.emplace_back(key, TemplateText{v ? *v : "", mark_of(it->second)});
  }
}

void parse_request(YamlReader& r, const YAML::Node& n, const std::string& what,
                   RequestTemplateConfig& out) {
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what, {"method", "path", "query", "headers", "body"});
  out.method = r.string_field(n, "method", what, "POST");
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (std::find(std::begin(kMethods), std::end(kMethods), out.method) == std::end(kMethods)) {
    r.error(n["method"], what + ".method must be one of GET, POST, PUT, PATCH, DELETE");
  }
  if (const YAML::Node& path = n["path"]) {
    auto v = r.text(path, what + ".path");
    out.path = TemplateText{v ? *v : "/", mark_of(path)};
    if (out.path.text.empty() || out.path.text.front() != '/') {
      r.error(path, what + ".path must start with '/'");
    }
  }
  parse_pairs(r, n["query"], what + ".query", out.query);
  parse_pairs(r, n["headers"], what + ".headers", out.headers);
  for (const auto& [name, value] : out.headers) {
    const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
    if (!token) r.error(value.mark, what + ".headers: '" + name + "' is not a valid header name");
    if (value.text.find_first_of("\r\n") != std::string::npos) {
      r.error(value.mark, what + ".headers." + name + " must not contain line breaks");
    }
  }
  if (const YAML::Node& body = n["body"]) {
    if (!r.is_map(body, what + ".body")) return;
    r.only_keys(body, what + ".body", {"json", "form"});
    if (body["json"] && body["form"]) {
      r.error(body, what + ".body must be either json or form, not both");
    } else if (body["json"]) {
      out.body_kind = RequestTemplateConfig::BodyKind::kJson;
      parse_json_template(r, body["json"], what + ".body.json", out.json_body);
    } else if (body["form"]) {
      out.body_kind = RequestTemplateConfig::BodyKind::kForm;
      parse_pairs(r, body["form"], what + ".body.form", out.form_body);
    }
  }
}

void parse_response(YamlReader& r, const YAML::Node& n, const std::string& what,
                    ResponseMappingConfig& out) {
  out.mark = mark_of(n);
  if (!n) return;  // defaults: any 2xx is success, no result fields
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what, {"format", "success", "result", "error", "errors", "verify", "max_result_bytes",
                        "max_body_bytes", "message_id"});
  out.message_id = r.string_field(n, "message_id", what, "");
  out.max_result_bytes = static_cast<std::size_t>(
      r.int_field(n, "max_result_bytes", what, static_cast<long long>(out.max_result_bytes), 16, 16 << 20));
  out.max_body_bytes = static_cast<std::size_t>(
      r.int_field(n, "max_body_bytes", what, static_cast<long long>(out.max_body_bytes), 256, 8 << 20));
  if (const std::string format = r.string_field(n, "format", what, "json"); format == "xml") {
    out.format = ResponseMappingConfig::Format::kXml;
  } else if (format != "json") {
    r.error(n["format"], what + ".format must be json or xml");
  }
  if (const YAML::Node& s = n["success"]; s && r.is_map(s, what + ".success")) {
    r.only_keys(s, what + ".success", {"status", "field", "equals", "fails_with"});
    out.failure_field = r.string_field(s, "fails_with", what + ".success", "");
    for (const auto& code : r.string_list(s, "status", what + ".success")) {
      int v = 0;
      auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), v);
      if (ec != std::errc() || p != code.data() + code.size() || v < 100 || v > 599) {
        r.error(s["status"], what + ".success.status must list HTTP status codes");
      } else {
        out.success_status.push_back(v);
      }
    }
    out.success_field = r.string_field(s, "field", what + ".success", "");
    if (s["equals"] && s["equals"].IsSequence()) {
      out.success_equals = r.string_list(s, "equals", what + ".success");
    } else if (s["equals"]) {
      out.success_equals = {r.string_field(s, "equals", what + ".success", "")};
    }
    if (!out.success_field.empty() && !s["equals"]) {
      r.error(s, what + ".success.field needs 'equals': the field's value on success");
    }
  }
  if (const YAML::Node& res = n["result"]; res && r.is_map(res, what + ".result")) {
    for (auto it = res.begin(); it != res.end(); ++it) {
      const std::string name = it->first.as<std::string>("");
      const std::string fwhat = what + ".result." + name;
      if (it->second.IsMap()) {
        // {field: /pointer, map: {raw: value, ...}}
        r.only_keys(it->second, fwhat, {"field", "map"});
        out.result.emplace_back(name, r.string_field(it->second, "field", fwhat, ""));
        if (out.result.back().second.empty()) r.error(it->second, fwhat + ".field is required");
        const YAML::Node& m = it->second["map"];
        if (!m || !r.is_map(m, fwhat + ".map")) continue;
        auto& values = out.result_values[name];
        for (auto mv = m.begin(); mv != m.end(); ++mv) {
          if (auto t = r.text(mv->second, fwhat + ".map")) values[mv->first.as<std::string>("")] = *t;
        }
        continue;
      }
      auto v = r.text(it->second, what + ".result");
      if (v) out.result.emplace_back(name, *v);
    }
  }
  if (const YAML::Node& v = n["verify"]; v && r.is_map(v, what + ".verify")) {
    const std::string vwhat = what + ".verify";
    auto& cfg = out.verify;
    cfg.enabled = true;
    cfg.mark = mark_of(v);
    r.only_keys(v, vwhat, {"type", "public_key", "public_key_file", "canonical", "separator", "signature", "encoding"});
    if (const std::string type = r.string_field(v, "type", vwhat, "rsa_sha256"); type != "rsa_sha256") {
      r.error(v["type"], vwhat + ".type must be rsa_sha256");
    }
    cfg.public_key = r.string_field(v, "public_key", vwhat, "", true);
    cfg.public_key_file = r.string_field(v, "public_key_file", vwhat, "");
    cfg.canonical = r.string_list(v, "canonical", vwhat);
    cfg.separator = r.string_field(v, "separator", vwhat, cfg.separator);
    cfg.signature = r.string_field(v, "signature", vwhat, "");
    cfg.encoding = r.string_field(v, "encoding", vwhat, cfg.encoding);
    if (cfg.canonical.empty()) r.error(v, vwhat + ".canonical is required");
    if (!cfg.signature.starts_with("header:") || cfg.signature.size() <= 7) {
      r.error(v, vwhat + ".signature must name the header that carries it: \"header:<Name>\"");
    }
    if (cfg.encoding != "base64" && cfg.encoding != "hex") r.error(v["encoding"], vwhat + ".encoding must be base64 or hex");
    if (cfg.public_key.empty() == cfg.public_key_file.empty()) {
      r.error(v, vwhat + ": give exactly one of public_key (PEM text) and public_key_file");
    }
  }
  if (const YAML::Node& e = n["error"]; e && r.is_map(e, what + ".error")) {
    r.only_keys(e, what + ".error", {"code", "message"});
    // One pointer, or a list tried in order.
    auto pointers = [&](const char* key) {
      if (e[key] && e[key].IsSequence()) return r.string_list(e, key, what + ".error");
      std::string one = r.string_field(e, key, what + ".error", "");
      return one.empty() ? std::vector<std::string>{} : std::vector<std::string>{one};
    };
    out.error_code_fields = pointers("code");
    out.error_message_fields = pointers("message");
  }
  if (const YAML::Node& errs = n["errors"]; errs && r.is_map(errs, what + ".errors")) {
    for (auto it = errs.begin(); it != errs.end(); ++it) {
      const std::string code = it->first.as<std::string>("");
      auto cls_text = r.text(it->second, what + ".errors." + code);
      if (!cls_text) continue;
      if (auto cls = parse_error_class(*cls_text)) {
        out.errors[code] = *cls;
      } else {
        r.error(it->second, what + ".errors." + code + ": '" + *cls_text +
                                "' is not an error class (invalid_request, unauthorized, "
                                "rate_limited, timeout, unavailable, rejected, ...)");
      }
    }
  }
  // Pointers must be RFC 6901: empty or starting with '/'.
  auto check_pointer = [&](const std::string& ptr, const char* field) {
    if (!ptr.empty() && ptr.front() != '/') {
      r.error(n, what + "." + field + " must be a JSON pointer starting with '/', not '" + ptr + "'");
    }
  };
  check_pointer(out.success_field, "success.field");
  check_pointer(out.failure_field, "success.fails_with");
  for (const auto& p : out.error_code_fields) check_pointer(p, "error.code");
  for (const auto& p : out.error_message_fields) check_pointer(p, "error.message");
  for (const auto& [name, ptr] : out.result) check_pointer(ptr, ("result." + name).c_str());
}

void parse_signer(YamlReader& r, const YAML::Node& n, const std::string& what,
                  SignerConfig& out) {
  out.mark = mark_of(n);
  if (!n) return;
  if (!r.is_map(n, what)) return;
  out.type = r.string_field(n, "type", what, "none");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.as<std::string>("");
    if (key == "type") continue;
    SignerOption opt;
    opt.mark = mark_of(it->second);
    if (it->second.IsSequence()) {
      opt.is_list = true;
      const YAML::Node list = it->second;  // it-> is a temporary: keep the handle
      for (const auto& item : list) {
        if (auto v = r.text(item, what + "." + key)) opt.list.push_back(*v);
      }
    } else if (auto v = r.text(it->second, what + "." + key, true)) {
      opt.value = *v;
    }
    out.options.emplace(key, std::move(opt));
  }
}

void parse_health_check(YamlReader& r, const YAML::Node& n, const std::string& what, ProviderConfig& p) {
  if (!n || !r.is_map(n, what)) return;
  r.only_keys(n, what,
              {"method", "path", "body", "headers", "expect_status", "interval", "timeout", "healthy_after",
               "ramp_from"});
  HealthCheckConfig& hc = p.health_check;
  hc.enabled = true;
  hc.method = r.string_field(n, "method", what, "GET");
  if (hc.method != "GET" && hc.method != "HEAD" && hc.method != "POST") {
    r.error(n["method"], what + ".method must be GET, HEAD or POST");
  }
  hc.path = r.string_field(n, "path", what, "");
  if (!hc.path.starts_with("/") || hc.path.find_first_of(" \r\n#") != std::string::npos) {
    r.error(n["path"] ? n["path"] : n, what + ".path must start with / (it follows the base URL's path)");
  }
  hc.body = r.string_field(n, "body", what, "");
  if (!hc.body.empty() && hc.method != "POST") r.error(n["body"], what + ".body goes with method POST");
  if (const YAML::Node& h = n["headers"]; h && r.is_map(h, what + ".headers")) {
    for (auto it = h.begin(); it != h.end(); ++it) {
      const std::string key = it->first.as<std::string>("");
      if (key.empty() || key.find_first_of(" :\r\n") != std::string::npos) {
        r.error(it->first, what + ".headers has an invalid header name");
        continue;
      }
      auto v = r.text(it->second, what + ".headers." + key, true);
      if (v && v->find_first_of("\r\n") != std::string::npos) {
        r.error(it->second, what + ".headers." + key + " must be one line");
        continue;
      }
      hc.headers[key] = v ? *v : "";
    }
  }
  if (const YAML::Node& e = n["expect_status"]; e) {
    if (!e.IsSequence() || e.size() == 0) {
      r.error(e, what + ".expect_status must be a list of HTTP statuses");
    } else {
      for (const auto& s : e) {
        const int code = s.as<int>(0);
        if (code < 100 || code > 599) {
          r.error(s, what + ".expect_status: '" + s.as<std::string>("") + "' is not an HTTP status");
        } else {
          hc.expect_status.push_back(code);
        }
      }
    }
  }
  hc.interval = r.duration_field(n, "interval", what, hc.interval, Millis(50));
  hc.timeout = r.duration_field(n, "timeout", what, std::min(hc.timeout, p.attempt_timeout), Millis(10));
  hc.healthy_after = static_cast<int>(r.int_field(n, "healthy_after", what, hc.healthy_after, 1, 100));
  if (auto v = r.number_field(n, "ramp_from", what)) {
    if (*v < 0.1 || *v > 1) {
      r.error(n["ramp_from"], what + ".ramp_from must be between 0.1 and 1");
    } else {
      hc.ramp_from = *v;
    }
  }
  // The breakers of this provider's operations wait for the checks.
  p.breaker.gated_by_checks = true;
  p.breaker.ramp_from = hc.ramp_from;
}

void parse_provider(YamlReader& r, const std::string& name, const YAML::Node& n,
                    ProviderConfig& p) {
  p.name = name;
  const std::string what = "provider '" + name + "'";
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what,
              {"base_url", "timeouts", "max_connections", "tls", "proxy", "credentials", "signer",
               "operations", "weight", "price", "health", "breaker", "limits", "throttle", "forward_trace", "shadow",
               "events", "health_check"});
  if (const YAML::Node& sh = n["shadow"]; sh && r.is_map(sh, what + ".shadow")) {
    r.only_keys(sh, what + ".shadow", {"latency"});
    parse_latency_model(r, sh["latency"], what + ".shadow.latency", p.shadow_latency);
  }
  p.forward_trace = r.bool_field(n, "forward_trace", what, false);
  if (auto w = r.number_field(n, "weight", what)) {
    if (*w < 0) r.error(n["weight"], what + ".weight must not be negative");
    p.weight = *w;
  }
  if (auto pr = r.number_field(n, "price", what)) {
    if (*pr < 0) r.error(n["price"], what + ".price must not be negative");
    p.price = *pr;
  }
  parse_health(r, n["health"], what + ".health", p.health);
  parse_breaker(r, n["breaker"], what + ".breaker", p.breaker);
  parse_limits(r, n["limits"], what + ".limits", p.limits);
  if (const YAML::Node& t = n["throttle"]; t && r.is_map(t, what + ".throttle")) {
    r.only_keys(t, what + ".throttle", {"default_wait"});
    p.throttle_default = r.duration_field(t, "default_wait", what + ".throttle", p.throttle_default, Millis(0));
  }
  p.base_url = r.string_field(n, "base_url", what, "");
  if (!parse_base_url(p.base_url, p)) {
    r.error(n["base_url"] ? n["base_url"] : n,
            what + ".base_url must be http(s)://host[:port][/path], not '" + p.base_url + "'");
  }
  if (const YAML::Node& t = n["timeouts"]; t && r.is_map(t, what + ".timeouts")) {
    r.only_keys(t, what + ".timeouts", {"connect", "attempt", "idle"});
    p.connect_timeout = r.duration_field(t, "connect", what + ".timeouts", p.connect_timeout);
    p.attempt_timeout = r.duration_field(t, "attempt", what + ".timeouts", p.attempt_timeout);
    p.idle_timeout = r.duration_field(t, "idle", what + ".timeouts", p.idle_timeout);
  }
  p.max_connections = static_cast<int>(r.int_field(n, "max_connections", what, 64, 1, 100000));
  if (const YAML::Node& t = n["tls"]; t && r.is_map(t, what + ".tls")) {
    r.only_keys(t, what + ".tls", {"verify", "ca_file", "client_cert", "client_key", "server_name"});
    p.tls.verify = r.bool_field(t, "verify", what + ".tls", true);
    p.tls.ca_file = r.string_field(t, "ca_file", what + ".tls", "");
    p.tls.client_cert = r.string_field(t, "client_cert", what + ".tls", "");
    p.tls.client_key = r.string_field(t, "client_key", what + ".tls", "", true);
    p.tls.server_name = r.string_field(t, "server_name", what + ".tls", "");
    if (p.tls.client_cert.empty() != p.tls.client_key.empty()) {
      r.error(t, what + ".tls: client_cert and client_key go together");
    }
  }
  p.proxy = r.string_field(n, "proxy", what, "", true);
  if (!p.proxy.empty() &&
      (!p.proxy.starts_with("http://") ||
       !parse_http_url(p.proxy, UrlRules{.allow_userinfo = true, .allow_path = false, .allow_query = false}))) {
    r.error(n["proxy"], what + ".proxy must be an http:// URL of an HTTP CONNECT proxy");
  }
  if (const YAML::Node& c = n["credentials"]; c && r.is_map(c, what + ".credentials")) {
    for (auto it = c.begin(); it != c.end(); ++it) {
      const std::string key = it->first.as<std::string>("");
      auto v = r.text(it->second, what + ".credentials." + key, true);
      p.credentials[key] = v ? *v : "";
      if (v && v->empty()) r.error(it->second, what + ".credentials." + key + " is empty");
    }
  }
  parse_signer(r, n["signer"], what + ".signer", p.signer);
  parse_events(r, n["events"], what + ".events", p);
  parse_health_check(r, n["health_check"], what + ".health_check", p);
  const YAML::Node& ops = n["operations"];
  if (!ops) {
    r.error(n, what + ".operations must define at least one operation");
    return;
  }
  if (!r.is_map(ops, what + ".operations")) return;
  for (auto it = ops.begin(); it != ops.end(); ++it) {
    OperationConfig op;
    op.capability = it->first.as<std::string>("");
    op.mark = mark_of(it->first);
    const std::string owhat = what + ".operations." + op.capability;
    const YAML::Node body = it->second;  // a handle copy: it-> returns a temporary proxy
    if (!r.is_map(body, owhat)) continue;
    r.only_keys(body, owhat, {"request", "response", "dedupe", "limits", "unsupported_params"});
    op.unsupported_params = r.string_list(body, "unsupported_params", owhat);
    parse_limits(r, body["limits"], owhat + ".limits", op.limits);
    op.dedupe = r.bool_field(body, "dedupe", owhat, false);
    if (!body["request"]) {
      r.error(it->first, owhat + ".request is required");
    } else {
      parse_request(r, body["request"], owhat + ".request", op.request);
    }
    parse_response(r, body["response"], owhat + ".response", op.response);
    p.operations.emplace(op.capability, std::move(op));
  }
}

}  // namespace

void parse_providers(YamlReader& r, const YAML::Node& n,
                     std::map<std::string, ProviderConfig>& out) {
  if (!n) {
    r.error(SourceMark{}, "providers: at least one provider is required");
    return;
  }
  if (!r.is_map(n, "providers")) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    ProviderConfig p;
    p.mark = mark_of(it->first);
    const std::string name = it->first.as<std::string>("");
    parse_provider(r, name, it->second, p);
    out.emplace(name, std::move(p));
  }
}

}  // namespace tollgate::config::detail
