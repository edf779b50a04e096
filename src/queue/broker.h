#pragma once
// Broker: queue mode's one connection to RabbitMQ (rabbitmq-c, which blocks),
// on a thread of its own: nothing here ever runs on a worker.
//
// On (re)connect it declares what the config asks (per consumer: a quorum queue
// with a delivery limit and a dead-letter exchange, the DLX and its `<queue>.dead`
// queue), puts channel 2 in confirm mode for publishing, and consumes every
// queue on channel 1 with basic.qos = the consumer's prefetch — so at most that
// many requests per queue are in flight, however slow the providers are.
//
// Each delivery is turned into a caller-API request (message.h) and handed to
// `Dispatch`, which runs it on a worker and reports the answer back (any
// thread). Then, by the answer's disposition:
//   reply and ack   the answer is published to reply_to (persistent, on the
//                   confirm channel); the request is acked when the broker has
//                   confirmed the reply — an unconfirmed reply is never acked
//   ack             an async job was committed (202); the runner publishes its
//                   final status later through publish()
//   dead-letter     an error reply (when reply_to is set), then basic.reject
//                   without requeue: the queue's DLX takes it
//   retry later     the request is asked again after a pause, still unacked
// Lost connection: every unacked request is redelivered by the broker (the
// idempotency key — message_id — keeps a provider from seeing it twice); the
// thread reconnects with exponential backoff, and publishes waiting for
// confirms are failed so their jobs retry.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/http_message.h"
#include "metrics/registry.h"
#include "queue/message.h"

namespace tollgate::queue {

class Broker {
 public:
  // The API's answer to one request: status and JSON body.
  struct Answer {
    int status = 0;
    std::string body;
  };
  // Runs `req` on a worker; calls `done` exactly once, on any thread.
  using Dispatch = std::function<void(HttpRequest req, std::function<void(Answer)> done)>;
  // The result of a publish(): confirmed by the broker, or why not.
  using Published = std::function<void(bool confirmed, std::string outcome)>;

  Broker(config::QueuesConfig cfg, Dispatch dispatch, metrics::Registry* metrics = nullptr);
  ~Broker();  // stop()
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  void start();
  // Stops consuming, waits up to `grace` for requests in flight to be answered
  // and acked, then closes; what is left unacked is redelivered to the next consumer.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Publishes `body` to `reply_to` (persistent, confirmed); `done` is called on
  // the broker's thread. Fails at once while disconnected.
  void publish(std::string reply_to, std::string correlation_id, std::string body, Published done);

  bool connected() const { return connected_.load(); }
  std::int64_t in_flight() const { return in_flight_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> connected_{false};
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace tollgate::queue
