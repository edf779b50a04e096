#pragma once
// RedisClient: a pipelined Redis client on Asio, with hiredis's reply reader
// parsing what the server sends. It owns one connection and runs on the io_context
// it is given (the cluster thread); commands may be sent from any thread and
// complete on the awaiting coroutine's own executor.
//
// Every command queued while a write is in flight goes out in the next write, so
// concurrent callers share round trips. Each command has a deadline: past it the
// caller gets `timeout` at once (the reply, when it comes, is read and dropped,
// keeping replies in order). A broken connection fails every command in flight
// and is reopened with backoff. Subscriptions use a connection of their own
// (subscribe()).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace tollgate::cluster {

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;  // AUTH when set (a secret)
  int db = 0;
  Millis timeout{50};    // per command, from when it is sent
  Millis connect_timeout{500};
};

// Parses redis://[:password@]host[:port][/db]; the password is never echoed.
Result<RedisOptions> parse_redis_url(const std::string& url);

struct RedisReply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError } type = Type::kNil;
  std::string str;       // string, status, error
  long long integer = 0;
  std::vector<RedisReply> elements;
};

class RedisClient : public std::enable_shared_from_this<RedisClient> {
 public:
  static std::shared_ptr<RedisClient> make(boost::asio::io_context& ctx, RedisOptions options);
  ~RedisClient();

  // Sends one command (arguments as given, binary-safe); a Redis error reply
  // comes back as a reply of type kError, transport trouble as an Error.
  boost::asio::awaitable<Result<RedisReply>> command(std::vector<std::string> args);

  // Subscribes to `channel` on this client's connection, which is then used for
  // nothing else; `on_message` is called on the client's thread for each
  // message, and again after every reconnect once resubscribed (with an empty
  // payload, so the owner can catch up on what it missed).
  void subscribe(std::string channel, std::function<void(std::string payload)> on_message);

  bool connected() const;
  void stop();
  // The io_context the client runs on (the cluster thread).
  boost::asio::any_io_executor executor() const;

  struct Impl;

 private:
  explicit RedisClient(boost::asio::io_context& ctx, RedisOptions options);
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::cluster
