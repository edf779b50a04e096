// Parsers for providers' events (providers.<name>.events) and the inbound
// listener (inbound:).
#include <fstream>
#include <iterator>

#include "config/parse_sections.h"
#include "core/crypto.h"
#include "core/url.h"

namespace tollgate::config::detail {
namespace {

// "{{credentials.NAME}}" resolved against the provider's credentials; other
// text as written.
std::string resolve_secret(YamlReader& r, const YAML::Node& at, const std::string& text, const ProviderConfig& p,
                           const std::string& what) {
  if (!text.starts_with("{{credentials.") || !text.ends_with("}}")) return text;
  const std::string name = text.substr(14, text.size() - 16);
  auto it = p.credentials.find(name);
  if (it == p.credentials.end()) {
    r.error(at, what + ": credentials." + name + " is not defined");
    return {};
  }
  return it->second;
}

bool is_pointer(const std::string& s) { return s.empty() || s.front() == '/'; }

}  // namespace

void parse_events(YamlReader& r, const YAML::Node& n, const std::string& what, ProviderConfig& p) {
  EventsConfig& out = p.events;
  out.mark = mark_of(n);
  if (!n) return;
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what, {"kinds", "verify", "format", "items", "map", "ack"});
  out.enabled = true;
  if (n["kinds"]) out.kinds = r.string_list(n, "kinds", what);
  for (const auto& k : out.kinds) {
    if (k.empty() || k.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
      r.error(n["kinds"], what + ".kinds: '" + k + "' must be lower-case letters, digits, '-' or '_'");
    }
  }
  const YAML::Node& v = n["verify"];
  if (!v || !r.is_map(v, what + ".verify")) {
    r.error(v ? v : n, what + ".verify is required: an event nobody verified is never trusted");
  } else {
    const std::string vw = what + ".verify";
    r.only_keys(v, vw, {"type", "secret", "public_url", "platform_keys", "allowed_sources", "max_age"});
    const std::string type = r.string_field(v, "type", vw, "");
    if (type == "twilio") {
      out.verify = EventsConfig::Verify::kTwilio;
    } else if (type == "wxpay_v3") {
      out.verify = EventsConfig::Verify::kWxpayV3;
    } else if (type == "token") {
      out.verify = EventsConfig::Verify::kToken;
    } else {
      r.error(v["type"] ? v["type"] : v, vw + ".type must be twilio, wxpay_v3 or token, not '" + type + "'");
    }
    out.secret = resolve_secret(r, v["secret"], r.string_field(v, "secret", vw, "", true), p, vw + ".secret");
    if (out.secret.empty()) r.error(v["secret"] ? v["secret"] : v, vw + ".secret is required");
    if (out.verify == EventsConfig::Verify::kToken && !out.secret.empty() && out.secret.size() < 16) {
      r.error(v["secret"], vw + ".secret: a path token must be at least 16 characters");
    }
    if (out.verify == EventsConfig::Verify::kWxpayV3 && !out.secret.empty() && out.secret.size() != 32) {
      r.error(v["secret"], vw + ".secret: the APIv3 key is 32 bytes");
    }
    out.public_url = r.string_field(v, "public_url", vw, "");
    if (!out.public_url.empty() && !parse_http_url(out.public_url)) {
      r.error(v["public_url"], vw + ".public_url must be the http(s) URL the vendor was told to call");
    }
    if (const YAML::Node& keys = v["platform_keys"]; keys && r.is_map(keys, vw + ".platform_keys")) {
      for (auto it = keys.begin(); it != keys.end(); ++it) {
        const std::string serial = it->first.as<std::string>("");
        if (auto value = r.text(it->second, vw + ".platform_keys", true)) {
          // PEM text, or the path of a PEM file (read now, so a bad key is a
          // config problem, not a refused event).
          std::string pem = resolve_secret(r, it->second, *value, p, vw + ".platform_keys." + serial);
          if (!pem.empty() && !pem.starts_with("-----BEGIN")) {
            std::ifstream in(pem, std::ios::binary);
            if (!in) {
              r.error(it->second, vw + ".platform_keys." + serial + ": cannot read '" + pem + "'");
              continue;
            }
            pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
          }
          if (auto key = RsaKey::public_pem(pem); !key) {
            r.error(it->second, vw + ".platform_keys." + serial + ": not an RSA public key or certificate (" +
                                    key.error().message + ")");
            continue;
          }
          out.platform_keys[serial] = std::move(pem);
        }
      }
    }
    if (out.verify == EventsConfig::Verify::kWxpayV3 && out.platform_keys.empty()) {
      r.error(v, vw + ".platform_keys is required for wxpay_v3: {serial: PEM public key}");
    }
    out.allowed_sources = r.string_list(v, "allowed_sources", vw);
    for (const auto& src : out.allowed_sources) {
      if (!IpNetwork::parse(src)) r.error(v["allowed_sources"], vw + ".allowed_sources: '" + src + "' is not an IP address or CIDR");
    }
    out.max_age = r.duration_field(v, "max_age", vw, out.max_age, Millis(1000));
  }
  const std::string format = r.string_field(n, "format", what, "json");
  if (format == "form") {
    out.format = EventsConfig::Format::kForm;
  } else if (format != "json") {
    r.error(n["format"], what + ".format must be json or form");
  }
  out.items = r.string_field(n, "items", what, "");
  if (!is_pointer(out.items)) r.error(n["items"], what + ".items must be a JSON pointer (/data) or empty");
  const YAML::Node& m = n["map"];
  if (!m || !r.is_map(m, what + ".map")) {
    r.error(m ? m : n, what + ".map is required (at least message_id and kind)");
  } else {
    const std::string mw = what + ".map";
    r.only_keys(m, mw, {"message_id", "kind", "at", "code", "dedupe"});
    out.message_id = r.string_field(m, "message_id", mw, "");
    if (out.message_id.empty() || !is_pointer(out.message_id)) r.error(m, mw + ".message_id must be a JSON pointer");
    if (const YAML::Node& k = m["kind"]; k && k.IsMap()) {
      r.only_keys(k, mw + ".kind", {"field", "map"});
      out.kind_field = r.string_field(k, "field", mw + ".kind", "");
      if (const YAML::Node& km = k["map"]; km && r.is_map(km, mw + ".kind.map")) {
        for (auto it = km.begin(); it != km.end(); ++it) {
          if (auto t = r.text(it->second, mw + ".kind.map")) out.kind_map[it->first.as<std::string>("")] = *t;
        }
      }
    } else {
      out.kind_field = r.string_field(m, "kind", mw, "");
    }
    if (out.kind_field.empty() || !is_pointer(out.kind_field)) r.error(m, mw + ".kind needs a JSON pointer");
    out.at_field = r.string_field(m, "at", mw, "");
    out.code_field = r.string_field(m, "code", mw, "");
    out.dedupe = r.string_list(m, "dedupe", mw);
    if (out.dedupe.empty()) out.dedupe = {out.message_id, out.kind_field};
  }
  if (const YAML::Node& a = n["ack"]; a && r.is_map(a, what + ".ack")) {
    r.only_keys(a, what + ".ack", {"status", "body", "content_type"});
    out.ack_status = static_cast<int>(r.int_field(a, "status", what + ".ack", 200, 200, 299));
    out.ack_body = r.string_field(a, "body", what + ".ack", "");
    out.ack_content_type = r.string_field(a, "content_type", what + ".ack", out.ack_content_type);
  }
}

void parse_inbound(YamlReader& r, const YAML::Node& n, InboundConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "inbound")) return;
  r.only_keys(n, "inbound", {"listen", "max_body_bytes", "tls", "hold", "max_held", "receipt_due", "delivery_window",
                                 "min_delivery_samples", "delivery_interval"});
  out.enabled = true;
  if (n["listen"]) {
    const std::string listen = r.string_field(n, "listen", "inbound", "");
    if (!parse_host_port(listen, out.host, out.port)) r.error(n["listen"], "inbound.listen must be host:port");
  }
  out.max_body_bytes = static_cast<std::size_t>(
      r.int_field(n, "max_body_bytes", "inbound", static_cast<long long>(out.max_body_bytes), 1024, 16 << 20));
  if (const YAML::Node& t = n["tls"]; t && r.is_map(t, "inbound.tls")) {
    r.only_keys(t, "inbound.tls", {"cert", "key"});
    out.tls_cert = r.string_field(t, "cert", "inbound.tls", "");
    out.tls_key = r.string_field(t, "key", "inbound.tls", "");
    if (out.tls_cert.empty() != out.tls_key.empty()) r.error(t, "inbound.tls needs both cert and key");
  }
  out.hold = r.duration_field(n, "hold", "inbound", out.hold, Millis(1000));
  out.max_held = static_cast<int>(r.int_field(n, "max_held", "inbound", out.max_held, 1, 10'000'000));
  out.receipt_due = r.duration_field(n, "receipt_due", "inbound", out.receipt_due, Millis(0));
  out.delivery_window = r.duration_field(n, "delivery_window", "inbound", out.delivery_window, Millis(1000));
  if (out.delivery_window <= out.receipt_due) {
    r.error(n["delivery_window"] ? n["delivery_window"] : n,
            "inbound.delivery_window must be longer than receipt_due (sends younger than receipt_due are not counted)");
  }
  out.min_delivery_samples = static_cast<int>(
      r.int_field(n, "min_delivery_samples", "inbound", out.min_delivery_samples, 1, 1000000));
  out.delivery_interval = r.duration_field(n, "delivery_interval", "inbound", out.delivery_interval, Millis(100));
}

}  // namespace tollgate::config::detail

namespace tollgate::config::detail {

void parse_queues(YamlReader& r, const YAML::Node& n, QueuesConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "queues")) return;
  r.only_keys(n, "queues", {"url", "heartbeat", "reconnect", "consumers"});
  out.enabled = true;
  out.url = r.string_field(n, "url", "queues", "", /*secret=*/true);
  const UrlRules rules{.allow_userinfo = true, .allow_query = false, .amqp = true, .what = "queues.url"};
  if (auto u = parse_http_url(out.url, rules); !u) {
    r.error(n["url"] ? n["url"] : n, u.error().message);
  } else if (u->scheme == "amqps") {
    r.error(n["url"], "queues.url: amqps:// is not supported yet; use amqp:// on a trusted network (docs/queues.md)");
  }
  out.heartbeat = r.duration_field(n, "heartbeat", "queues", out.heartbeat, Millis(1000));
  if (const YAML::Node& rc = n["reconnect"]; rc && r.is_map(rc, "queues.reconnect")) {
    r.only_keys(rc, "queues.reconnect", {"min", "max"});
    out.reconnect_min = r.duration_field(rc, "min", "queues.reconnect", out.reconnect_min, Millis(10));
    out.reconnect_max = r.duration_field(rc, "max", "queues.reconnect", out.reconnect_max, out.reconnect_min);
  }
  const YAML::Node& list = n["consumers"];
  if (!list || !list.IsSequence() || list.size() == 0) {
    r.error(list ? list : n, "queues.consumers must list at least one {queue, caller}");
    return;
  }
  for (const auto& c : list) {
    if (!r.is_map(c, "queues.consumers[]")) continue;
    r.only_keys(c, "queues.consumers[]",
                {"queue", "caller", "capability", "prefetch", "delivery_limit", "declare", "dead_letter_exchange"});
    QueueConsumerConfig q;
    q.mark = mark_of(c);
    q.queue = r.string_field(c, "queue", "queues.consumers[]", "");
    q.caller = r.string_field(c, "caller", "queues.consumers[]", "");
    if (q.queue.empty() || q.queue.size() > 255) r.error(c, "queues.consumers[].queue must be a name of 1 to 255 characters");
    if (q.caller.empty()) r.error(c, "queues.consumers[].caller must name a configured caller");
    q.capability = r.string_field(c, "capability", "queues.consumers[]", "");
    q.prefetch = static_cast<int>(r.int_field(c, "prefetch", "queues.consumers[]", q.prefetch, 1, 10000));
    q.delivery_limit = static_cast<int>(r.int_field(c, "delivery_limit", "queues.consumers[]", q.delivery_limit, 1, 1000));
    q.declare = r.bool_field(c, "declare", "queues.consumers[]", q.declare);
    q.dead_letter_exchange = r.string_field(c, "dead_letter_exchange", "queues.consumers[]", q.queue + ".dlx");
    for (const auto& other : out.consumers) {
      if (other.queue == q.queue) r.error(c, "queue '" + q.queue + "' is consumed twice");
    }
    out.consumers.push_back(std::move(q));
  }
}

}  // namespace tollgate::config::detail
