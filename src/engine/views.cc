#include "engine/views.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/time_format.h"

namespace tollgate::engine {

namespace json = boost::json;

namespace {

json::value parse_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

}  // namespace

std::string iso_ms(std::int64_t unix_ms) { return format_iso8601_ms(WallTime(std::chrono::milliseconds(unix_ms))); }

json::array attempts_json(const std::vector<AttemptRecord>& attempts) {
  json::array out;
  out.reserve(attempts.size());
  for (const auto& a : attempts) {
    json::object o{{"provider", a.provider}, {"outcome", a.outcome}, {"duration_ms", a.duration.count()}};
    if (!a.provider_code.empty()) o["provider_code"] = a.provider_code;
    if (a.probe) o["probe"] = true;
    if (a.hedge) o["hedge"] = true;
    out.push_back(std::move(o));
  }
  return out;
}

json::object error_json(const Error& e) {
  json::object err{{"code", to_string(e.cls)}, {"message", e.message}, {"retryable", is_retryable(e.cls)}};
  if (!e.provider.empty()) err["provider"] = e.provider;
  if (!e.provider_code.empty()) err["provider_code"] = e.provider_code;
  return err;
}

http::ServerResponse json_reply(int status, const json::object& body, const std::string& id) {
  HttpResponse r{status, {{"Content-Type", "application/json"}}, json::serialize(body)};
  if (!id.empty()) r.headers.emplace_back("X-Request-Id", id);
  return http::ServerResponse{std::move(r)};
}

http::ServerResponse error_reply(const Error& e, const std::string& id, const std::vector<AttemptRecord>* attempts,
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

http::ServerResponse success_reply(const std::string& id, const CallOutcome& outcome, Traffic traffic) {
  json::object body{{"id", id},
                    {"status", "succeeded"},
                    {"provider", outcome.provider},
                    {"result", outcome.result},
                    {"attempts", attempts_json(outcome.attempts)}};
  if (traffic != Traffic::kLive) body["traffic"] = to_string(traffic);
  return json_reply(200, body, id);
}

std::string stored_answer(int status, std::string_view body) {
  // The answer is already JSON: wrap it without parsing it again.
  std::string out = "{\"status\":" + std::to_string(status) + ",\"body\":";
  out += body.empty() ? std::string_view("{}") : body;
  out += '}';
  return out;
}

http::ServerResponse replay_stored_answer(const store::CallRecord& rec) {
  const json::value stored = parse_or_null(rec.error_json.empty() ? rec.result_json : rec.error_json);
  int status = 200;
  json::object body;
  if (stored.is_object() && stored.as_object().contains("status") && stored.as_object().contains("body")) {
    status = static_cast<int>(stored.at("status").to_number<std::int64_t>());
    body = stored.at("body").as_object();
  } else {
    body = status_json(rec);
  }
  auto reply = json_reply(status, body, rec.id);
  reply.response.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

json::object status_json(const store::CallRecord& rec) {
  json::object o{{"id", rec.id},
                 {"capability", rec.capability},
                 {"state", store::to_string(rec.state)},
                 {"async", rec.async},
                 {"created_at", iso_ms(rec.created_ms)},
                 {"updated_at", iso_ms(rec.updated_ms)}};
  if (rec.async) {
    o["runs"] = rec.runs;
    if (!store::is_terminal(rec.state)) o["not_before"] = iso_ms(rec.not_before_ms);
  }
  if (!rec.provider.empty()) o["provider"] = rec.provider;
  if (!rec.trace_id.empty()) o["trace_id"] = rec.trace_id;
  // Stored answers of synchronous calls wrap the answer; async jobs store plain values.
  json::value result = parse_or_null(rec.result_json);
  json::value error = parse_or_null(rec.error_json);
  json::value attempts = parse_or_null(rec.attempts_json.empty() ? "[]" : rec.attempts_json);
  // A synchronous call stores its whole answer: take result, error and attempts from it.
  for (json::value* stored : {&result, &error}) {
    if (!stored->is_object() || !stored->as_object().contains("body")) continue;
    const json::value body = stored->at("body");
    const bool is_result = stored == &result;
    *stored = body.is_object() && body.as_object().contains(is_result ? "result" : "error")
                  ? body.at(is_result ? "result" : "error")
                  : json::value(nullptr);
    if (body.is_object() && body.as_object().contains("attempts")) attempts = body.at("attempts");
  }
  if (!result.is_null()) o["result"] = result;
  if (!error.is_null()) o["error"] = error;
  o["attempts"] = attempts.is_null() ? json::value(json::array{}) : attempts;
  if (!rec.callback_url.empty()) {
    o["callback"] = json::object{{"url", rec.callback_url},
                                 {"state", rec.callback_state == store::CallbackState::kNone
                                               ? "waiting"
                                               : std::string(store::to_string(rec.callback_state))},
                                 {"tries", rec.callback_tries},
                                 {"log", parse_or_null(rec.callback_log_json.empty() ? "[]" : rec.callback_log_json)}};
  }
  return o;
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

}  // namespace tollgate::engine
