#include "sim/dialects.h"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/random.h"
#include "core/vendor_signatures.h"

namespace tollgate::sim {
namespace {

namespace json = boost::json;

// --- json: bearer token, JSON body, errors as codes inside HTTP 200 ---------------
class JsonDialect final : public Dialect {
 public:
  explicit JsonDialect(std::string token) : token_(std::move(token)) {}
  std::string_view name() const override { return "json"; }
  bool matches(const HttpRequest& req) const override { return req.path.ends_with("/json/v1/sms/send"); }

  std::string ref(const HttpRequest& req) const override {
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object()) return {};
    const auto* r = v.get_object().if_contains("out_id");
    return r && r->is_string() ? std::string(r->get_string()) : std::string();
  }

  HttpResponse answer(const HttpRequest& req, SimState& state, std::string& outcome) const override {
    auto code = [&](int c, std::string_view msg, std::string_view out) {
      outcome = out;
      return json_response(200, {{"code", c}, {"message", msg}, {"request_id", new_id("r")}});
    };
    const std::string expected = "Bearer " + token_;
    if (!constant_time_equals(req.header("Authorization"), expected)) {
      return code(4010, "invalid access token", "auth_failed");
    }
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object()) return code(4000, "request body is not JSON", "malformed_request");
    const auto& o = v.get_object();
    const auto* mobile = o.if_contains("mobile");
    const auto* tpl = o.if_contains("template_code");
    if (!mobile || !mobile->is_string() || !tpl || !tpl->is_string()) {
      return code(4000, "mobile and template_code are required", "malformed_request");
    }
    if (!valid_number(mobile->get_string())) return code(1001, "invalid mobile number", "invalid_number");
    if (tpl->get_string().starts_with("REJECT")) return code(1002, "template not approved", "template_rejected");
    const std::string ref = this->ref(req);
    std::string id = ref.empty() ? std::string() : state.remembered(ref);
    outcome = id.empty() ? "ok" : "deduplicated";
    if (id.empty()) {
      id = new_id("biz-");
      if (!ref.empty()) state.remember(ref, id);
    }
    return json_response(200, {{"code", 0}, {"message", "OK"}, {"data", {{"biz_id", id}, {"fee", 1}}}});
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return json_response(200, {{"code", 4290}, {"message", "too many requests"}});
      case FaultKind::kInvalid: return json_response(200, {{"code", 1001}, {"message", "invalid mobile number"}});
      case FaultKind::kVendorError: return json_response(200, {{"code", f.code}, {"message", "injected"}});
      default: return json_response(200, {{"code", 5000}, {"message", "internal error"}});
    }
  }

 private:
  std::string token_;
};

// --- form: HMAC-signed, form-encoded, errors as HTTP statuses -----------------------
class FormDialect final : public Dialect {
 public:
  FormDialect(std::string key_id, std::string secret) : key_id_(std::move(key_id)), secret_(std::move(secret)) {}
  std::string_view name() const override { return "form"; }
  bool matches(const HttpRequest& req) const override { return req.path.ends_with("/form/2024-01/Messages"); }

  static std::unordered_map<std::string, std::string> fields(std::string_view body) {
    NameValues pairs;
    parse_name_values(body, true, pairs);
    return {pairs.begin(), pairs.end()};
  }

  std::string ref(const HttpRequest& req) const override {
    auto f = fields(req.body);
    auto it = f.find("Ref");
    return it == f.end() ? std::string() : it->second;
  }

  static HttpResponse error(int status, std::string_view code, std::string_view message, HeaderList extra = {}) {
    return json_response(status, {{"error", {{"code", code}, {"message", message}}}}, std::move(extra));
  }

  HttpResponse answer(const HttpRequest& req, SimState& state, std::string& outcome) const override {
    outcome = "auth_failed";
    if (req.header("X-Form-Key") != key_id_) return error(401, "unknown_key", "unknown key id");
    const std::string ts(req.header("X-Form-Timestamp"));
    const std::string nonce(req.header("X-Form-Nonce"));
    const long long t = std::atoll(ts.c_str());
    if (ts.empty() || std::llabs(now_seconds() - t) > 300) return error(401, "timestamp_out_of_range", "timestamp is missing or more than 300 s off");
    if (nonce.size() < 8) return error(401, "nonce_missing", "nonce must be at least 8 characters");
    const std::string canonical = req.method + "\n" + req.path + "\n" + ts + "\n" + nonce + "\n" + req.body;
    const std::string expected = to_hex(hmac_sha256(secret_, canonical));
    if (!constant_time_equals(req.header("X-Form-Signature"), expected)) {
      return error(401, "signature_mismatch", "signature does not match");
    }
    if (!state.fresh_nonce(nonce)) return error(401, "nonce_replayed", "nonce was already used");
    auto f = fields(req.body);
    outcome = "malformed_request";
    if (!f.count("To") || !f.count("Template")) return error(400, "missing_field", "To and Template are required");
    outcome = "invalid_number";
    if (!valid_number(f["To"])) return error(400, "invalid_to", "the To number is not valid");
    outcome = "template_rejected";
    if (f["Template"].starts_with("REJECT")) return error(422, "template_rejected", "template not approved");
    if (auto vars = f.find("Vars"); vars != f.end() && !vars->second.empty()) {
      boost::system::error_code ec;
      json::parse(vars->second, ec);
      outcome = "malformed_request";
      if (ec) return error(400, "invalid_vars", "Vars must be a JSON object");
    }
    const std::string ref = f.count("Ref") ? f["Ref"] : std::string();
    std::string sid = ref.empty() ? std::string() : state.remembered(ref);
    outcome = sid.empty() ? "ok" : "deduplicated";
    if (sid.empty()) {
      sid = new_id("SM");
      if (!ref.empty()) state.remember(ref, sid);
    }
    return json_response(201, {{"sid", sid}, {"status", "queued"}, {"price", "0.0075"}});
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle:
        return error(429, "rate_limited", "too many requests", {{"Retry-After", std::to_string(f.retry_after_s)}});
      case FaultKind::kInvalid: return error(400, "invalid_to", "the To number is not valid");
      case FaultKind::kVendorError: return error(400, f.code, "injected");
      default: return error(500, "internal_error", "internal error");
    }
  }

 private:
  std::string key_id_;
  std::string secret_;
};

}  // namespace

HttpResponse json_response(int status, const json::object& body, HeaderList extra) {
  HttpResponse r{status, std::move(extra), json::serialize(body)};
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

std::string new_id(std::string_view prefix) {
  const std::uint64_t v = random_u64();
  return std::string(prefix) + to_hex(std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
}

long long now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool valid_number(std::string_view to) {
  if (to.size() < 8 || to.size() > 16 || to[0] != '+' || to[1] < '1' || to[1] > '9') return false;
  for (size_t i = 1; i < to.size(); ++i) {
    if (to[i] < '0' || to[i] > '9') return false;
  }
  return !to.starts_with("+999");
}

std::vector<std::unique_ptr<Dialect>> make_dialects(const Credentials& creds) {
  std::vector<std::unique_ptr<Dialect>> out;
  add_vendor_dialects(creds, out);
  add_capability_dialects(creds, out);
  out.push_back(std::make_unique<JsonDialect>(creds.token));
  out.push_back(std::make_unique<FormDialect>(creds.key_id, creds.secret));
  return out;
}

}  // namespace tollgate::sim
