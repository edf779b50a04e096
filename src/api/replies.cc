#include "api/replies.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/json_text.h"

namespace tollgate::api {

namespace json = boost::json;
using engine::attempts_json;
using engine::error_json;
using engine::status_json;

namespace {

json::value parse_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

}  // namespace

namespace {

http::ServerResponse json_text_reply(int status, std::string body, const std::string& id) {
  HttpResponse r{status, {}, std::move(body)};
  r.headers.reserve(2);
  r.headers.emplace_back("Content-Type", "application/json");
  if (!id.empty()) r.headers.emplace_back("X-Request-Id", id);
  return http::ServerResponse{std::move(r)};
}

}  // namespace

http::ServerResponse json_reply(int status, const json::object& body, const std::string& id) {
  return json_text_reply(status, json::serialize(body), id);
}

http::ServerResponse error_reply(const Error& e, const std::string& id, const std::vector<engine::AttemptRecord>* attempts,
                                 Traffic traffic) {
  json::object body{{"error", error_json(e)}};
  if (!id.empty()) body["id"] = id;
  if (attempts && !attempts->empty()) body["attempts"] = attempts_json(*attempts);
  if (traffic != Traffic::kLive) body["traffic"] = to_string(traffic);
  auto reply = json_reply(http_status(e), body, id);
  if (e.retry_after.count() > 0) {
    reply.response.headers.emplace_back("Retry-After", std::to_string((e.retry_after.count() + 999) / 1000));
  }
  return reply;
}

http::ServerResponse success_reply(const std::string& id, const engine::CallOutcome& outcome, Traffic traffic) {
  // Written as text: every successful call answers with it.
  std::string body;
  body.reserve(256);
  {
    JsonObjectWriter w(body);
    w.string("id", id).string("status", "succeeded").string("provider", outcome.provider);
    w.value("result", outcome.result);
    engine::append_attempts_json(w.member("attempts"), outcome.attempts);
    if (traffic != Traffic::kLive) w.string("traffic", to_string(traffic));
  }
  return json_text_reply(200, std::move(body), id);
}

namespace {

// The error class of a synchronous call that failed with an error but no stored answer.
std::optional<ErrorClass> failed_sync_error(const store::CallRecord& rec, const json::value& stored) {
  if (rec.async || !stored.is_object()) return std::nullopt;
  const auto* code = stored.as_object().if_contains("code");
  if (!code || !code->is_string()) return std::nullopt;
  return parse_error_class(code->get_string());
}

}  // namespace

http::ServerResponse replay_stored_answer(const store::CallRecord& rec) {
  const json::value stored = parse_or_null(rec.error_json.empty() ? rec.result_json : rec.error_json);
  int status = 200;
  json::object body;
  if (stored.is_object() && stored.as_object().contains("status") && stored.as_object().contains("body")) {
    status = static_cast<int>(stored.at("status").to_number<std::int64_t>());
    body = stored.at("body").as_object();
  } else if (const auto cls = failed_sync_error(rec, stored)) {
    // A synchronous call that failed without an answer to store (cut off by a
    // shutdown or crash): a repeat gets the error as the first caller would have.
    status = http_status(Error{*cls, ""});
    body = json::object{{"error", stored}, {"id", rec.id}};
  } else {
    body = status_json(rec);
  }
  auto reply = json_reply(status, body, rec.id);
  reply.response.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

http::ServerResponse accepted_reply(const store::CallRecord& rec, bool prefer_applied) {
  json::object body = status_json(rec);
  body["status"] = store::to_string(rec.state);
  body["links"] = json::object{{"self", "/v1/requests/" + rec.id}};
  auto reply = json_reply(store::is_terminal(rec.state) ? 200 : 202, body, rec.id);
  reply.response.headers.emplace_back("Location", "/v1/requests/" + rec.id);
  if (prefer_applied) reply.response.headers.emplace_back("Preference-Applied", "respond-async");
  return reply;
}

}  // namespace tollgate::api
