#pragma once
// A small blocking AMQP 0-9-1 client (rabbitmq-c) for tests and benchmarks:
// declare a queue, publish a request with the properties queue mode reads, and
// take messages off a queue with basic.get. One connection, one thread.

#include <chrono>
#include <cstdint>
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
  bool publish(const std::string& queue, const std::string& body, const std::string& message_id = {},
               const std::string& reply_to = {}, const std::string& correlation_id = {},
               const std::map<std::string, std::string>& headers = {});
  // The next message of `queue` (acked), or nullopt when it is empty.
  std::optional<AmqpMessage> get(const std::string& queue);
  // Consumes `queue` (acking each) until `n` messages arrived or `timeout`
  // passed; calls `each` per message. Returns how many arrived.
  long consume(const std::string& queue, long n, std::chrono::milliseconds timeout,
               const std::function<void(const AmqpMessage&)>& each = nullptr);
  // How many messages wait in `queue` (-1 if it does not exist).
  long count(const std::string& queue);

 private:
  amqp_connection_state_t_* conn_ = nullptr;
  unsigned probes_ = 0;
};

}  // namespace tollgate::testing
