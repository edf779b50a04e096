#include "cluster/redis.h"

#include <hiredis/hiredis.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <charconv>
#include <deque>

#include "core/encoding.h"

namespace tollgate::cluster {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kBackoffMin = std::chrono::milliseconds(100);
constexpr auto kBackoffMax = std::chrono::seconds(2);

std::string encode(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::kString; break;
    case REDIS_REPLY_ARRAY: out.type = RedisReply::Type::kArray; break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::kInteger; break;
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::kStatus; break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::kError; break;
    default: out.type = RedisReply::Type::kNil; break;
  }
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR) {
    out.str.assign(r->str, r->len);
  }
  out.integer = r->integer;
  for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
  return out;
}

Error redis_error(ErrorClass cls, std::string message) { return Error::make(cls, std::move(message)); }

}  // namespace

Result<RedisOptions> parse_redis_url(const std::string& url) {
  RedisOptions o;
  std::string_view rest = url;
  if (!rest.starts_with("redis://")) return redis_error(ErrorClass::kInvalidRequest, "shared.redis.url must be redis://host[:port][/db]");
  rest.remove_prefix(8);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view info = rest.substr(0, at);
    if (const auto colon = info.find(':'); colon != std::string_view::npos) info = info.substr(colon + 1);
    auto decoded = percent_decode(info, false);
    if (!decoded) return redis_error(ErrorClass::kInvalidRequest, "shared.redis.url has a malformed password");
    o.password = *decoded;
    rest = rest.substr(at + 1);
  }
  std::string_view hostport = rest.substr(0, rest.find('/'));
  if (rest.find('/') != std::string_view::npos) {
    const auto db = rest.substr(rest.find('/') + 1);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), o.db);
      if (ec != std::errc() || p != db.data() + db.size() || o.db < 0) {
        return redis_error(ErrorClass::kInvalidRequest, "shared.redis.url has an invalid database number");
      }
    }
  }
  if (const auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    unsigned port = 0;
    const auto ps = hostport.substr(colon + 1);
    auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
    if (ec != std::errc() || p != ps.data() + ps.size() || port == 0 || port > 65535) {
      return redis_error(ErrorClass::kInvalidRequest, "shared.redis.url has an invalid port");
    }
    o.port = static_cast<std::uint16_t>(port);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return redis_error(ErrorClass::kInvalidRequest, "shared.redis.url has no host");
  o.host = std::string(hostport);
  return o;
}

struct RedisClient::Impl : std::enable_shared_from_this<RedisClient::Impl> {
  struct Pending {
    std::function<void(Result<RedisReply>)> done;  // null once answered (timed out)
    SteadyTime deadline;
  };

  Impl(asio::io_context& c, RedisOptions o) : ctx(c), options(std::move(o)), socket(c), sweeper(c) {}
  ~Impl() {
    if (reader) redisReaderFree(reader);
  }

  asio::io_context& ctx;
  const RedisOptions options;
  tcp::socket socket;
  asio::steady_timer sweeper;
  redisReader* reader = nullptr;
  std::atomic<bool> up{false};
  bool stopping = false;
  bool writing = false;
  std::deque<Pending> inflight;   // sent or queued, in order
  std::string outbox;             // encoded, not yet written
  std::string channel;            // subscription mode when set
  std::function<void(std::string)> on_message;

  void fail_all(const Error& e) {
    auto pending = std::move(inflight);
    inflight.clear();
    for (auto& p : pending) {
      if (p.done) p.done(e);
    }
  }

  void enqueue(std::vector<std::string> args, std::function<void(Result<RedisReply>)> done) {
    if (!up || stopping) {
      done(redis_error(ErrorClass::kUnavailable, "redis is not connected"));
      return;
    }
    inflight.push_back(Pending{std::move(done), std::chrono::steady_clock::now() + options.timeout});
    outbox += encode(args);
    flush();
    if (inflight.size() == 1) arm_sweeper();
  }

  void flush() {
    if (writing || outbox.empty()) return;
    writing = true;
    auto data = std::make_shared<std::string>(std::move(outbox));
    outbox.clear();
    asio::async_write(socket, asio::buffer(*data), [self = shared_from_this(), data](boost::system::error_code ec, size_t) {
      self->writing = false;
      if (ec) {
        self->broken("writing to redis: " + ec.message());
        return;
      }
      self->flush();
    });
  }

  // Commands past their deadline are answered `timeout` now; their replies,
  // when they come, are dropped.
  void arm_sweeper() {
    sweeper.expires_after(std::max(Millis(5), options.timeout / 4));
    sweeper.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      const auto now = std::chrono::steady_clock::now();
      bool any = false;
      for (auto& p : self->inflight) {
        if (p.done && p.deadline <= now) {
          auto done = std::move(p.done);
          p.done = nullptr;
          done(redis_error(ErrorClass::kTimeout, "redis did not answer in time"));
        }
        any = any || p.done;
      }
      if (!self->inflight.empty()) self->arm_sweeper();
      (void)any;
    });
  }

  void broken(const std::string& why) {
    if (!up && !socket.is_open()) return;
    up = false;
    boost::system::error_code ignored;
    socket.close(ignored);
    fail_all(redis_error(ErrorClass::kUnavailable, why));
    if (!stopping) asio::co_spawn(ctx, run(kBackoffMin), asio::detached);
  }

  // Connects (AUTH, SELECT, SUBSCRIBE), then reads replies until the connection breaks.
  asio::awaitable<void> run(std::chrono::milliseconds delay) {
    auto self = shared_from_this();
    asio::steady_timer wait(ctx);
    for (auto backoff = delay;; backoff = std::min<std::chrono::milliseconds>(kBackoffMax, backoff * 2)) {
      if (stopping) co_return;
      wait.expires_after(backoff);
      co_await wait.async_wait(nothrow);
      if (stopping) co_return;
      if (co_await connect()) break;
    }
    if (reader) redisReaderFree(reader);
    reader = redisReaderCreate();
    up = true;
    if (!options.password.empty()) send_internal({"AUTH", options.password});
    if (options.db != 0) send_internal({"SELECT", std::to_string(options.db)});
    if (!channel.empty()) {
      outbox += encode({"SUBSCRIBE", channel});
      flush();
    }
    char buf[16384];
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), nothrow);
      if (ec) {
        broken("reading from redis: " + ec.message());
        co_return;
      }
      if (redisReaderFeed(reader, buf, n) != REDIS_OK) {
        broken("redis sent something that is not RESP");
        co_return;
      }
      void* raw = nullptr;
      while (redisReaderGetReply(reader, &raw) == REDIS_OK && raw) {
        RedisReply reply = convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        deliver(std::move(reply));
      }
      if (reader->err) {
        broken("redis sent something that is not RESP");
        co_return;
      }
    }
  }

  void deliver(RedisReply reply) {
    if (!channel.empty()) {
      // ["subscribe", ch, n] after (re)subscribing; ["message", ch, payload] after.
      if (reply.type == RedisReply::Type::kArray && reply.elements.size() == 3) {
        const std::string& kind = reply.elements[0].str;
        if (kind == "message" && on_message) on_message(reply.elements[2].str);
        if (kind == "subscribe" && on_message) on_message(std::string());
      }
      return;
    }
    if (inflight.empty()) return;  // an AUTH/SELECT answer, or stray
    Pending p = std::move(inflight.front());
    inflight.pop_front();
    if (p.done) p.done(std::move(reply));
  }

  // A command whose reply nobody awaits (AUTH, SELECT): it keeps replies in order.
  // Sent right after connecting, before any caller's command can be queued.
  void send_internal(std::vector<std::string> args) {
    inflight.push_back(Pending{nullptr, SteadyTime::max()});
    outbox += encode(args);
    flush();
  }

  asio::awaitable<bool> connect() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(options.host, ec);
    tcp::endpoint ep;
    if (ec) {
      tcp::resolver resolver(ctx);
      auto [rec, results] = co_await resolver.async_resolve(options.host, std::to_string(options.port), nothrow);
      if (rec || results.empty()) co_return false;
      ep = *results.begin();
    } else {
      ep = tcp::endpoint(addr, options.port);
    }
    socket = tcp::socket(ctx);
    asio::steady_timer guard(ctx);
    guard.expires_after(options.connect_timeout);
    guard.async_wait([this](boost::system::error_code e) {
      if (!e) {
        boost::system::error_code ignored;
        socket.close(ignored);
      }
    });
    auto [cec] = co_await socket.async_connect(ep, nothrow);
    guard.cancel();
    if (cec) co_return false;
    socket.set_option(tcp::no_delay(true), ec);
    co_return true;
  }
};

RedisClient::RedisClient(asio::io_context& ctx, RedisOptions options)
    : impl_(std::make_shared<Impl>(ctx, std::move(options))) {}

std::shared_ptr<RedisClient> RedisClient::make(asio::io_context& ctx, RedisOptions options) {
  auto c = std::shared_ptr<RedisClient>(new RedisClient(ctx, std::move(options)));
  asio::co_spawn(ctx, c->impl_->run(std::chrono::milliseconds(0)), asio::detached);
  return c;
}

RedisClient::~RedisClient() { stop(); }

void RedisClient::stop() {
  asio::post(impl_->ctx, [impl = impl_] {
    impl->stopping = true;
    impl->up = false;
    boost::system::error_code ignored;
    impl->sweeper.cancel();
    impl->socket.close(ignored);
    impl->fail_all(redis_error(ErrorClass::kUnavailable, "redis client stopped"));
  });
}

bool RedisClient::connected() const { return impl_->up.load(); }

asio::any_io_executor RedisClient::executor() const { return impl_->ctx.get_executor(); }

asio::awaitable<Result<RedisReply>> RedisClient::command(std::vector<std::string> args) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<RedisReply>)>(
      [impl = impl_, args = std::move(args)](auto handler) mutable {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto ex = asio::get_associated_executor(*h);
        asio::post(impl->ctx, [impl, args = std::move(args), h, ex]() mutable {
          impl->enqueue(std::move(args), [h, ex](Result<RedisReply> r) {
            asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
          });
        });
      },
      asio::use_awaitable);
}

void RedisClient::subscribe(std::string channel, std::function<void(std::string)> on_message) {
  asio::post(impl_->ctx, [impl = impl_, channel = std::move(channel), cb = std::move(on_message)]() mutable {
    impl->channel = std::move(channel);
    impl->on_message = std::move(cb);
    if (impl->up) {
      impl->outbox += encode({"SUBSCRIBE", impl->channel});
      impl->flush();
    }
  });
}

}  // namespace tollgate::cluster
