// Dialects for the capabilities beyond SMS (docs/sim.md):
//   login  WeChat's sns/oauth2/access_token: codes work once;
//   wxpay  WeChat Pay v3 order query and refund: RSA request signatures checked
//          with the merchant's public key, answers signed with the platform key,
//          an order fixture, refunds deduplicated by out_refund_no;
//   idv    an identity-verification vendor (bearer token, JSON) checking a name and
//          a resident ID number against a small fixture of known people.
#include <boost/json.hpp>

#include <cstdlib>
#include <map>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/formats.h"
#include "core/random.h"
#include "core/time_format.h"
#include "core/vendor_signatures.h"
#include "sim/dialects.h"

namespace tollgate::sim {
namespace {

namespace json = boost::json;

std::optional<std::string> field(const NameValues& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<json::object> json_body(const HttpRequest& req) {
  boost::system::error_code ec;
  auto v = json::parse(req.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// --- login: WeChat OAuth 2.0 code exchange ----------------------------------------------
class LoginDialect final : public Dialect {
 public:
  explicit LoginDialect(const Credentials& c) : creds_(c) {}
  std::string_view name() const override { return "login"; }
  bool matches(const HttpRequest& req) const override { return req.path.ends_with("/sns/oauth2/access_token"); }

  std::string ref(const HttpRequest& req) const override {
    NameValues q;
    parse_name_values(req.query, false, q);
    return field(q, "code").value_or("");
  }

  HttpResponse answer(const HttpRequest& req, SimState& state, std::string& outcome) const override {
    NameValues q;
    parse_name_values(req.query, false, q);
    outcome = "auth_failed";
    if (field(q, "appid") != creds_.key_id) return error(40013);
    if (!constant_time_equals(field(q, "secret").value_or(""), creds_.secret)) return error(40125);
    outcome = "malformed_request";
    if (field(q, "grant_type") != "authorization_code") return error(40002);
    const std::string code = field(q, "code").value_or("");
    if (code.empty()) return error(41008);
    outcome = "invalid_code";
    if (code.starts_with("BAD")) return error(40029);
    const bool fresh = state.with_store([&](auto& store) { return store.emplace("login-code:" + code, "used").second; });
    outcome = "code_used";
    if (!fresh) return error(40163);
    outcome = "ok";
    const std::string openid = "o" + sha256_hex(code).substr(0, 27);
    return json_response(200, {{"access_token", "AT_" + new_id("")},
                               {"expires_in", 7200},
                               {"refresh_token", "RT_" + new_id("")},
                               {"openid", openid},
                               {"scope", "snsapi_login"},
                               {"unionid", "u" + sha256_hex("union:" + code).substr(0, 27)}});
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return error(45011);
      case FaultKind::kInvalid: return error(40029);
      case FaultKind::kVendorError: return error(std::atoi(f.code.c_str()));
      default: return error(-1);
    }
  }

 private:
  // WeChat answers errors with HTTP 200 and {"errcode", "errmsg"}.
  static HttpResponse error(int code) {
    static const std::map<int, const char*> kMessages = {
        {-1, "system error"},         {40002, "invalid grant_type"}, {40013, "invalid appid"},
        {40029, "invalid code"},      {40125, "invalid appsecret"},  {40163, "code been used"},
        {41008, "missing code"},      {45011, "api minute-quota reach limit  mustslower  retry next minute"}};
    auto it = kMessages.find(code);
    return json_response(200, {{"errcode", code},
                               {"errmsg", std::string(it == kMessages.end() ? "simulated error" : it->second) +
                                              ", rid: " + new_id("").substr(0, 8)}});
  }

  Credentials creds_;
};

// --- wxpay: WeChat Pay API v3, order query and refund -------------------------------------
// Orders: out_trade_no "T…" is paid (total 10000 fen), "U…" not paid yet, others do
// not exist.
class WxPayDialect final : public Dialect {
 public:
  explicit WxPayDialect(const Credentials& c) : creds_(c) {}
  std::string_view name() const override { return "wxpay"; }
  bool matches(const HttpRequest& req) const override {
    return req.path.find("/v3/pay/transactions/out-trade-no/") != std::string::npos ||
           req.path.ends_with("/v3/refund/domestic/refunds");
  }

  std::string ref(const HttpRequest& req) const override {
    if (is_refund(req)) {
      auto body = json_body(req);
      return body ? text_of(*body, "out_refund_no") : std::string();
    }
    return order_no(req);
  }

  HttpResponse answer(const HttpRequest& req, SimState& state, std::string& outcome) const override {
    if (!creds_.pay_merchant_public.valid() || !creds_.pay_platform_private.valid()) {
      outcome = "not_configured";
      return json_response(500, {{"code", "SYSTEM_ERROR"},
                                 {"message", "the sim has no payment keys: start it with --pay-merchant-public-key "
                                             "and --pay-platform-private-key"}});
    }
    outcome = "auth_failed";
    if (!authentic(req, state)) return error("SIGN_ERROR");
    return is_refund(req) ? refund(req, state, outcome) : query(req, state, outcome);
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return error("FREQUENCY_LIMITED");
      case FaultKind::kInvalid: return error("PARAM_ERROR");
      case FaultKind::kVendorError: return error(f.code);
      default: return error("SYSTEM_ERROR");
    }
  }

 private:
  static bool is_refund(const HttpRequest& req) { return req.path.ends_with("/v3/refund/domestic/refunds"); }
  static std::string order_no(const HttpRequest& req) {
    const size_t at = req.path.find("/out-trade-no/");
    return at == std::string::npos ? std::string() : req.path.substr(at + 14);
  }

  // The channel signs every answer: Wechatpay-Signature over "timestamp\nnonce\nbody\n".
  HttpResponse signed_response(int status, const json::object& body) const {
    HttpResponse r = json_response(status, body);
    const std::string ts = std::to_string(now_seconds());
    const std::string nonce = new_nonce();
    r.headers.emplace_back("Wechatpay-Timestamp", ts);
    r.headers.emplace_back("Wechatpay-Nonce", nonce);
    r.headers.emplace_back("Wechatpay-Serial", "SIM-PLATFORM-1");
    r.headers.emplace_back("Wechatpay-Signature",
                           base64_encode(creds_.pay_platform_private.sign_sha256(ts + "\n" + nonce + "\n" + r.body + "\n")));
    return r;
  }

  HttpResponse error(const std::string& code) const {
    static const std::map<std::string, int> kStatus = {
        {"SIGN_ERROR", 401},       {"FREQUENCY_LIMITED", 429}, {"SYSTEM_ERROR", 500},  {"BANK_ERROR", 500},
        {"ORDER_NOT_EXIST", 404},  {"RESOURCE_NOT_EXISTS", 404}, {"NOT_ENOUGH", 403}, {"NO_AUTH", 403},
        {"USER_ACCOUNT_ABNORMAL", 403}, {"MCH_NOT_EXISTS", 400}};
    auto it = kStatus.find(code);
    return signed_response(it == kStatus.end() ? 400 : it->second, {{"code", code}, {"message", "simulated: " + code}});
  }

  // Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"
  // over "METHOD\nTARGET\ntimestamp\nnonce\nbody\n", checked with the merchant's public key.
  bool authentic(const HttpRequest& req, SimState& state) const {
    const std::string_view auth = req.header("Authorization");
    const std::string_view scheme = "WECHATPAY2-SHA256-RSA2048 ";
    if (!auth.starts_with(scheme)) return false;
    std::map<std::string, std::string> f;
    for (std::string_view rest = auth.substr(scheme.size()); !rest.empty();) {
      const size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      const size_t eq = item.find('=');
      if (eq != std::string_view::npos) {
        std::string_view v = item.substr(eq + 1);
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        f[std::string(item.substr(0, eq))] = std::string(v);
      }
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    const long long ts = std::atoll(f["timestamp"].c_str());
    if (f["mchid"] != creds_.key_id || std::llabs(now_seconds() - ts) > 300 || f["nonce_str"].empty()) return false;
    const auto sig = base64_decode(f["signature"]);
    const std::string message =
        req.method + "\n" + req.target() + "\n" + f["timestamp"] + "\n" + f["nonce_str"] + "\n" + req.body + "\n";
    return sig && creds_.pay_merchant_public.verify_sha256(message, *sig) && state.fresh_nonce("wxpay:" + f["nonce_str"]);
  }

  static std::optional<std::pair<std::string, long>> order(const std::string& no) {
    if (no.size() > 1 && no[0] == 'T') return std::make_pair(std::string("SUCCESS"), 10000L);
    if (no.size() > 1 && no[0] == 'U') return std::make_pair(std::string("NOTPAY"), 10000L);
    return std::nullopt;
  }

  HttpResponse query(const HttpRequest& req, SimState& state, std::string& outcome) const {
    NameValues q;
    parse_name_values(req.query, false, q);
    outcome = "malformed_request";
    if (field(q, "mchid") != creds_.key_id) return error("PARAM_ERROR");
    const std::string no = order_no(req);
    const auto o = order(no);
    outcome = "order_not_found";
    if (!o) return error("ORDER_NOT_EXIST");
    const long refunded = state.with_store([&](auto& store) {
      auto it = store.find("refunded:" + no);
      return it == store.end() ? 0L : std::atol(it->second.c_str());
    });
    outcome = "ok";
    json::object body{{"mchid", creds_.key_id},
                      {"appid", "wxd678efh567hg6787"},
                      {"out_trade_no", no},
                      {"trade_type", "NATIVE"},
                      {"trade_state", refunded > 0 ? std::string("REFUND") : o->first},
                      {"trade_state_desc", o->first == "SUCCESS" ? "支付成功" : "未支付"},
                      {"amount", {{"total", o->second}, {"currency", "CNY"}}}};
    if (o->first == "SUCCESS") {
      body["transaction_id"] = "4200" + std::to_string(std::hash<std::string>{}(no) % 100000000000000ULL);
      body["success_time"] = format_iso8601(SystemClock::instance().wall());
      body["amount"].as_object()["payer_total"] = o->second;
    }
    return signed_response(200, body);
  }

  HttpResponse refund(const HttpRequest& req, SimState& state, std::string& outcome) const {
    outcome = "malformed_request";
    auto body = json_body(req);
    if (!body) return error("PARAM_ERROR");
    const std::string no = text_of(*body, "out_trade_no");
    const std::string refund_no = text_of(*body, "out_refund_no");
    const auto* amount = body->if_contains("amount");
    if (no.empty() || refund_no.empty() || !amount || !amount->is_object()) return error("PARAM_ERROR");
    const auto* r = amount->as_object().if_contains("refund");
    const auto* t = amount->as_object().if_contains("total");
    if (!r || !r->is_int64() || !t || !t->is_int64() || r->as_int64() <= 0) return error("PARAM_ERROR");
    const auto o = order(no);
    outcome = "order_not_found";
    if (!o || o->first != "SUCCESS") return error("RESOURCE_NOT_EXISTS");
    outcome = "malformed_request";
    if (t->as_int64() != o->second) return error("PARAM_ERROR");
    // A repeated out_refund_no is the same refund, never a second one.
    std::string refund_id;
    bool repeated = false;
    const bool too_much = state.with_store([&](auto& store) {
      if (auto it = store.find("refund:" + refund_no); it != store.end()) {
        refund_id = it->second;
        repeated = true;
        return false;
      }
      const long before = std::atol(store["refunded:" + no].c_str());
      if (before + r->as_int64() > o->second) return true;
      refund_id = "5030" + std::to_string(now_seconds()) + new_id("").substr(0, 6);
      store["refund:" + refund_no] = refund_id;
      store["refunded:" + no] = std::to_string(before + r->as_int64());
      return false;
    });
    outcome = "refund_exceeds";
    if (too_much) return error("INVALID_REQUEST");
    if (!repeated) state.remember(refund_no, refund_id);
    outcome = repeated ? "deduplicated" : "ok";
    return signed_response(200, {{"refund_id", refund_id},
                                 {"out_refund_no", refund_no},
                                 {"out_trade_no", no},
                                 {"channel", "ORIGINAL"},
                                 {"status", "PROCESSING"},
                                 {"create_time", format_iso8601(SystemClock::instance().wall())},
                                 {"amount", {{"total", o->second}, {"refund", r->as_int64()}, {"currency", "CNY"}}}});
  }

  Credentials creds_;
};

// --- idv: an identity-verification vendor ------------------------------------------------
class IdvDialect final : public Dialect {
 public:
  explicit IdvDialect(const Credentials& c) : creds_(c) {}
  std::string_view name() const override { return "idv"; }
  bool matches(const HttpRequest& req) const override { return req.path.ends_with("/idv/v1/verify"); }
  std::string ref(const HttpRequest&) const override { return {}; }

  HttpResponse answer(const HttpRequest& req, SimState&, std::string& outcome) const override {
    outcome = "auth_failed";
    if (!constant_time_equals(req.header("Authorization"), "Bearer " + creds_.token)) return error(4010);
    outcome = "malformed_request";
    auto body = json_body(req);
    if (!body) return error(4000);
    const std::string name = text_of(*body, "name");
    const std::string id = text_of(*body, "id_number");
    if (name.empty() || id.empty()) return error(4000);
    outcome = "invalid_id";
    if (!is_cn_resident_id(id)) return error(1001);
    const auto& people = known_people();
    const auto it = people.find(id);
    std::string result = "no_record";
    if (it != people.end()) {
      // A face photo that does not match the person: the sim's photo refs end in "-mismatch".
      const bool face_ok = !text_of(*body, "photo_ref").ends_with("-mismatch");
      result = it->second == name && face_ok ? "consistent" : "inconsistent";
    }
    outcome = result;
    return json_response(200, {{"code", 0}, {"data", {{"result", result}}}, {"request_id", new_id("idv-")}});
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return error(4290);
      case FaultKind::kInvalid: return error(1001);
      case FaultKind::kVendorError: return error(std::atoi(f.code.c_str()));
      default: return error(5000);
    }
  }

 private:
  static HttpResponse error(int code) {
    return json_response(200, {{"code", code}, {"message", "simulated error " + std::to_string(code)}});
  }
  Credentials creds_;
};

}  // namespace

const std::unordered_map<std::string, std::string>& known_people() {
  static const std::unordered_map<std::string, std::string> people = {
      {"110101199003074477", "张三"},
      {"310104198506121230", "李四"},
      {"440305199211305674", "王五"},
  };
  return people;
}

void add_capability_dialects(const Credentials& creds, std::vector<std::unique_ptr<Dialect>>& out) {
  out.push_back(std::make_unique<LoginDialect>(creds));
  out.push_back(std::make_unique<WxPayDialect>(creds));
  out.push_back(std::make_unique<IdvDialect>(creds));
}

}  // namespace tollgate::sim
