#pragma once
// The caller API's HTTP answers: JSON replies, the error object with its status
// and Retry-After, the unified success answer, replays of stored answers and the
// 202 of a queued call. Pure functions.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/outcome_json.h"
#include "http/server.h"
#include "store/job_store.h"

namespace tollgate::api {

http::ServerResponse json_reply(int status, const boost::json::object& body, const std::string& id = {});
// Debug and stress answers carry "traffic" so nobody mistakes them for real ones.
http::ServerResponse error_reply(const Error& e, const std::string& id,
                                 const std::vector<engine::AttemptRecord>* attempts = nullptr,
                                 Traffic traffic = Traffic::kLive);
// 200 with {id, status: succeeded, provider, result, attempts}.
http::ServerResponse success_reply(const std::string& id, const engine::CallOutcome& outcome,
                                   Traffic traffic = Traffic::kLive);
http::ServerResponse replay_stored_answer(const store::CallRecord& rec);
// 202 for a call accepted into the queue.
http::ServerResponse accepted_reply(const store::CallRecord& rec, bool prefer_applied);

}  // namespace tollgate::api
