#pragma once
// A small blocking AMQP 0-9-1 client (rabbitmq-c) for tests and benchmarks:
// declare a queue, publish a request with the properties queue mode reads
// (on a channel in confirm mode), and take messages off a queue with basic.get.
// One connection, one thread.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

struct amqp_connection_state_t_;

namespace tollgate::testing {

struct AmqpMessage {
  std::string body;
  std::string correlation_id;
  std::string message_id;
};

class AmqpClient {
 public:
  explicit AmqpClient(int port);
  ~AmqpClient();
  AmqpClient(const AmqpClient&) = delete;
  AmqpClient& operator=(const AmqpClient&) = delete;

  bool ok() const { return conn_ != nullptr; }
  // A durable classic queue (a caller's reply queue); true on success.
  bool declare(const std::string& queue);
  // Sends a persistent message to `queue` (default exchange); false when it
  // could not be written. The broker's confirm is awaited by confirmed(),
  // which sends a nacked message again.
  bool publish(const std::string& queue, const std::string& body, const std::string& message_id = {},
               const std::string& reply_to = {}, const std::string& correlation_id = {},
               const std::map<std::string, std::string>& headers = {});
  // Waits until the broker confirmed every publish so far, sending nacked ones
  // again: true when all were acked, false on a lost connection or `timeout`
  // (a broker blocking publishers under a resource alarm never confirms). get(), consume() and
  // count() wait for it first, so a test never looks before its messages are in.
  bool confirmed(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Why the last confirmed() (or what waited for it) was false.
  const std::string& error() const { return error_; }
  // The next message of `queue` (acked), or nullopt when it is empty.
  std::optional<AmqpMessage> get(const std::string& queue);
  // Consumes `queue` (acking each) until `n` messages arrived or `timeout`
  // passed; calls `each` per message. Returns how many arrived.
  long consume(const std::string& queue, long n, std::chrono::milliseconds timeout,
               const std::function<void(const AmqpMessage&)>& each = nullptr);
  // How many messages wait in `queue` (-1 if it does not exist).
  long count(const std::string& queue);

 private:
  struct Outgoing {
    std::string queue, body, message_id, reply_to, correlation_id;
    std::map<std::string, std::string> headers;
    int attempts = 0;
  };
  bool send(Outgoing m);
  // Reads confirms until none is outstanding (resending the nacked), or only
  // those already arrived when `block` is false.
  bool read_confirms(bool block, std::chrono::milliseconds timeout);

  amqp_connection_state_t_* conn_ = nullptr;
  unsigned probes_ = 0;
  std::uint64_t published_ = 0;                 // the confirm channel's last sequence number
  std::map<std::uint64_t, Outgoing> unconfirmed_;  // by sequence number
  std::deque<Outgoing> nacked_;                    // to send again
  std::string error_;
};

}  // namespace tollgate::testing
