#pragma once
// The queue-mode message contract (docs/queues.md), as pure functions: a
// consumed request message becomes the HTTP request the caller API would get
// (so it takes the very same path: validation, limits, idempotency, engine),
// and the API's answer decides what happens to the message.
// No I/O; any thread. Fuzzed (tests/fuzz/fuzz_queue_message.cc).

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/http_message.h"
#include "core/result.h"

namespace tollgate::queue {

// One consumed message: its body and the AMQP properties tollgate reads.
struct Delivery {
  std::string body;
  std::string message_id;      // the idempotency key (caller-scoped, as Idempotency-Key)
  std::string reply_to;        // where the result goes (a queue, through the default exchange)
  std::string correlation_id;  // copied onto the result
  std::string not_before;      // header "not_before" (RFC 3339): a scheduled call
  std::string timeout_ms;      // header "timeout_ms": the call's deadline
  std::uint64_t delivery_tag = 0;
  bool redelivered = false;
};

// The callback URL of a queue call: where the runner's final status and the
// provider's events go (jobs::ReplySink with scheme "amqp:").
std::string reply_url(const std::string& reply_to, const std::string& correlation_id);
// Back from reply_url(): reply_to and correlation_id; nullopt if it is not one.
std::optional<std::pair<std::string, std::string>> parse_reply_url(std::string_view url);

// The caller-API request for a message consumed by `consumer`:
//   {"capability": "sms.send", "params": {...}}  (capability optional, and then
// required to match, when the consumer fixes one). An invalid message gives the
// error to answer it with (a poison message: never retried).
Result<HttpRequest> to_request(const Delivery& d, const config::QueueConsumerConfig& consumer);

// What to do with a message once the API answered it.
enum class Disposition {
  kReplyAndAck,    // a final answer: publish it (confirmed), then ack
  kAck,            // accepted as an async job (202): its final status is published later
  kDeadLetter,     // a poison message: publish the error (when reply_to is set), reject without requeue
  kRetryLater,     // 409 (a first delivery still running) or 429: keep it, ask the API again later
};
Disposition disposition(int status, std::string_view body);

// The answer body for a poison message, in the API's error shape.
std::string error_body(const Error& e);

}  // namespace tollgate::queue
