#pragma once
// Internal to http/: a worker's DNS look-ups, cached for a short time, each one
// waited for only until the attempt's deadline. getaddrinfo cannot be
// interrupted, so a look-up that outlives its deadline keeps running on Asio's
// resolver thread and fills the cache when it ends, while the attempt has long
// returned `dns_timeout`. Concurrent look-ups of one name share one query.
// Touched only by the owning worker's thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <unordered_map>

#include "core/result.h"
#include "core/transport.h"

namespace tollgate::http {

class Resolver {
 public:
  using Results = boost::asio::ip::tcp::resolver::results_type;
  explicit Resolver(boost::asio::io_context& ctx) : ctx_(ctx) {}

  // `host` by value: a coroutine's reference parameter dangles once a caller's
  // temporary is gone (found by the ASan build).
  boost::asio::awaitable<Result<Results>> resolve(std::string host, std::uint16_t port, SteadyTime deadline,
                                                  CancelToken* cancel);

 private:
  struct Lookup;
  struct Entry {
    Results results;
    SteadyTime expires;
  };
  boost::asio::io_context& ctx_;
  std::unordered_map<std::string, Entry> cache_;
  std::unordered_map<std::string, std::shared_ptr<Lookup>> inflight_;
};

}  // namespace tollgate::http
