// The vendor dialects of tollgate-sim: Alibaba Cloud Dysmsapi SendSms (RPC
// signature v1 and ACS3), Tencent Cloud SMS SendSms (TC3), Twilio Messages (basic
// auth) and AWS SNS Publish (SigV4, XML answers). Each verifies the vendor's
// signature on every request — recomputed from the request as received — and
// answers in the vendor's documented shape, error envelopes included. The sim's
// --key-id and --secret are every vendor's access key id (account SID) and secret
// (auth token). See docs/sim.md.
#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/formats.h"
#include "core/time_format.h"
#include "core/vendor_signatures.h"
#include "sim/dialects.h"

namespace tollgate::sim {
namespace {

namespace json = boost::json;

std::optional<std::string> find(const NameValues& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k == name) return v;
  }
  return std::nullopt;
}

bool is_form(const HttpRequest& req) {
  return to_lower(req.header("Content-Type")).starts_with("application/x-www-form-urlencoded");
}

// The params of an RPC-style request: its query and, when form-encoded, its body.
NameValues params_of(const HttpRequest& req) {
  NameValues out;
  parse_name_values(req.query, false, out);
  if (is_form(req)) parse_name_values(req.body, true, out);
  return out;
}

bool fresh_time(std::optional<WallTime> t, long long window_s) {
  return t && std::llabs(now_seconds() - unix_seconds(*t)) <= window_s;
}

// Mainland numbers may come without the country code.
std::string normalize_cn(std::string n) {
  if (n.size() == 11 && n[0] == '1') return "+86" + n;
  if (n.starts_with("0086")) return "+" + n.substr(2);
  return n;
}

// "K1=v1, K2=v2" (or comma without space) after the scheme name.
std::map<std::string, std::string> auth_fields(std::string_view auth, std::string_view scheme) {
  std::map<std::string, std::string> out;
  if (!auth.starts_with(scheme) || auth.size() <= scheme.size() || auth[scheme.size()] != ' ') return out;
  std::string_view rest = auth.substr(scheme.size() + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos) out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The canonical request as the server rebuilds it from the headers the client signed.
CanonicalRequest rebuild(const HttpRequest& req, std::string uri, std::string query,
                         const std::vector<std::string>& signed_headers, std::string payload_hash, bool lower_values) {
  CanonicalRequest cr;
  cr.method = req.method;
  cr.uri = std::move(uri);
  cr.query = std::move(query);
  for (const auto& name : signed_headers) cr.add_header(name, req.header(name), lower_values);
  cr.payload_hash = std::move(payload_hash);
  return cr;
}

// --- Alibaba Cloud Dysmsapi SendSms --------------------------------------------------------
class AliyunDialect final : public Dialect {
 public:
  explicit AliyunDialect(const Credentials& c) : creds_(c) {}
  std::string_view name() const override { return "aliyun"; }

  bool matches(const HttpRequest& req) const override {
    if (!req.header("x-acs-action").empty()) return true;
    return req.path.ends_with("/") && find(params_of(req), "SignatureMethod").has_value();
  }

  std::string ref(const HttpRequest& req) const override { return find(params_of(req), "OutId").value_or(""); }

  HttpResponse answer(const HttpRequest& req, SimState& state, std::string& outcome) const override {
    NameValues params = params_of(req);
    const bool acs3 = !req.header("x-acs-action").empty();
    outcome = "auth_failed";
    if (auto refused = acs3 ? verify_acs3(req, state) : verify_rpc(req, params, state)) return *refused;
    const std::string action = acs3 ? std::string(req.header("x-acs-action")) : find(params, "Action").value_or("");
    const std::string version = acs3 ? std::string(req.header("x-acs-version")) : find(params, "Version").value_or("");
    outcome = "malformed_request";
    if (action != "SendSms" || version != "2017-05-25") return error("InvalidAction.NotFound");
    const auto to = find(params, "PhoneNumbers");
    const auto tpl = find(params, "TemplateCode");
    if (!to || !tpl) return error("MissingParameter");
    outcome = "invalid_number";
    if (!valid_number(normalize_cn(*to))) return error("isv.MOBILE_NUMBER_ILLEGAL");
    outcome = "template_rejected";
    if (find(params, "SignName").value_or("").empty()) return error("isv.SMS_SIGNATURE_ILLEGAL");
    if (tpl->starts_with("REJECT")) return error("isv.SMS_TEMPLATE_ILLEGAL");
    if (auto vars = find(params, "TemplateParam"); vars && !vars->empty()) {
      boost::system::error_code ec;
      auto v = json::parse(*vars, ec);
      outcome = "malformed_request";
      if (ec || !v.is_object()) return error("isv.INVALID_JSON_PARAM");
    }
    outcome = "ok";
    return json_response(200, {{"Message", "OK"},
                               {"RequestId", new_id("req-")},
                               {"Code", "OK"},
                               {"BizId", std::to_string(now_seconds()) + new_id("").substr(0, 8) + "^0"}});
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return error("isv.BUSINESS_LIMIT_CONTROL");
      case FaultKind::kInvalid: return error("isv.MOBILE_NUMBER_ILLEGAL");
      case FaultKind::kVendorError: return error(f.code);
      default: return error("isp.SYSTEM_ERROR");
    }
  }

 private:
  // Business errors (isv.*, isp.*) come inside HTTP 200; gateway errors carry a status.
  static HttpResponse error(const std::string& code) {
    static const std::map<std::string, int> kStatus = {
        {"SignatureDoesNotMatch", 400},       {"InvalidTimeStamp.Expired", 400}, {"SignatureNonceUsed", 400},
        {"MissingParameter", 400},            {"IncompleteSignature", 400},      {"Throttling.User", 400},
        {"InvalidAccessKeyId.NotFound", 404}, {"InvalidAction.NotFound", 404},   {"Forbidden.RAM", 403},
        {"InternalError", 500},               {"ServiceUnavailable", 503}};
    int status = 200;
    if (auto it = kStatus.find(code); it != kStatus.end()) status = it->second;
    json::object body{{"RequestId", new_id("req-")}, {"Code", code}, {"Message", "simulated: " + code}};
    if (status != 200) body["HostId"] = "dysmsapi.aliyuncs.com";
    return json_response(status, body);
  }

  std::optional<HttpResponse> verify_rpc(const HttpRequest& req, NameValues& params, SimState& state) const {
    const auto sig = find(params, "Signature");
    std::erase_if(params, [](const auto& p) { return p.first == "Signature"; });
    if (!sig || find(params, "SignatureMethod") != "HMAC-SHA1" || find(params, "SignatureVersion") != "1.0") {
      return error("IncompleteSignature");
    }
    if (find(params, "AccessKeyId") != creds_.key_id) return error("InvalidAccessKeyId.NotFound");
    if (!fresh_time(parse_rfc3339(find(params, "Timestamp").value_or("")), 900)) return error("InvalidTimeStamp.Expired");
    if (!constant_time_equals(*sig, aliyun_rpc_signature(creds_.secret, req.method, params))) {
      return error("SignatureDoesNotMatch");
    }
    const auto nonce = find(params, "SignatureNonce").value_or("");
    if (nonce.empty() || !state.fresh_nonce("aliyun:" + nonce)) return error("SignatureNonceUsed");
    return std::nullopt;
  }

  std::optional<HttpResponse> verify_acs3(const HttpRequest& req, SimState& state) const {
    auto f = auth_fields(req.header("Authorization"), "ACS3-HMAC-SHA256");
    if (!f.count("Credential") || !f.count("SignedHeaders") || !f.count("Signature")) return error("IncompleteSignature");
    if (f["Credential"] != creds_.key_id) return error("InvalidAccessKeyId.NotFound");
    if (!fresh_time(parse_rfc3339(req.header("x-acs-date")), 900)) return error("InvalidTimeStamp.Expired");
    const std::string payload_hash = sha256_hex(req.body);
    const auto signed_headers = split(f["SignedHeaders"], ';');
    const bool covers = std::find(signed_headers.begin(), signed_headers.end(), "host") != signed_headers.end() &&
                        std::find(signed_headers.begin(), signed_headers.end(), "x-acs-date") != signed_headers.end();
    NameValues query;
    parse_name_values(req.query, false, query);
    const auto cr = rebuild(req, req.path, canonical_query(query), signed_headers, payload_hash, false);
    if (!covers || req.header("x-acs-content-sha256") != payload_hash ||
        !constant_time_equals(f["Signature"], acs3_signature(creds_.secret, cr.text()))) {
      return error("SignatureDoesNotMatch");
    }
    const std::string nonce(req.header("x-acs-signature-nonce"));
    if (nonce.empty() || !state.fresh_nonce("aliyun:" + nonce)) return error("SignatureNonceUsed");
    return std::nullopt;
  }

  Credentials creds_;
};

// --- Tencent Cloud SMS SendSms (API 3.0) ---------------------------------------------------
class TencentDialect final : public Dialect {
 public:
  explicit TencentDialect(const Credentials& c) : creds_(c) {}
  std::string_view name() const override { return "tencent"; }
  bool matches(const HttpRequest& req) const override { return !req.header("X-TC-Action").empty(); }

  std::string ref(const HttpRequest& req) const override {
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object()) return {};
    const auto* r = v.get_object().if_contains("SessionContext");
    return r && r->is_string() ? std::string(r->get_string()) : std::string();
  }

  HttpResponse answer(const HttpRequest& req, SimState&, std::string& outcome) const override {
    outcome = "auth_failed";
    if (auto refused = verify(req)) return *refused;
    outcome = "malformed_request";
    const std::string action = to_lower(req.header("X-TC-Action"));
    if (action == "idcardverification") return id_card_verification(req, outcome);
    if (action != "sendsms") return error("InvalidAction");
    if (req.header("X-TC-Version") != "2021-01-11") return error("NoSuchVersion");
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object()) return error("InvalidParameter");
    const auto& o = v.get_object();
    const auto* numbers = o.if_contains("PhoneNumberSet");
    const auto* tpl = o.if_contains("TemplateId");
    const auto* app = o.if_contains("SmsSdkAppId");
    if (!numbers || !numbers->is_array() || numbers->get_array().empty() || !tpl || !tpl->is_string() || !app) {
      return error("MissingParameter");
    }
    outcome = "template_rejected";
    const auto* sign = o.if_contains("SignName");
    if (!sign || !sign->is_string() || sign->get_string().empty()) return error("FailedOperation.SignatureIncorrectOrUnapproved");
    if (tpl->get_string().starts_with("REJECT")) return error("FailedOperation.TemplateIncorrectOrUnapproved");
    json::array set;
    outcome = "ok";
    for (const auto& n : numbers->get_array()) {
      const std::string number = n.is_string() ? std::string(n.get_string()) : std::string();
      const bool valid = valid_number(normalize_cn(number));
      if (!valid) outcome = "invalid_number";
      set.push_back(status(number, valid ? "Ok" : "InvalidParameterValue.IncorrectPhoneNumber", o));
    }
    return json_response(200, {{"Response", {{"SendStatusSet", std::move(set)}, {"RequestId", new_id("req-")}}}});
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return error("RequestLimitExceeded");
      case FaultKind::kInvalid: return per_number("InvalidParameterValue.IncorrectPhoneNumber");
      case FaultKind::kVendorError:
        // Codes about one number come in its SendStatusSet entry; the rest as Response.Error.
        if (f.code.starts_with("LimitExceeded.PhoneNumber") || f.code.starts_with("InvalidParameterValue.") ||
            f.code.starts_with("UnsupportedOperation.")) {
          return per_number(f.code);
        }
        return error(f.code);
      default: return error("InternalError");
    }
  }

 private:
  static json::object status(const std::string& number, const std::string& code, const json::object& req = {}) {
    json::object s{{"SerialNo", code == "Ok" ? "5000:" + std::to_string(now_seconds()) + new_id("").substr(0, 10) : ""},
                   {"PhoneNumber", number},
                   {"Fee", code == "Ok" ? 1 : 0},
                   {"Code", code},
                   {"Message", code == "Ok" ? "send success" : "simulated: " + code},
                   {"IsoCode", number.starts_with("+86") ? "CN" : "US"}};
    if (const auto* ctx = req.if_contains("SessionContext")) s["SessionContext"] = *ctx;
    return s;
  }
  static HttpResponse per_number(const std::string& code) {
    json::array set{status("+8613800000000", code)};
    return json_response(200, {{"Response", {{"SendStatusSet", std::move(set)}, {"RequestId", new_id("req-")}}}});
  }
  // Tencent answers every error with HTTP 200 and Response.Error.
  static HttpResponse error(const std::string& code) {
    return json_response(200, {{"Response",
                                {{"Error", {{"Code", code}, {"Message", "simulated: " + code}}},
                                 {"RequestId", new_id("req-")}}}});
  }

  // FaceID IdCardVerification (2018-03-01): Result "0" consistent, "-1" inconsistent,
  // "-2" invalid ID number, "-3" invalid name, "-5" no such record; errors as usual.
  static HttpResponse id_card_verification(const HttpRequest& req, std::string& outcome) {
    if (req.header("X-TC-Version") != "2018-03-01") return error("NoSuchVersion");
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object()) return error("InvalidParameter");
    const auto* id = v.as_object().if_contains("IdCard");
    const auto* name = v.as_object().if_contains("Name");
    if (!id || !id->is_string() || !name || !name->is_string()) return error("MissingParameter");
    std::string result = "0", description = "姓名和身份证号一致";
    if (!is_cn_resident_id(id->get_string())) {
      result = "-2", description = "非法身份证号（长度、校验位等不正确）";
    } else if (name->get_string().empty()) {
      result = "-3", description = "非法姓名（长度、格式等不正确）";
    } else if (auto it = known_people().find(std::string(id->get_string())); it == known_people().end()) {
      result = "-5", description = "证件库中无此身份证记录";
    } else if (it->second != name->get_string()) {
      result = "-1", description = "姓名和身份证号不一致";
    }
    outcome = result == "0" ? "consistent" : result == "-1" ? "inconsistent" : result == "-5" ? "no_record" : "invalid_id";
    return json_response(200, {{"Response", {{"Result", result}, {"Description", description}, {"RequestId", new_id("req-")}}}});
  }

  std::optional<HttpResponse> verify(const HttpRequest& req) const {
    auto f = auth_fields(req.header("Authorization"), "TC3-HMAC-SHA256");
    const auto credential = split(f["Credential"], '/');
    if (credential.size() != 4 || credential[3] != "tc3_request" || !f.count("Signature")) {
      return error("AuthFailure.InvalidAuthorization");
    }
    if (credential[0] != creds_.key_id) return error("AuthFailure.SecretIdNotFound");
    const std::string ts(req.header("X-TC-Timestamp"));
    const WallTime t{std::chrono::seconds(std::atoll(ts.c_str()))};
    if (ts.empty() || !fresh_time(t, 300)) return error("AuthFailure.SignatureExpire");
    const auto signed_headers = split(f["SignedHeaders"], ';');
    const auto cr = rebuild(req, "/", req.method == "GET" ? req.query : std::string(), signed_headers,
                            sha256_hex(req.body), true);
    const bool covers = std::find(signed_headers.begin(), signed_headers.end(), "host") != signed_headers.end() &&
                        std::find(signed_headers.begin(), signed_headers.end(), "content-type") != signed_headers.end();
    if (!covers || credential[1] != format_iso8601(t).substr(0, 10) ||
        !constant_time_equals(f["Signature"], tc3_signature(creds_.secret, credential[1], credential[2], ts, cr.text()))) {
      return error("AuthFailure.SignatureFailure");
    }
    return std::nullopt;
  }

  Credentials creds_;
};

// --- Twilio Programmable Messaging: POST /2010-04-01/Accounts/{Sid}/Messages.json -----------
class TwilioDialect final : public Dialect {
 public:
  explicit TwilioDialect(const Credentials& c) : creds_(c) {}
  std::string_view name() const override { return "twilio"; }
  bool matches(const HttpRequest& req) const override {
    return req.path.find("/2010-04-01/Accounts/") != std::string::npos && req.path.ends_with("/Messages.json");
  }
  std::string ref(const HttpRequest&) const override { return {}; }

  HttpResponse answer(const HttpRequest& req, SimState&, std::string& outcome) const override {
    outcome = "auth_failed";
    const std::string expected = "Basic " + base64_encode(creds_.key_id + ":" + creds_.secret);
    if (!constant_time_equals(req.header("Authorization"), expected)) return error(20003);
    const size_t at = req.path.find("/Accounts/") + 10;
    if (req.path.substr(at, req.path.size() - at - 14) != creds_.key_id) return error(20404);
    if (req.method != "POST") return error(20004);
    NameValues fields;
    outcome = "malformed_request";
    if (!is_form(req) || !parse_name_values(req.body, true, fields)) return error(21602);
    const auto to = find(fields, "To");
    if (!to) return error(21604);
    if (!find(fields, "From") && !find(fields, "MessagingServiceSid")) return error(21603);
    const auto content = find(fields, "ContentSid");
    if (!find(fields, "Body") && !content) return error(21602);
    if (auto vars = find(fields, "ContentVariables"); vars && !vars->empty()) {
      boost::system::error_code ec;
      json::parse(*vars, ec);
      if (ec) return error(21656);
    }
    outcome = "invalid_number";
    if (!valid_number(*to)) return error(21211);
    outcome = "template_rejected";
    if (content && content->starts_with("REJECT")) return error(21655);
    outcome = "ok";
    const std::string sid = new_id("SM");
    return json_response(201, {{"sid", sid},
                               {"account_sid", creds_.key_id},
                               {"to", *to},
                               {"from", find(fields, "From").value_or("")},
                               {"status", "queued"},
                               {"num_segments", "1"},
                               {"direction", "outbound-api"},
                               {"api_version", "2010-04-01"},
                               {"price", nullptr},
                               {"error_code", nullptr},
                               {"error_message", nullptr},
                               {"uri", "/2010-04-01/Accounts/" + creds_.key_id + "/Messages/" + sid + ".json"}});
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return error(20429);
      case FaultKind::kInvalid: return error(21211);
      case FaultKind::kVendorError: return error(std::atoi(f.code.c_str()));
      default: return error(20500);
    }
  }

 private:
  // Twilio's error envelope: {"code", "message", "more_info", "status"}.
  static HttpResponse error(int code) {
    static const std::map<int, std::pair<int, const char*>> kErrors = {
        {20003, {401, "Authenticate"}},
        {20004, {405, "Method not allowed"}},
        {20404, {404, "The requested resource was not found"}},
        {20429, {429, "Too Many Requests"}},
        {20500, {500, "Internal Server Error"}},
        {20503, {503, "Service Unavailable"}},
        {21211, {400, "The 'To' number is not a valid phone number."}},
        {21602, {400, "Message body is required."}},
        {21603, {400, "A 'From' phone number is required."}},
        {21604, {400, "A 'To' phone number is required."}},
        {21606, {400, "The 'From' phone number provided is not a valid message-capable phone number for this account."}},
        {21610, {400, "Attempt to send to unsubscribed recipient"}},
        {21655, {400, "The ContentSid is Invalid."}},
        {21656, {400, "The ContentVariables Parameter is invalid."}}};
    auto it = kErrors.find(code);
    const int status = it == kErrors.end() ? 400 : it->second.first;
    const char* message = it == kErrors.end() ? "simulated error" : it->second.second;
    return json_response(status, {{"code", code},
                                  {"message", message},
                                  {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                                  {"status", status}});
  }

  Credentials creds_;
};

// --- AWS SNS Publish (query API, SigV4, XML answers) -------------------------------------------
class AwsSnsDialect final : public Dialect {
 public:
  explicit AwsSnsDialect(const Credentials& c) : creds_(c) {}
  std::string_view name() const override { return "aws_sns"; }
  bool matches(const HttpRequest& req) const override {
    return req.header("Authorization").starts_with("AWS4-HMAC-SHA256 ");
  }
  std::string ref(const HttpRequest&) const override { return {}; }

  HttpResponse answer(const HttpRequest& req, SimState&, std::string& outcome) const override {
    outcome = "auth_failed";
    if (auto refused = verify(req)) return *refused;
    const NameValues params = params_of(req);
    outcome = "malformed_request";
    if (find(params, "Action") != "Publish") return error("InvalidAction");
    if (find(params, "Version") != "2010-03-31") return error("InvalidParameterValue");
    const auto number = find(params, "PhoneNumber");
    if (!number || find(params, "Message").value_or("").empty()) return error("InvalidParameter");
    outcome = "invalid_number";
    if (!valid_number(*number)) return error("InvalidParameter");
    outcome = "ok";
    return xml(200, "<PublishResponse xmlns=\"https://sns.amazonaws.com/doc/2010-03-31/\">\n  <PublishResult>\n"
                    "    <MessageId>" + new_id("") + "-" + new_id("").substr(0, 8) + "</MessageId>\n  </PublishResult>\n"
                    "  <ResponseMetadata>\n    <RequestId>" + new_id("") + "</RequestId>\n  </ResponseMetadata>\n"
                    "</PublishResponse>\n");
  }

  HttpResponse fault_answer(const Fault& f) const override {
    switch (f.kind) {
      case FaultKind::kThrottle: return error("Throttling");
      case FaultKind::kInvalid: return error("InvalidParameter");
      case FaultKind::kVendorError: return error(f.code);
      default: return error("InternalError");
    }
  }

 private:
  static HttpResponse xml(int status, std::string body) {
    return HttpResponse{status, {{"Content-Type", "text/xml"}}, std::move(body)};
  }
  static HttpResponse error(const std::string& code) {
    static const std::map<std::string, int> kStatus = {
        {"AuthorizationError", 403}, {"InvalidClientTokenId", 403}, {"SignatureDoesNotMatch", 403},
        {"InvalidSecurity", 403},    {"RequestExpired", 400},       {"ThrottledException", 429},
        {"InternalError", 500},      {"InternalFailure", 500},      {"ServiceUnavailable", 503},
        {"InvalidAction", 400},      {"NotFound", 404}};
    auto it = kStatus.find(code);
    const int status = it == kStatus.end() ? 400 : it->second;
    return xml(status, "<ErrorResponse xmlns=\"https://sns.amazonaws.com/doc/2010-03-31/\">\n  <Error>\n    <Type>" +
                           std::string(status >= 500 ? "Receiver" : "Sender") + "</Type>\n    <Code>" + code +
                           "</Code>\n    <Message>simulated: " + code + "</Message>\n  </Error>\n  <RequestId>" +
                           new_id("") + "</RequestId>\n</ErrorResponse>\n");
  }

  std::optional<HttpResponse> verify(const HttpRequest& req) const {
    auto f = auth_fields(req.header("Authorization"), "AWS4-HMAC-SHA256");
    const auto credential = split(f["Credential"], '/');
    if (credential.size() != 5 || credential[4] != "aws4_request" || !f.count("Signature")) {
      return error("IncompleteSignature");
    }
    if (credential[0] != creds_.key_id) return error("InvalidClientTokenId");
    const std::string amz(req.header("X-Amz-Date"));
    if (amz.size() != 16) return error("IncompleteSignature");
    const std::string iso = amz.substr(0, 4) + "-" + amz.substr(4, 2) + "-" + amz.substr(6, 2) + "T" + amz.substr(9, 2) +
                            ":" + amz.substr(11, 2) + ":" + amz.substr(13, 2) + "Z";
    if (!fresh_time(parse_rfc3339(iso), 900)) return error("RequestExpired");
    NameValues query;
    parse_name_values(req.query, false, query);
    const auto signed_headers = split(f["SignedHeaders"], ';');
    const auto cr = rebuild(req, sigv4_canonical_uri(req.path, true), canonical_query(query), signed_headers,
                            sha256_hex(req.body), false);
    const bool covers = std::find(signed_headers.begin(), signed_headers.end(), "host") != signed_headers.end();
    if (!covers || credential[1] != amz.substr(0, 8) || credential[3] != "sns" ||
        !constant_time_equals(f["Signature"],
                              sigv4_signature(creds_.secret, amz, credential[2], credential[3], cr.text()))) {
      return error("SignatureDoesNotMatch");
    }
    return std::nullopt;
  }

  Credentials creds_;
};

}  // namespace

void add_vendor_dialects(const Credentials& creds, std::vector<std::unique_ptr<Dialect>>& out) {
  out.push_back(std::make_unique<TwilioDialect>(creds));
  out.push_back(std::make_unique<TencentDialect>(creds));
  out.push_back(std::make_unique<AwsSnsDialect>(creds));
  out.push_back(std::make_unique<AliyunDialect>(creds));
}

}  // namespace tollgate::sim
