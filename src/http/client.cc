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

#include <sys/socket.h>

#include <deque>
#include <unordered_map>

#include "core/encoding.h"
#include "http/beast_convert.h"

namespace tollgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SslStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseBody = 8 << 20;
constexpr std::uint32_t kMaxResponseHeader = 64 << 10;
constexpr auto kDnsTtl = std::chrono::seconds(30);
constexpr auto kPeekAfterIdle = std::chrono::milliseconds(500);

Error transport_error(ErrorClass cls, bool ambiguous, std::string code, std::string detail);

Error cancelled_error() {
  return transport_error(ErrorClass::kUnavailable, true, "cancelled", "attempt abandoned by its caller");
}

Error transport_error(ErrorClass cls, bool ambiguous, std::string code, std::string detail) {
  Error e;
  e.cls = cls;
  e.from_provider = true;
  e.ambiguous = ambiguous;
  e.provider_code = std::move(code);
  e.detail = std::move(detail);
  switch (cls) {
    case ErrorClass::kTimeout:
      e.message = "the provider did not answer in time";
      break;
    default:
      e.message = "the provider could not be reached";
  }
  return e;
}

struct ProxyTarget {
  std::string host;
  std::uint16_t port = 0;
  std::string authorization;  // "Basic ..." or empty
};

bool parse_proxy(const std::string& url, ProxyTarget& out) {
  if (!url.starts_with("http://")) return false;
  std::string rest = url.substr(7);
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    auto user = percent_decode(rest.substr(0, at), false);
    if (!user) return false;
    out.authorization = "Basic " + base64_encode(*user);
    rest = rest.substr(at + 1);
  }
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  out.host = rest.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  try {
    const int port = std::stoi(rest.substr(colon + 1));
    if (port <= 0 || port > 65535) return false;
    out.port = static_cast<std::uint16_t>(port);
  } catch (...) {
    return false;
  }
  return true;
}

}  // namespace

struct Endpoint::Internals {
  std::unique_ptr<asio::ssl::context> tls;
  std::string verify_name;
  bool sni = false;
  bool has_proxy = false;
  ProxyTarget proxy;
};

Endpoint::Endpoint(EndpointOptions options)
    : options_(std::move(options)), internals_(std::make_unique<Internals>()) {}

Endpoint::~Endpoint() = default;

Result<std::shared_ptr<const Endpoint>> Endpoint::make(EndpointOptions o) {
  auto ep = std::shared_ptr<Endpoint>(new Endpoint(o));
  auto& in = *ep->internals_;
  const bool v6 = o.host.find(':') != std::string::npos;
  const bool default_port = (o.scheme == "https" && o.port == 443) || (o.scheme == "http" && o.port == 80);
  ep->host_header_ = (v6 ? "[" + o.host + "]" : o.host) + (default_port ? "" : ":" + std::to_string(o.port));
  if (!o.proxy.empty()) {
    if (!parse_proxy(o.proxy, in.proxy)) {
      return Error::make(ErrorClass::kInternal, "proxy must be http://[user:pass@]host:port");
    }
    in.has_proxy = true;
  }
  if (o.scheme == "https") {
    boost::system::error_code ec;
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    if (o.tls_verify) {
      ctx->set_verify_mode(asio::ssl::verify_peer);
      if (o.ca_file.empty()) {
        ctx->set_default_verify_paths(ec);
      } else {
        ctx->load_verify_file(o.ca_file, ec);
      }
      if (ec) return Error::make(ErrorClass::kInternal, "cannot load CA file '" + o.ca_file + "': " + ec.message());
    } else {
      ctx->set_verify_mode(asio::ssl::verify_none);
    }
    if (!o.client_cert.empty()) {
      ctx->use_certificate_chain_file(o.client_cert, ec);
      if (ec) return Error::make(ErrorClass::kInternal, "cannot load client certificate '" + o.client_cert + "': " + ec.message());
      ctx->use_private_key_file(o.client_key, asio::ssl::context::pem, ec);
      if (ec) return Error::make(ErrorClass::kInternal, "cannot load client key '" + o.client_key + "': " + ec.message());
    }
    in.tls = std::move(ctx);
    in.verify_name = o.server_name.empty() ? o.host : o.server_name;
    boost::system::error_code aec;
    asio::ip::make_address(in.verify_name, aec);
    in.sni = static_cast<bool>(aec);  // SNI carries host names, never IP literals
  }
  ep->pool_key_ = o.scheme + "://" + o.host + ":" + std::to_string(o.port) + "|" + o.proxy + "|" +
                  (o.tls_verify ? "v" : "nv") + "|" + o.ca_file + "|" + o.client_cert + "|" +
                  o.server_name;
  return std::shared_ptr<const Endpoint>(std::move(ep));
}

// One pooled connection: plain or TLS, with its read buffer.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<SslStream> tls;
  beast::flat_buffer buffer;
  SteadyTime idle_since{};
  bool reused = false;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Whether a pooled connection still looks open: the peer has not closed it and,
  // for plain HTTP, has not sent unsolicited bytes.
  bool alive() {
    auto& sock = lowest().socket();
    if (!sock.is_open()) return false;
    char byte;
    const ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;
    if (n > 0) return tls != nullptr;  // TLS may have post-handshake records pending
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }

  void close() {
    boost::system::error_code ignored;
    lowest().socket().close(ignored);
  }
};

struct Pool {
  std::shared_ptr<const Endpoint> endpoint;
  std::vector<std::unique_ptr<Connection>> idle;  // most recently used last
  int open = 0;                                   // idle + in use
  std::deque<asio::steady_timer*> waiters;
};

struct Client::Impl {
  asio::io_context& ctx;
  tcp::resolver resolver;
  std::unordered_map<std::string, Pool> pools;
  struct DnsEntry {
    tcp::resolver::results_type results;
    SteadyTime expires;
  };
  std::unordered_map<std::string, DnsEntry> dns;
  ClientStats stats;

  explicit Impl(asio::io_context& c) : ctx(c), resolver(c) {}

  asio::awaitable<Result<tcp::resolver::results_type>> resolve(const std::string& host, std::uint16_t port) {
    const std::string key = host + ":" + std::to_string(port);
    const auto now = std::chrono::steady_clock::now();
    if (auto it = dns.find(key); it != dns.end() && it->second.expires > now) {
      co_return it->second.results;
    }
    auto [ec, results] = co_await resolver.async_resolve(host, std::to_string(port), nothrow);
    if (ec) {
      co_return transport_error(ErrorClass::kUnavailable, false, "dns_failure",
                                "cannot resolve " + host + ": " + ec.message());
    }
    dns[key] = DnsEntry{results, now + kDnsTtl};
    co_return results;
  }

  // Opens a connection (through the proxy when configured) and completes the TLS
  // handshake, all within `deadline`.
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Endpoint& ep, SteadyTime deadline,
                                                               CancelToken* cancel) {
    const auto& o = ep.options();
    const auto& in = ep.internals();
    const std::string& host = in.has_proxy ? in.proxy.host : o.host;
    const std::uint16_t port = in.has_proxy ? in.proxy.port : o.port;
    auto addrs = co_await resolve(host, port);
    if (!addrs) co_return std::move(addrs).error();

    auto conn = std::make_unique<Connection>();
    conn->plain = std::make_unique<beast::tcp_stream>(ctx);
    if (cancel) cancel->set_hook([c = conn.get()] { c->close(); });
    struct ClearHook {
      CancelToken* t;
      ~ClearHook() {
        if (t) t->clear_hook();
      }
    } clear_hook{cancel};
    const SteadyTime connect_by = std::min(deadline, std::chrono::steady_clock::now() + o.connect_timeout);
    conn->plain->expires_at(connect_by);
    auto [cec, cep] = co_await conn->plain->async_connect(*addrs, nothrow);
    if (cancel && cancel->cancelled()) co_return cancelled_error();
    if (cec) {
      const bool timed_out = cec == beast::error::timeout;
      co_return transport_error(timed_out ? ErrorClass::kTimeout : ErrorClass::kUnavailable, false,
                                timed_out ? "connect_timeout" : "connect_failed",
                                "connect to " + host + ":" + std::to_string(port) + ": " + cec.message());
    }
    boost::system::error_code ignored;
    conn->plain->socket().set_option(tcp::no_delay(true), ignored);
    ++stats.connections_opened;

    if (in.has_proxy) {
      const std::string authority = ep.host_header().find(':') == std::string::npos
                                        ? ep.host_header() + ":" + std::to_string(o.port)
                                        : ep.host_header();
      bhttp::request<bhttp::empty_body> creq{bhttp::verb::connect, authority, 11};
      creq.set(bhttp::field::host, authority);
      if (!in.proxy.authorization.empty()) creq.set(bhttp::field::proxy_authorization, in.proxy.authorization);
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

    if (in.tls) {
      conn->tls = std::make_unique<SslStream>(std::move(*conn->plain), *in.tls);
      conn->plain.reset();
      if (in.sni && !SSL_set_tlsext_host_name(conn->tls->native_handle(), in.verify_name.c_str())) {
        co_return transport_error(ErrorClass::kUnavailable, false, "tls_failed", "cannot set SNI");
      }
      if (o.tls_verify) conn->tls->set_verify_callback(asio::ssl::host_name_verification(in.verify_name));
      auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client, nothrow);
      if (cancel && cancel->cancelled()) co_return cancelled_error();
      if (hec) {
        const bool timed_out = hec == beast::error::timeout;
        co_return transport_error(timed_out ? ErrorClass::kTimeout : ErrorClass::kUnavailable, false,
                                  timed_out ? "connect_timeout" : "tls_failed",
                                  "TLS handshake with " + in.verify_name + ": " + hec.message());
      }
    }
    co_return conn;
  }

  Pool& pool_for(const std::shared_ptr<const Endpoint>& ep) {
    auto [it, inserted] = pools.try_emplace(ep->pool_key());
    if (inserted) it->second.endpoint = ep;
    return it->second;
  }

  asio::awaitable<Result<std::unique_ptr<Connection>>> acquire(const std::shared_ptr<const Endpoint>& ep,
                                                               SteadyTime deadline, CancelToken* cancel) {
    const auto& o = ep->options();
    for (;;) {
      Pool& pool = pool_for(ep);
      const auto now = std::chrono::steady_clock::now();
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
      if (pool.open < std::max(1, o.max_connections)) {
        ++pool.open;
        auto conn = co_await connect(*pool.endpoint, deadline, cancel);
        if (!conn) {
          release(ep, nullptr);
        }
        co_return conn;
      }
      // At the cap: wait for a connection to come back, until the deadline.
      asio::steady_timer timer(ctx);
      timer.expires_at(deadline);
      pool.waiters.push_back(&timer);
      if (cancel) cancel->set_hook([&timer] { timer.cancel(); });
      auto [ec] = co_await timer.async_wait(nothrow);
      if (cancel) cancel->clear_hook();
      Pool& after = pool_for(ep);
      std::erase(after.waiters, &timer);
      if (cancel && cancel->cancelled()) co_return cancelled_error();
      if (!ec) {
        co_return transport_error(ErrorClass::kUnavailable, false, "connection_limit",
                                  "all " + std::to_string(o.max_connections) +
                                      " connections to the provider are busy");
      }
    }
  }

  // Returns a connection to its pool (or drops it) and wakes one waiter.
  void release(const std::shared_ptr<const Endpoint>& ep, std::unique_ptr<Connection> conn) {
    Pool& pool = pool_for(ep);
    if (conn) {
      conn->idle_since = std::chrono::steady_clock::now();
      conn->buffer.clear();
      pool.idle.push_back(std::move(conn));
    } else {
      --pool.open;
    }
    if (!pool.waiters.empty()) {
      pool.waiters.front()->cancel();
      pool.waiters.pop_front();
    }
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
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    parser.header_limit(kMaxResponseHeader);
    auto [rec, rn] = co_await bhttp::async_read(stream, conn.buffer, parser, nothrow);
    if (rec) {
      if (rec == beast::error::timeout) {
        co_return Out{transport_error(ErrorClass::kTimeout, true, "read_timeout",
                                      "no complete answer before the attempt deadline"),
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

asio::awaitable<Result<HttpResponse>> Client::send(std::shared_ptr<const Endpoint> endpoint,
                                                   HttpRequest request, SteadyTime deadline, CancelToken* cancel) {
  auto& impl = *impl_;
  auto wire = serialize_request(request, endpoint->host_header());
  if (!wire) co_return std::move(wire).error();
  // A pooled connection the provider closed while we were writing is retried once
  // on a fresh one: the write failed, so the provider never saw the request.
  for (int round = 0; round < 2; ++round) {
    if (cancel && cancel->cancelled()) co_return cancelled_error();
    auto conn = co_await impl.acquire(endpoint, deadline, cancel);
    if (!conn) co_return std::move(conn).error();
    ++impl.stats.requests_sent;
    Connection& c = **conn;
    if (cancel) cancel->set_hook([&c] { c.close(); });
    // (No co_await inside ?: — GCC 12 miscompiles temporaries there.)
    std::pair<Result<HttpResponse>, bool> exchanged{Error{}, false};
    if (c.tls) {
      exchanged = co_await impl.exchange(*c.tls, c, *wire, deadline);
    } else {
      exchanged = co_await impl.exchange(*c.plain, c, *wire, deadline);
    }
    if (cancel) cancel->clear_hook();
    auto& [result, reusable] = exchanged;
    if (cancel && cancel->cancelled()) {
      result = cancelled_error();
      reusable = false;
    }
    const bool retry_stale = !result && c.reused && result.error().provider_code == "write_failed" &&
                             result.error().cls != ErrorClass::kTimeout && round == 0;
    if (reusable && result) {
      impl.release(endpoint, std::move(*conn));
    } else {
      c.close();
      impl.release(endpoint, nullptr);
    }
    if (retry_stale) continue;
    co_return std::move(result);
  }
  co_return transport_error(ErrorClass::kUnavailable, false, "connection_lost", "retry exhausted");
}

ClientStats Client::stats() const { return impl_->stats; }

int Client::idle_connections() const {
  int n = 0;
  for (const auto& [k, p] : impl_->pools) n += static_cast<int>(p.idle.size());
  return n;
}

}  // namespace tollgate::http
