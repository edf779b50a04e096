#include "http/resolver.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <list>

namespace tollgate::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kTtl = std::chrono::seconds(30);
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

Error dns_error(ErrorClass cls, std::string code, std::string detail) {
  Error e;
  e.cls = cls;
  e.from_provider = true;
  e.message = cls == ErrorClass::kTimeout ? "the provider did not answer in time" : "the provider could not be reached";
  e.provider_code = std::move(code);
  e.detail = std::move(detail);
  return e;
}
}  // namespace

struct Resolver::Lookup {
  explicit Lookup(asio::io_context& ctx) : resolver(ctx) {}
  tcp::resolver resolver;
  bool done = false;
  boost::system::error_code ec;
  Results results;
  std::list<asio::steady_timer*> waiters;
};

asio::awaitable<Result<Resolver::Results>> Resolver::resolve(std::string host, std::uint16_t port,
                                                             SteadyTime deadline, CancelToken* cancel) {
  const std::string key = host + ":" + std::to_string(port);
  const auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(key); it != cache_.end() && it->second.expires > now) co_return it->second.results;

  std::shared_ptr<Lookup> lookup;
  if (auto it = inflight_.find(key); it != inflight_.end()) {
    lookup = it->second;
  } else {
    lookup = std::make_shared<Lookup>(ctx_);
    inflight_[key] = lookup;
    lookup->resolver.async_resolve(
        host, std::to_string(port), [this, key, lookup](boost::system::error_code ec, Results results) {
          lookup->done = true;
          lookup->ec = ec;
          lookup->results = results;
          if (!ec) cache_[key] = Entry{results, std::chrono::steady_clock::now() + kTtl};
          if (auto it = inflight_.find(key); it != inflight_.end() && it->second == lookup) inflight_.erase(it);
          for (auto* t : lookup->waiters) t->cancel();
          lookup->waiters.clear();
        });
  }
  asio::steady_timer timer(ctx_);
  timer.expires_at(deadline);
  auto pos = lookup->waiters.insert(lookup->waiters.end(), &timer);
  if (cancel) cancel->set_hook([&timer] { timer.cancel(); });
  while (!lookup->done && std::chrono::steady_clock::now() < deadline && !(cancel && cancel->cancelled())) {
    co_await timer.async_wait(nothrow);
  }
  if (cancel) cancel->clear_hook();
  if (!lookup->done) lookup->waiters.erase(pos);
  if (cancel && cancel->cancelled()) {
    co_return dns_error(ErrorClass::kUnavailable, "cancelled", "attempt abandoned during DNS resolution");
  }
  if (!lookup->done) {
    co_return dns_error(ErrorClass::kTimeout, "dns_timeout", "resolving " + host + " took past the deadline");
  }
  if (lookup->ec) {
    co_return dns_error(ErrorClass::kUnavailable, "dns_failure", "cannot resolve " + host + ": " + lookup->ec.message());
  }
  co_return lookup->results;
}

}  // namespace tollgate::http
