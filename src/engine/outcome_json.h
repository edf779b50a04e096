#pragma once
// JSON shapes of a call's outcome, shared by every door a call comes through
// (the HTTP API, the async runner, callbacks, the admin API): attempts, errors,
// the status document of a recorded call, and the stored form of an answer.
// Pure functions.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "engine/engine.h"
#include "store/event_store.h"
#include "store/job_store.h"

namespace tollgate::engine {

boost::json::array attempts_json(const std::vector<AttemptRecord>& attempts);
// The same array, appended as JSON text (the answer to every call carries it).
void append_attempts_json(std::string& out, const std::vector<AttemptRecord>& attempts);
// {code, message, retryable[, provider, provider_code]}. `retryable` is true only
// for classes a repeat can fix; outcome_unknown never is.
boost::json::object error_json(const Error& e);

// What a finished synchronous call stores, so an idempotent repeat can answer
// exactly as the first call did: {"status": HTTP status, "body": answer}.
std::string stored_answer(int status, std::string_view body);

// The document GET /v1/requests/{id} returns.
boost::json::object status_json(const store::CallRecord& rec);

// An event as callers see it (in the status document and forwarded to their
// callback): the normalised event with its call id.
boost::json::object event_json(const store::EventRecord& ev);

std::string iso_ms(std::int64_t unix_ms);

}  // namespace tollgate::engine
