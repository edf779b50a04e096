#pragma once
// ApiHandler: the caller-facing HTTP API (docs/api.md).
//   POST /v1/{capability}/{operation}        a call: sync, or queued (202)
//   POST /v1/{capability}/{operation}:batch  up to jobs.max_batch queued calls
//   GET  /v1/requests/{id}                   the status of a call the caller made
//   GET  /healthz
// Authenticates the caller, resolves the capability, validates the params, applies
// Idempotency-Key, runs the Engine or records the call for the async runner, and
// renders the unified answer. Called on the worker thread that owns the
// connection; sends through that worker's Transport.

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "core/timers.h"
#include "core/transport.h"
#include "engine/engine.h"
#include "engine/runtime.h"
#include "http/server.h"
#include "store/event_store.h"
#include "store/job_store.h"

namespace tollgate::api {

using engine::CallOutcome;
using engine::CallRouting;
using engine::CapabilityRuntime;
using engine::CallerRuntime;
using engine::Runtime;
using engine::RuntimeHolder;


// How the caller asked for the call to be handled (request headers).
struct CallOptions {
  bool prefer_async = false;               // Prefer: respond-async
  std::string idempotency_key;             // Idempotency-Key
  std::string callback_url;                // X-Tollgate-Callback
  std::optional<WallTime> not_before;      // X-Tollgate-Not-Before (RFC 3339)
  CallRouting routing;                     // X-Tollgate-Provider / X-Tollgate-Exclude
  std::optional<Millis> deadline;          // server.deadline_header
  Traffic traffic = Traffic::kLive;        // test_traffic.header, or the caller's default
  bool async() const { return prefer_async || not_before.has_value(); }
};

// A callback URL a caller may give: parsed once (core/url.h) and admitted by the
// caller's allow-list. Its resolved addresses are checked again at delivery.
Result<void> check_callback(const std::string& url, const config::CallerConfig& caller);
// An idempotency key from a header or a batch item: 1 to 255 visible ASCII
// characters; `cls` is the error class to refuse it with.
Result<void> check_idempotency_key(std::string_view key, ErrorClass cls);

// Whether a new request may reuse the idempotency key `existing` holds: the same
// capability and operation, and the same body. Otherwise 409 conflict — a key is
// never replayed across capabilities (docs/api.md).
Result<void> same_request(const store::CallRecord& existing, const store::CallRecord& attempted);

class ApiHandler final : public http::Handler {
 public:
  // `transports[i]` belongs to worker i. `instance` names this process in leases.
  ApiHandler(const RuntimeHolder& runtime, const Clock& clock, Timers& timers, std::vector<Transport*> transports,
             store::JobStore& store, std::string instance, engine::EngineMetrics* metrics = nullptr);

  boost::asio::awaitable<http::ServerResponse> handle(HttpRequest req, http::RequestContext ctx) override;
  // Where sends are recorded for providers' events, and read for status
  // documents (null: no events). Set before serving.
  void set_events(store::EventStore* events) { events_ = events; }

 private:
  struct Admitted {
    std::shared_ptr<const Runtime> rt;
    const CallerRuntime* caller = nullptr;
    const CapabilityRuntime* cap = nullptr;
  };
  // 401 / 404 / 403 / 429 checks shared by every call endpoint.
  Result<Admitted> admit_caller(const HttpRequest& req, std::string_view capability) const;
  // A cluster's caller rate limit, on Redis (or this instance's share).
  boost::asio::awaitable<Result<void>> caller_limit_shared(const Admitted& a) const;
  Result<CallOptions> parse_options(const HttpRequest& req, const Admitted& a) const;
  // The caller named by the request's key (for metrics), "unknown" when none.
  std::string caller_name(const HttpRequest& req) const;
  // A record for the call, with its trace id; params and body hash (costly)
  // only when `payload`: async jobs and keyed calls need them, a plain
  // synchronous call does not.
  store::CallRecord new_record(const Admitted& a, const Call& call, const CallOptions& o, std::string_view body,
                               bool payload) const;

  // One call's state across its suspensions (api_call.cc), and the answer to
  // an executed call.
  struct CallState;
  struct Settled;
  boost::asio::awaitable<http::ServerResponse> call(HttpRequest& req, int worker, std::string_view capability);
  // The steps of call() that never suspend: plain functions, so that their
  // temporaries live on the stack and not in the call's coroutine frame.
  std::optional<http::ServerResponse> admit(const HttpRequest& req, std::string_view capability,
                                            CallState& s) const;
  std::optional<http::ServerResponse> prepare(const HttpRequest& req, std::string_view capability,
                                              CallState& s) const;
  bool falls_back(const CallState& s, const CallOutcome& outcome) const;
  store::CallRecord executed_record(const HttpRequest& req, const CallState& s, const CallOutcome& outcome,
                                    bool payload) const;
  Settled settle(const CallState& s, const CallOutcome& outcome, store::CallRecord& rec) const;
  http::ServerResponse answer(const HttpRequest& req, const CallState& s, const CallOutcome& outcome);
  http::ServerResponse conclude(const CallState& s, Settled st, const CallOutcome& outcome) const;
  http::ServerResponse finish(const CallState& s, http::ServerResponse reply, std::string_view outcome,
                              const Error* error, const std::vector<engine::AttemptRecord>& attempts) const;
  http::ServerResponse fail(const CallState& s, const Error& e) const;
  // The steps that may suspend, each in a frame of its own: the rare ones stay
  // out of the usual call's frame.
  boost::asio::awaitable<std::optional<http::ServerResponse>> shared_limit_refusal(const Admitted& a) const;
  boost::asio::awaitable<http::ServerResponse> call_recorded(const HttpRequest& req, int worker, CallState& s);
  boost::asio::awaitable<std::optional<http::ServerResponse>> queue_fallback(const HttpRequest& req,
                                                                             const CallState& s,
                                                                             const CallOutcome& outcome,
                                                                             const store::CallRecord* keyed);
  boost::asio::awaitable<http::ServerResponse> accept_async(store::CallRecord rec, const CallOptions& o);
  boost::asio::awaitable<http::ServerResponse> replay(const store::CallRecord& existing,
                                                      const store::CallRecord& attempted);
  // Records a keyed call's outcome, retrying while the store refuses; the
  // provider has acted, so the outcome is never dropped for a transient failure.
  boost::asio::awaitable<Result<void>> persist_outcome(store::CallRecord rec);
  boost::asio::awaitable<http::ServerResponse> batch(HttpRequest& req, std::string_view capability);
  boost::asio::awaitable<http::ServerResponse> status(const HttpRequest& req, std::string_view id);

  const RuntimeHolder& runtime_;
  const Clock& clock_;
  Timers& timers_;
  engine::Engine engine_;
  std::vector<Transport*> transports_;
  store::JobStore& store_;
  store::EventStore* events_ = nullptr;
  const std::string instance_;
  engine::EngineMetrics* metrics_;
};

}  // namespace tollgate::api
