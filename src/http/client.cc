#include "http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "http/beast_convert.h"
#include "http/pool.h"
#include "http/resolver.h"

namespace tollgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseBody = 8 << 20;
constexpr std::uint32_t kMaxResponseHeader = 64 << 10;
constexpr auto kPeekAfterIdle = std::chrono::milliseconds(500);

SteadyTime steady_now() { return std::chrono::steady_clock::now(); }

Error transport_error(ErrorClass cls, bool ambiguous, std::string code, std::string detail) {
  Error e;
  e.cls = cls;
  e.from_provider = true;
  e.ambiguous = ambiguous;
  e.provider_code = std::move(code);
  e.detail = std::move(detail);
  e.message = cls == ErrorClass::kTimeout ? "the provider did not answer in time" : "the provider could not be reached";
  return e;
}

Error cancelled_error() {
  return transport_error(ErrorClass::kUnavailable, true, "cancelled", "attempt abandoned by its caller");
}

// Clears a CancelToken's hook when the step that set it ends, however it ends.
struct HookScope {
  CancelToken* token;
  template <typename F>
  HookScope(CancelToken* t, F hook) : token(t) {
    if (token) token->set_hook(std::move(hook));
  }
  ~HookScope() {
    if (token) token->clear_hook();
  }
};

}  // namespace

struct Client::Impl {
  asio::io_context& ctx;
  Resolver resolver;
  Pools pools;
  ClientStats stats;

  explicit Impl(asio::io_context& c) : ctx(c), resolver(c) {}

  // The addresses to connect to: resolved by the deadline, and filtered by the
  // endpoint's address check.
  asio::awaitable<Result<Resolver::Results>> addresses(const Endpoint& ep, SteadyTime deadline, CancelToken* cancel) {
    const auto& o = ep.options();
    const std::string& host = ep.proxy() ? ep.proxy()->host : o.host;
    const std::uint16_t port = ep.proxy() ? ep.proxy()->port : o.port;
    auto resolved = co_await resolver.resolve(host, port, deadline, cancel);
    if (!resolved || !o.address_check) co_return resolved;
    std::vector<tcp::endpoint> allowed;
    std::string refusal;
    for (const auto& entry : *resolved) {
      const tcp::endpoint e = entry.endpoint();
      if (auto why = o.address_check(e.address().to_string())) {
        refusal = *why;
      } else {
        allowed.push_back(e);
      }
    }
    if (allowed.empty()) {
      co_return transport_error(ErrorClass::kUnavailable, false, "address_refused",
                                host + " resolves only to refused addresses: " + refusal);
    }
    co_return Resolver::Results::create(allowed.begin(), allowed.end(), host, std::to_string(port));
  }

  // Opens a connection (through the proxy when configured) and completes the TLS
  // handshake, all within the connect timeout and the deadline.
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Endpoint& ep, SteadyTime deadline,
                                                               CancelToken* cancel) {
    const auto& o = ep.options();
    auto addrs = co_await addresses(ep, deadline, cancel);
    if (!addrs) co_return std::move(addrs).error();
    const std::string where = ep.proxy() ? ep.proxy()->host_port() : ep.host_header();

    auto conn = std::make_unique<Connection>();
    conn->plain = std::make_unique<beast::tcp_stream>(ctx);
    HookScope hook(cancel, [c = conn.get()] { c->close(); });
    // From here every step shares one bound: the connect timeout, within the deadline.
    conn->plain->expires_at(std::min(deadline, steady_now() + o.connect_timeout));
    auto [cec, cep] = co_await conn->plain->async_connect(*addrs, nothrow);
    if (cancel && cancel->cancelled()) co_return cancelled_error();
    if (cec) {
      const bool timed_out = cec == beast::error::timeout;
      co_return transport_error(timed_out ? ErrorClass::kTimeout : ErrorClass::kUnavailable, false,
                                timed_out ? "connect_timeout" : "connect_failed",
                                "connect to " + where + ": " + cec.message());
    }
    boost::system::error_code ignored;
    conn->plain->socket().set_option(tcp::no_delay(true), ignored);
    ++stats.connections_opened;

    if (ep.proxy()) {
      const std::string authority =
          (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
      bhttp::request<bhttp::empty_body> creq{bhttp::verb::connect, authority, 11};
      creq.set(bhttp::field::host, authority);
      if (!ep.proxy_authorization().empty()) creq.set(bhttp::field::proxy_authorization, ep.proxy_authorization());
      auto [wec, wn] = co_await bhttp::async_write(*conn->plain, creq, nothrow);
      bhttp::response_parser<bhttp::empty_body> parser;
      parser.skip(true);  // a CONNECT answer has no body
      boost::system::error_code rec = wec;
      if (!rec) {
        auto [e, n] = co_await bhttp::async_read_header(*conn->plain, conn->buffer, parser, nothrow);
        rec = e;
      }
      if (cancel && cancel->cancelled()) co_return cancelled_error();
      if (rec || parser.get().result_int() != 200) {
        co_return transport_error(rec == beast::error::timeout ? ErrorClass::kTimeout : ErrorClass::kUnavailable,
                                  false, "proxy_failed",
                                  rec ? "proxy CONNECT: " + rec.message()
                                      : "proxy refused CONNECT with status " +
                                            std::to_string(parser.get().result_int()));
      }
    }

    if (ep.tls()) {
      conn->tls = std::make_unique<SslStream>(std::move(*conn->plain), *ep.tls());
      conn->plain.reset();
      if (ep.sni() && !SSL_set_tlsext_host_name(conn->tls->native_handle(), ep.verify_name().c_str())) {
        co_return transport_error(ErrorClass::kUnavailable, false, "tls_failed", "cannot set SNI");
      }
      if (o.tls_verify) conn->tls->set_verify_callback(asio::ssl::host_name_verification(ep.verify_name()));
      auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client, nothrow);
      if (cancel && cancel->cancelled()) co_return cancelled_error();
      if (hec) {
        const bool timed_out = hec == beast::error::timeout;
        co_return transport_error(timed_out ? ErrorClass::kTimeout : ErrorClass::kUnavailable, false,
                                  timed_out ? "connect_timeout" : "tls_failed",
                                  "TLS handshake with " + ep.verify_name() + ": " + hec.message());
      }
    }
    co_return conn;
  }

  // A connection for `ep`: an idle pooled one, a new one while under the cap, or
  // the next one handed back (first come, first served), waited for until the
  // deadline.
  asio::awaitable<Result<std::unique_ptr<Connection>>> acquire(const std::shared_ptr<const Endpoint>& ep,
                                                               SteadyTime deadline, CancelToken* cancel) {
    const auto& o = ep->options();
    pools.maintain(steady_now());
    Pool& pool = pools.get(ep);
    const auto now = steady_now();
    while (!pool.idle.empty()) {
      auto conn = std::move(pool.idle.back());
      pool.idle.pop_back();
      const auto idle = now - conn->idle_since;
      // A connection used a moment ago is alive; one that sat idle may have been
      // closed by the provider, so it costs one peek to find out.
      if (idle < o.idle_timeout && (idle < kPeekAfterIdle || conn->alive())) {
        conn->reused = true;
        co_return conn;
      }
      conn->close();
      --pool.open;
    }
    bool may_open = pool.open < std::max(1, o.max_connections);
    if (may_open) ++pool.open;
    if (!may_open && now < deadline) {
      // At the cap: wait for a connection to be handed over, until the deadline.
      PoolGrant grant = co_await pool.wait(ctx, deadline, cancel);
      if (grant.result == PoolWait::kCancelled) co_return cancelled_error();
      if (grant.conn) {  // in use a moment ago: alive
        grant.conn->reused = true;
        co_return std::move(grant.conn);
      }
      // Woken without a connection: the slot of one that closed, counted for us.
      may_open = grant.result == PoolWait::kWoken;
    }
    if (may_open) {
      auto conn = co_await connect(*ep, deadline, cancel);
      if (!conn) pools.release(ep, nullptr, steady_now());
      co_return conn;
    }
    co_return transport_error(ErrorClass::kUnavailable, false, "connection_limit",
                              "all " + std::to_string(o.max_connections) + " connections to the provider are busy");
  }

  template <class Stream>
  asio::awaitable<std::pair<Result<HttpResponse>, bool>> exchange(Stream& stream, Connection& conn,
                                                                   const std::string& wire, SteadyTime deadline) {
    using Out = std::pair<Result<HttpResponse>, bool>;
    conn.lowest().expires_at(deadline);
    auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(wire), nothrow);
    if (wec) {
      const bool timed_out = wec == beast::error::timeout;
      // Not fully written: the provider cannot have acted on it.
      co_return Out{transport_error(timed_out ? ErrorClass::kTimeout : ErrorClass::kUnavailable, false,
                                    "write_failed", "sending the request: " + wec.message()),
                    false};
    }
    const auto arena = std::make_unique<FieldArena>();
    ArenaParser<false> parser = parser_in<false>(*arena);
    parser.body_limit(kMaxResponseBody);
    parser.header_limit(kMaxResponseHeader);
    auto [rec, rn] = co_await bhttp::async_read(stream, conn.buffer, parser, nothrow);
    if (rec) {
      if (rec == beast::error::timeout) {
        co_return Out{transport_error(ErrorClass::kTimeout, true, "read_timeout",
                                      "no complete answer before the attempt deadline"),
                      false};
      }
      if (rec == bhttp::error::body_limit || rec == bhttp::error::header_limit) {
        co_return Out{transport_error(ErrorClass::kUnavailable, true, "response_too_large",
                                      "the answer is larger than tollgate reads: " + rec.message()),
                      false};
      }
      const bool garbage = rec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
                           rec != bhttp::error::end_of_stream && rec != bhttp::error::partial_message;
      co_return Out{transport_error(ErrorClass::kUnavailable, true,
                                    garbage ? "malformed_response" : "connection_lost",
                                    "reading the answer: " + rec.message()),
                    false};
    }
    auto res = parser.release();
    const bool reusable = res.keep_alive() && !parser.need_eof();
    co_return Out{from_beast(std::move(res)), reusable};
  }
};

Client::Client(asio::io_context& ctx) : impl_(std::make_unique<Impl>(ctx)) {}
Client::~Client() = default;

asio::awaitable<Result<HttpResponse>> Client::send(const std::shared_ptr<const TransportEndpoint>& endpoint,
                                                   const HttpRequest& request, SteadyTime deadline,
                                                   CancelToken* cancel) {
  auto ep = std::dynamic_pointer_cast<const Endpoint>(endpoint);
  if (!ep) co_return Error::make(ErrorClass::kInternal, "endpoint was not made by http::Endpoint::make");
  auto& impl = *impl_;
  auto wire = serialize_request(request, ep->host_header());
  if (!wire) co_return std::move(wire).error();
  // A pooled connection the provider closed while we were writing is retried once
  // on a fresh one: the write failed, so the provider never saw the request.
  for (int round = 0; round < 2; ++round) {
    if (cancel && cancel->cancelled()) co_return cancelled_error();
    auto conn = co_await impl.acquire(ep, deadline, cancel);
    if (!conn) co_return std::move(conn).error();
    ++impl.stats.requests_sent;
    Connection& c = **conn;
    // (No co_await inside ?: — GCC 12 miscompiles temporaries there.)
    std::pair<Result<HttpResponse>, bool> exchanged{Error{}, false};
    {
      HookScope hook(cancel, [&c] { c.close(); });
      if (c.tls) {
        exchanged = co_await impl.exchange(*c.tls, c, *wire, deadline);
      } else {
        exchanged = co_await impl.exchange(*c.plain, c, *wire, deadline);
      }
    }
    auto& [result, reusable] = exchanged;
    if (cancel && cancel->cancelled()) {
      result = cancelled_error();
      reusable = false;
    }
    const bool retry_stale = !result && c.reused && result.error().provider_code == "write_failed" &&
                             result.error().cls != ErrorClass::kTimeout && round == 0;
    if (reusable && result) {
      impl.pools.release(ep, std::move(*conn), steady_now());
    } else {
      c.close();
      impl.pools.release(ep, nullptr, steady_now());
    }
    if (retry_stale) continue;
    co_return std::move(result);
  }
  co_return transport_error(ErrorClass::kUnavailable, false, "connection_lost", "retry exhausted");
}

ClientStats Client::stats() const { return impl_->stats; }

int Client::idle_connections() const { return impl_->pools.idle_connections(); }

}  // namespace tollgate::http
