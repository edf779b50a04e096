#include "queue/message.h"

#include <boost/json.hpp>

#include "core/encoding.h"

namespace tollgate::queue {

namespace json = boost::json;

namespace {

constexpr std::string_view kReplyScheme = "amqp:";

Error poison(std::string message) { return Error{ErrorClass::kInvalidRequest, std::move(message)}; }

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string reply_url(const std::string& reply_to, const std::string& correlation_id) {
  return std::string(kReplyScheme) + percent_encode(reply_to) + "?correlation_id=" + percent_encode(correlation_id);
}

std::optional<std::pair<std::string, std::string>> parse_reply_url(std::string_view url) {
  if (!url.starts_with(kReplyScheme)) return std::nullopt;
  url.remove_prefix(kReplyScheme.size());
  const auto q = url.find("?correlation_id=");
  if (q == std::string_view::npos) return std::nullopt;
  auto to = percent_decode(url.substr(0, q), false);
  auto cid = percent_decode(url.substr(q + 16), false);
  if (!to || !cid || to->empty()) return std::nullopt;
  return std::make_pair(std::move(*to), std::move(*cid));
}

Result<HttpRequest> to_request(const Delivery& d, const config::QueueConsumerConfig& consumer) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  const json::value doc = json::parse(d.body, ec, {}, opts);
  if (ec) return poison("the message body is not JSON");
  if (!doc.is_object()) return poison("the message body must be a JSON object {\"capability\", \"params\"}");
  const auto& o = doc.get_object();
  for (const auto& [key, value] : o) {
    if (key != "capability" && key != "params") {
      return poison("unknown field '" + std::string(key.substr(0, 64)) + "' (a request has capability and params)");
    }
  }
  std::string capability = consumer.capability;
  if (const auto* c = o.if_contains("capability")) {
    if (!c->is_string()) return poison("capability must be a string such as \"sms.send\"");
    const std::string named(c->get_string());
    if (!capability.empty() && named != capability) {
      return poison("this queue serves " + capability + ", not '" + named.substr(0, 64) + "'");
    }
    capability = named;
  }
  if (capability.empty()) return poison("the message names no capability (\"capability\": \"sms.send\")");
  const auto dot = capability.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == capability.size() || !is_name(capability) ||
      capability.find('/') != std::string::npos || capability.find('?') != std::string::npos) {
    return poison("capability must look like domain.operation");
  }
  const json::value* params = o.if_contains("params");
  if (params && !params->is_object()) return poison("params must be a JSON object");

  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/" + capability.substr(0, dot) + "/" + capability.substr(dot + 1);
  req.body = params ? json::serialize(*params) : std::string("{}");
  req.headers.emplace_back("Content-Type", "application/json");
  if (!d.message_id.empty()) req.headers.emplace_back("Idempotency-Key", d.message_id);
  if (!d.not_before.empty()) req.headers.emplace_back("X-Tollgate-Not-Before", d.not_before);
  if (!d.timeout_ms.empty()) req.headers.emplace_back("X-Timeout-Ms", d.timeout_ms);
  req.door_caller = consumer.caller;
  if (!d.reply_to.empty()) req.door_reply = reply_url(d.reply_to, d.correlation_id);
  return req;
}

Disposition disposition(int status, std::string_view body) {
  if (status == 202) return Disposition::kAck;
  if (status == 409 || status == 429) return Disposition::kRetryLater;
  // The request itself is wrong: another delivery would be refused the same way.
  // A 422 that carries attempts is a provider's verdict on a valid request: an answer.
  if (status == 400 || status == 401 || status == 403 || status == 404 || status == 405 || status == 413) {
    return Disposition::kDeadLetter;
  }
  if (status == 422 && body.find("\"attempts\"") == std::string_view::npos) return Disposition::kDeadLetter;
  return Disposition::kReplyAndAck;
}

std::string error_body(const Error& e) {
  return json::serialize(json::object{
      {"error", {{"code", to_string(e.cls)}, {"message", e.message}, {"retryable", false}}}});
}

}  // namespace tollgate::queue
