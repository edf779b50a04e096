#pragma once
// JSON shapes of the caller API: attempts, errors, unified answers, the status
// document of a recorded call, and the stored forms they are rebuilt from.
// Pure functions.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "engine/engine.h"
#include "http/server.h"
#include "store/job_store.h"

namespace tollgate::engine {

boost::json::array attempts_json(const std::vector<AttemptRecord>& attempts);
boost::json::object error_json(const Error& e);

http::ServerResponse json_reply(int status, const boost::json::object& body, const std::string& id = {});
// Debug and stress answers carry "traffic" so nobody mistakes them for real ones.
http::ServerResponse error_reply(const Error& e, const std::string& id,
                                 const std::vector<AttemptRecord>* attempts = nullptr,
                                 Traffic traffic = Traffic::kLive);
// 200 with {id, status: succeeded, provider, result, attempts}.
http::ServerResponse success_reply(const std::string& id, const CallOutcome& outcome,
                                   Traffic traffic = Traffic::kLive);

// What a finished synchronous call stores, so an idempotent repeat can answer
// exactly as the first call did: {"status": HTTP status, "body": answer}.
std::string stored_answer(int status, std::string_view body);
http::ServerResponse replay_stored_answer(const store::CallRecord& rec);

// The document GET /v1/requests/{id} returns.
boost::json::object status_json(const store::CallRecord& rec);
// 202 for a call accepted into the queue.
http::ServerResponse accepted_reply(const store::CallRecord& rec, bool prefer_applied);

std::string iso_ms(std::int64_t unix_ms);

}  // namespace tollgate::engine
