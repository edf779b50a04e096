#pragma once
// Queue mode's wiring (docs/queues.md): the broker's requests run through the
// caller API on the workers, and async jobs' final statuses go back through the
// broker (jobs::ReplySink for "amqp:" callback URLs). Only built with `queues:`.

#include <memory>

#include "api/api.h"
#include "config/config.h"
#include "http/workers.h"
#include "jobs/callbacks.h"
#include "metrics/registry.h"
#include "queue/broker.h"

namespace tollgate::app {

class QueueDoor final : public jobs::ReplySink {
 public:
  QueueDoor(const config::QueuesConfig& cfg, http::Workers& workers, api::ApiHandler& api,
            metrics::Registry* metrics);
  void start() { broker_.start(); }
  void stop(std::chrono::milliseconds grace) { broker_.stop(grace); }
  const queue::Broker& broker() const { return broker_; }

  std::string_view scheme() const override { return "amqp:"; }
  boost::asio::awaitable<Outcome> deliver(std::string url, std::string body) override;

 private:
  http::Workers& workers_;
  queue::Broker broker_;
};

}  // namespace tollgate::app
