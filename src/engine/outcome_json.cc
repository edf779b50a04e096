#include "engine/outcome_json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/json_text.h"
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

void append_attempts_json(std::string& out, const std::vector<AttemptRecord>& attempts) {
  out.push_back('[');
  for (const auto& a : attempts) {
    if (out.back() != '[') out.push_back(',');
    JsonObjectWriter o(out);
    o.string("provider", a.provider).string("outcome", a.outcome).number("duration_ms", a.duration.count());
    if (!a.provider_code.empty()) o.string("provider_code", a.provider_code);
    if (a.probe) o.boolean("probe", true);
    if (a.hedge) o.boolean("hedge", true);
  }
  out.push_back(']');
}

json::object error_json(const Error& e) {
  json::object err{{"code", to_string(e.cls)}, {"message", e.message}, {"retryable", is_retryable(e.cls)}};
  if (!e.provider.empty()) err["provider"] = e.provider;
  if (!e.provider_code.empty()) err["provider_code"] = e.provider_code;
  return err;
}




std::string stored_answer(int status, std::string_view body) {
  // The answer is already JSON: wrap it without parsing it again.
  std::string out;
  out.reserve(24 + body.size());
  out += "{\"status\":";
  out += std::to_string(status);
  out += ",\"body\":";
  out += body.empty() ? std::string_view("{}") : body;
  out += '}';
  return out;
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


boost::json::object event_json(const store::EventRecord& ev) {
  boost::system::error_code ec;
  auto v = boost::json::parse(ev.doc_json, ec);
  boost::json::object out = !ec && v.is_object() ? std::move(v.get_object()) : boost::json::object{{"id", ev.id}};
  out["call_id"] = ev.call_id;
  return out;
}

}  // namespace tollgate::engine
