// GET /v1/requests/{id}: the status of a call, for the caller that made it.
#include "api/api.h"
#include "api/replies.h"
#include "engine/outcome_json.h"

namespace tollgate::api {

using namespace tollgate::engine;

namespace asio = boost::asio;

asio::awaitable<http::ServerResponse> ApiHandler::status(const HttpRequest& req, std::string_view id) {
  const auto rt = runtime_.get();
  const std::string_view auth = req.header("Authorization");
  const CallerRuntime* caller = auth.starts_with("Bearer ") ? rt->caller_by_key(auth.substr(7)) : nullptr;
  if (!caller) co_return error_reply(Error::make(ErrorClass::kUnauthorized, "unknown or missing API key"), {});
  const Error not_found = Error::make(ErrorClass::kNotFound, "no request with id '" + std::string(id) + "'");
  if (id.empty() || id.size() > 64) co_return error_reply(not_found, {});
  auto rec = co_await store_.get(std::string(id));
  if (!rec) co_return error_reply(Error::make(ErrorClass::kUnavailable, "the store could not be read"), {});
  // Another caller's request does not exist, as far as this caller can tell.
  if (!rec->has_value() || (*rec)->caller != caller->config->name) co_return error_reply(not_found, {});
  auto doc = status_json(**rec);
  if (events_) {
    // A status without its events is still an answer: say they could not be read.
    auto evs = co_await events_->events_for_call((*rec)->id);
    boost::json::array list;
    if (evs) {
      for (const auto& e : *evs) list.push_back(event_json(e));
      doc["events"] = std::move(list);
    } else {
      doc["events_error"] = "the events could not be read now";
    }
  }
  co_return json_reply(200, doc, (*rec)->id);
}

}  // namespace tollgate::api
