#include "http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <netinet/in.h>
#include <cerrno>
#include <algorithm>
#include <sys/socket.h>
#include <unistd.h>

#include "http/beast_convert.h"

namespace tollgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SslStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
using RequestParser = ArenaParser<true>;

// A connection between requests, linked into its worker's idle list. The link
// lives in the session's coroutine frame: going idle allocates nothing.
struct IdleLink {
  IdleLink* prev = nullptr;
  IdleLink* next = nullptr;
  tcp::socket* socket = nullptr;
  std::chrono::steady_clock::time_point since;
  bool linked() const { return prev != nullptr; }
};

// Intrusive, oldest first. Only its worker's thread touches it.
class IdleList {
 public:
  IdleList() { head_.prev = head_.next = &head_; }
  IdleList(const IdleList&) = delete;
  IdleList& operator=(const IdleList&) = delete;

  bool empty() const { return head_.next == &head_; }
  IdleLink* front() const { return head_.next; }
  void push_back(IdleLink& link) {
    link.prev = head_.prev;
    link.next = &head_;
    head_.prev->next = &link;
    head_.prev = &link;
  }
  static void unlink(IdleLink& link) {
    if (!link.linked()) return;
    link.prev->next = link.next;
    link.next->prev = link.prev;
    link.prev = link.next = nullptr;
  }
  // Closes the oldest connection; its session sees the wait cancelled and ends.
  void close_front() {
    IdleLink* link = front();
    unlink(*link);
    boost::system::error_code ignored;
    link->socket->close(ignored);
  }

 private:
  IdleLink head_;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Workers& workers;
  ServerOptions opts;
  Handler& handler;
  std::unique_ptr<asio::ssl::context> tls;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> accept_failures{0};
  std::atomic<int> open{0};
  // Connections each worker serves (sessions running or handed to it): the
  // worker with the fewest gets the next one (see accept_loop).
  std::unique_ptr<std::atomic<int>[]> loads;
  // Requests each worker has answered; written only by that worker's thread,
  // each on its own cache line (read by requests_served()).
  struct alignas(64) Served {
    std::atomic<std::uint64_t> n{0};
  };
  std::unique_ptr<Served[]> served;
  // Per worker (touched only on that worker's thread): connections waiting for
  // their next request, oldest first. Every entry has the same timeout, so the
  // front is always the next to expire: one sweep timer per worker closes the
  // expired ones, and a drain closes them all at once.
  std::vector<IdleList> idle;
  std::vector<std::unique_ptr<asio::steady_timer>> sweepers;

  Impl(Workers& w, ServerOptions o, Handler& h)
      : workers(w),
        opts(std::move(o)),
        handler(h),
        loads(std::make_unique<std::atomic<int>[]>(static_cast<size_t>(w.size()))),
        served(std::make_unique<Served[]>(static_cast<size_t>(w.size()))),
        idle(static_cast<size_t>(w.size())) {}

  // The worker serving the fewest connections; `here` on a tie.
  int least_loaded(int here) const {
    int best = here;
    int fewest = loads[static_cast<size_t>(here)].load(std::memory_order_relaxed);
    for (int w = 0; w < workers.size(); ++w) {
      const int n = loads[static_cast<size_t>(w)].load(std::memory_order_relaxed);
      if (n < fewest) {
        best = w;
        fewest = n;
      }
    }
    return best;
  }

  void spawn_session(tcp::socket socket, RequestContext ctx) {
    const auto ex = socket.get_executor();
    if (tls) {
      asio::co_spawn(ex, session<true>(std::move(socket), std::move(ctx)), asio::detached);
    } else {
      asio::co_spawn(ex, session<false>(std::move(socket), std::move(ctx)), asio::detached);
    }
  }

  // Moves an accepted connection, before anything was read from it, to the
  // worker that is to serve it: its descriptor is re-registered with that
  // worker's reactor there. If that worker never runs the hand-over (it stopped),
  // the descriptor is closed and the connection uncounted.
  void hand_over(tcp::socket socket, RequestContext ctx) {
    // Owns the descriptor until the target worker takes it (and keeps the
    // server alive as long as it does).
    struct Handed {
      std::shared_ptr<Impl> impl;
      int fd;
      int worker;
      Handed(std::shared_ptr<Impl> i, int f, int w) : impl(std::move(i)), fd(f), worker(w) {}
      Handed(const Handed&) = delete;
      Handed& operator=(const Handed&) = delete;
      ~Handed() {
        if (fd < 0) return;
        ::close(fd);
        impl->loads[static_cast<size_t>(worker)].fetch_sub(1, std::memory_order_relaxed);
      }
    };
    boost::system::error_code ec;
    const auto protocol = socket.local_endpoint(ec).protocol();
    const int fd = ec ? -1 : socket.release(ec);
    if (ec || fd < 0) {
      // Gone already (reset, or not releasable): `socket` closes what is left.
      loads[static_cast<size_t>(ctx.worker)].fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    auto handed = std::make_shared<Handed>(shared_from_this(), fd, ctx.worker);
    asio::post(workers.context(ctx.worker), [handed, protocol, ctx = std::move(ctx)]() mutable {
      Impl& impl = *handed->impl;
      tcp::socket socket(impl.workers.context(ctx.worker));
      boost::system::error_code ec;
      socket.assign(protocol, handed->fd, ec);
      if (ec) return;  // ~Handed closes it
      handed->fd = -1;
      impl.spawn_session(std::move(socket), std::move(ctx));
    });
  }

  // How late past its idle timeout a connection may be closed.
  std::chrono::milliseconds sweep_period() const {
    return std::clamp<std::chrono::milliseconds>(opts.idle_timeout / 8, std::chrono::milliseconds(5),
                                                  std::chrono::milliseconds(1000));
  }

  asio::awaitable<void> sweep_loop(int worker) {
    auto self = shared_from_this();
    asio::steady_timer& timer = *sweepers[static_cast<size_t>(worker)];
    IdleList& list = idle[static_cast<size_t>(worker)];
    for (;;) {
      timer.expires_after(sweep_period());
      auto [ec] = co_await timer.async_wait(nothrow);
      if (ec) co_return;
      const auto now = std::chrono::steady_clock::now();
      while (!list.empty() && now - list.front()->since >= opts.idle_timeout) list.close_front();
    }
  }

  asio::awaitable<void> accept_loop(int worker) {
    auto self = shared_from_this();
    tcp::acceptor& acceptor = *acceptors[worker];
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        // Out of file descriptors (EMFILE, ENFILE) or memory: the pending
        // connection stays in the backlog and accept() would fail again at
        // once. Keep serving the connections we have and look again shortly.
        accept_failures.fetch_add(1, std::memory_order_relaxed);
        const bool exhausted = ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                               ec == asio::error::no_memory || ec.value() == ENFILE;
        pause.expires_after(exhausted ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10));
        co_await pause.async_wait(nothrow);
        continue;
      }
      boost::system::error_code ignored;
      if (open.load(std::memory_order_relaxed) >= opts.max_connections) {
        refused.fetch_add(1, std::memory_order_relaxed);
        refuse(std::move(socket));
        continue;
      }
      const std::uint64_t id = accepted.fetch_add(1, std::memory_order_relaxed) + 1;
      socket.set_option(tcp::no_delay(true), ignored);
      const auto remote = socket.remote_endpoint(ignored);
      // The kernel spreads connections over the workers' listeners by a hash of
      // their addresses: a few long-lived callers can land mostly on one worker
      // while another idles, and their calls queue behind each other. Each
      // connection goes to the worker serving the fewest (Envoy's exact
      // balance), handed over before its first byte is read.
      const int target = least_loaded(worker);
      loads[static_cast<size_t>(target)].fetch_add(1, std::memory_order_relaxed);
      RequestContext ctx{target, id, ignored ? std::string() : remote.address().to_string()};
      if (target == worker) {
        spawn_session(std::move(socket), std::move(ctx));
      } else {
        hand_over(std::move(socket), std::move(ctx));
      }
    }
  }

  // At max_connections: a short 503 written without waiting (the socket's send
  // buffer takes it whole), then closed. The caller learns why and when to retry.
  static void refuse(tcp::socket socket) {
    static constexpr std::string_view kBody =
        R"({"error":{"code":"unavailable","message":"tollgate is at its connection limit","retryable":true}})";
    static const std::string kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(kBusy), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // The connection's life: wait for a request, serve it, again. Everything a
  // request needs (the parser, the handler's call, Beast's stream with its
  // timers) lives in serve_request's frame, allocated only while a request is
  // being served. An idle plain connection holds no buffer and no timer: only
  // its socket, this frame and its place in the worker's idle list (the idle
  // footprint per caller, see docs/benchmarks.md). TLS connections keep their
  // stream, whose records may hold bytes already read.
  template <bool kTls>
  asio::awaitable<void> session(tcp::socket socket, RequestContext ctx) {
    auto self = shared_from_this();
    open.fetch_add(1, std::memory_order_relaxed);
    struct Closer {
      std::atomic<int>& n;
      std::atomic<int>& load;  // counted by accept_loop
      ~Closer() {
        n.fetch_sub(1, std::memory_order_relaxed);
        load.fetch_sub(1, std::memory_order_relaxed);
      }
    } closer{open, loads[static_cast<size_t>(ctx.worker)]};
    try {
      beast::flat_buffer buffer;
      if constexpr (kTls) {
        SslStream stream(beast::tcp_stream(std::move(socket)), *tls);
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_after(opts.request_timeout);
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
        if (hec) co_return;
        for (;;) {
          if (buffer.size() == 0) {
            if (draining.load(std::memory_order_relaxed)) co_return;
            lowest.expires_after(opts.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), nothrow);
            if (ec) co_return;
            buffer.commit(n);
          }
          if (!co_await serve_request(stream, buffer, ctx)) co_return;
        }
      } else {
        for (;;) {
          if (buffer.size() == 0) {
            // Idle keep-alive: wait until the next request's first byte can be
            // read, holding no buffer. The worker's sweep closes the socket past
            // idle_timeout, a drain at once; either cancels the wait.
            if (draining.load(std::memory_order_relaxed)) co_return;
            buffer.shrink_to_fit();
            IdleList& list = idle[static_cast<size_t>(ctx.worker)];
            IdleLink link{.socket = &socket, .since = std::chrono::steady_clock::now()};
            list.push_back(link);
            auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, nothrow);
            IdleList::unlink(link);
            if (ec || !socket.is_open()) co_return;
          }
          beast::tcp_stream stream(std::move(socket));
          if (!co_await serve_request(stream, buffer, ctx)) co_return;
          socket = stream.release_socket();
        }
      }
    } catch (const std::exception&) {
      // A broken connection must never take the worker down.
    }
  }

  template <class Stream>
  asio::awaitable<void> send_error(Stream& stream, int status, std::string_view message) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::connection, "close");
    res.body() = std::string("{\"error\":{\"code\":\"") +
                 (status == 413 || status == 431 ? "too_large" : "bad_request") +
                 "\",\"message\":\"" + std::string(message) + "\",\"retryable\":false}}";
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
    co_await bhttp::async_write(stream, res, nothrow);
    co_await lingering_close(beast::get_lowest_layer(stream));
  }

  // Closes after an error answer without losing it: a plain close with unread
  // request bytes pending makes the kernel send a reset, which can destroy the
  // answer in the client's receive buffer. Half-close, then drain briefly.
  static asio::awaitable<void> lingering_close(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    co_await drain(stream);
    stream.socket().close(ignored);
  }

  // Reads and drops whatever the peer sends until the connection ends or the
  // stream's expiry passes. A coroutine of its own: its buffer stays out of the
  // frames of the paths that rarely need it.
  static asio::awaitable<void> drain(beast::tcp_stream& stream) {
    char sink[4096];
    for (;;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), nothrow);
      if (ec) co_return;
    }
  }

  // A request's head is read in chunks of this much: one read for a usual call,
  // and a buffer small enough for the allocator's per-thread cache (glibc's
  // ends at 1,032 bytes; a larger block takes its slower path).
  static constexpr std::size_t kReadChunk = 1024;

  // Reads a request head into `parser`, at most `limit` bytes of it. Beast's own
  // header_limit applies to the bytes not yet consumed, and its parser consumes
  // fields as they complete, so a head arriving in pieces could grow far past the
  // limit; here each put() gets only what is left of the budget.
  template <class Stream>
  static asio::awaitable<boost::system::error_code> read_head(Stream& stream, beast::flat_buffer& buffer,
                                                              RequestParser& parser, std::size_t limit) {
    std::size_t consumed = 0;
    for (;;) {
      if (buffer.size() > 0) {
        parser.header_limit(static_cast<std::uint32_t>(limit - consumed));
        boost::system::error_code ec;
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        consumed += used;
        if (parser.is_header_done()) co_return boost::system::error_code{};
        if (ec && ec != bhttp::error::need_more) co_return ec;
        if (consumed >= limit) co_return bhttp::error::header_limit;
      }
      auto [rec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), nothrow);
      if (rec) {
        if (rec == asio::error::eof) {
          co_return consumed == 0 && buffer.size() == 0 ? bhttp::error::end_of_stream : bhttp::error::partial_message;
        }
        co_return rec;
      }
      buffer.commit(n);
    }
  }

  // Reads one request from `buffer` and the stream, answers it. False: the
  // connection is done (closed, broken, or not to be kept alive).
  template <class Stream>
  asio::awaitable<bool> serve_request(Stream& stream, beast::flat_buffer& buffer, const RequestContext& ctx) {
    auto& lowest = beast::get_lowest_layer(stream);
    // From here the whole request must arrive within request_timeout.
    lowest.expires_after(opts.request_timeout);
    const auto arena = std::make_unique<FieldArena>();
    RequestParser parser = parser_in<true>(*arena);
    parser.body_limit(opts.max_body_bytes);
    const boost::system::error_code hec = co_await read_head(stream, buffer, parser, opts.max_header_bytes);
    if (!hec && parser.get()[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await asio::async_write(stream, asio::buffer(kContinue), nothrow);
    }
    boost::system::error_code ec = hec;
    if (!ec && !parser.is_done()) {
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, nothrow);
      ec = bec;
    }
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        co_await send_error(stream, 413, "request body is larger than the server's limit");
      } else if (ec == bhttp::error::header_limit) {
        co_await send_error(stream, 431, "request header is larger than the server's limit");
      } else if (ec == beast::error::timeout) {
        // Too slow: tcp_stream has already closed the socket. Nothing to say.
      } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
                 ec != asio::error::connection_reset) {
        co_await send_error(stream, 400, "malformed HTTP request");
      }
      co_return false;
    }
    auto req = parser.release();
    const bool keep_alive = req.keep_alive() && !draining.load(std::memory_order_relaxed);
    lowest.expires_never();  // the handler bounds its own work by the call's deadline
    ServerResponse out;
    try {
      out = co_await handler.handle(from_beast(std::move(req)), ctx);
    } catch (const std::exception&) {
      out.response = HttpResponse{500, {{"Content-Type", "application/json"}},
                                  R"({"error":{"code":"internal","message":"internal error","retryable":true}})"};
    }
    auto& answered = served[static_cast<size_t>(ctx.worker)].n;  // one writer: no locked add
    answered.store(answered.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    switch (out.mode) {
      case ResponseMode::kNormal: {
        const std::string wire = serialize_response(out.response, keep_alive);
        lowest.expires_after(opts.write_timeout);
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(wire), nothrow);
        if (wec || !keep_alive) {
          boost::system::error_code ignored;
          lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
          co_return false;
        }
        break;
      }
      case ResponseMode::kHang:
        // Reads and drops what the client sends until it goes away; never answers.
        lowest.expires_never();
        co_await drain(lowest);
        co_return false;
      case ResponseMode::kReset: {
        boost::system::error_code ignored;
        lowest.socket().set_option(asio::socket_base::linger(true, 0), ignored);
        lowest.socket().close(ignored);
        co_return false;
      }
      case ResponseMode::kClose: {
        boost::system::error_code ignored;
        lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return false;
      }
      case ResponseMode::kSlowBody:
        if (!co_await write_slowly(stream, out, keep_alive) || !keep_alive) co_return false;
        break;
    }
    co_return true;
  }

  // The simulator's slow-body answer, in a frame of its own (a coroutine's frame
  // holds every local of its body, and serve_request's is allocated for every
  // request): the head at once, then the body 8 bytes at a time, `slow_interval`
  // apart.
  template <class Stream>
  asio::awaitable<bool> write_slowly(Stream& stream, const ServerResponse& out, bool keep_alive) {
    auto& lowest = beast::get_lowest_layer(stream);
    const std::string bytes = serialize_head(out.response, keep_alive) + out.response.body;
    const size_t head = bytes.size() - out.response.body.size();
    lowest.expires_after(opts.write_timeout + out.slow_interval * 64);
    auto [e1, n1] = co_await asio::async_write(stream, asio::buffer(bytes.data(), head), nothrow);
    if (e1) co_return false;
    asio::steady_timer timer(lowest.get_executor());
    for (size_t pos = head; pos < bytes.size(); pos += 8) {
      timer.expires_after(out.slow_interval);
      co_await timer.async_wait(nothrow);
      const size_t len = std::min<size_t>(8, bytes.size() - pos);
      auto [e2, n2] = co_await asio::async_write(stream, asio::buffer(bytes.data() + pos, len), nothrow);
      if (e2) co_return false;
    }
    co_return true;
  }
};

Server::Server(Workers& workers, ServerOptions options, Handler& handler)
    : impl_(std::make_shared<Impl>(workers, std::move(options), handler)) {}

Server::~Server() { stop_accepting(); }

Result<std::uint16_t> Server::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return Error::make(ErrorClass::kInternal, "listen address '" + host + "' is not an IP address");
  if (!impl_->opts.tls_cert_file.empty()) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    ctx->use_certificate_chain_file(impl_->opts.tls_cert_file, ec);
    if (!ec) ctx->use_private_key_file(impl_->opts.tls_key_file, asio::ssl::context::pem, ec);
    if (!ec && !impl_->opts.tls_client_ca_file.empty()) {
      ctx->load_verify_file(impl_->opts.tls_client_ca_file, ec);
      ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
    if (ec) return Error::make(ErrorClass::kInternal, "TLS setup failed: " + ec.message());
    impl_->tls = std::move(ctx);
  }
  tcp::endpoint ep(addr, port);
  for (int i = 0; i < impl_->workers.size(); ++i) {
    auto acc = std::make_unique<tcp::acceptor>(impl_->workers.context(i));
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc->set_option(ReusePort(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error::make(ErrorClass::kInternal,
                         "cannot listen on " + host + ":" + std::to_string(ep.port()) + ": " + ec.message());
    }
    if (i == 0) ep.port(acc->local_endpoint().port());  // port 0: the rest share the chosen one
    impl_->acceptors.push_back(std::move(acc));
  }
  return ep.port();
}

void Server::start() {
  for (int i = 0; i < static_cast<int>(impl_->acceptors.size()); ++i) {
    impl_->sweepers.push_back(std::make_unique<asio::steady_timer>(impl_->workers.context(i)));
  }
  for (int i = 0; i < static_cast<int>(impl_->acceptors.size()); ++i) {
    asio::co_spawn(impl_->workers.context(i), impl_->accept_loop(i), asio::detached);
    asio::co_spawn(impl_->workers.context(i), impl_->sweep_loop(i), asio::detached);
  }
}

void Server::stop_accepting() {
  impl_->draining = true;
  for (size_t i = 0; i < impl_->acceptors.size(); ++i) {
    auto* acc = impl_->acceptors[i].get();
    asio::post(impl_->workers.context(static_cast<int>(i)), [acc, i, keep = impl_] {
      boost::system::error_code ignored;
      acc->close(ignored);
      // Idle keep-alive connections would otherwise hold the drain for their
      // idle timeout: close them now (their sessions end on the cancelled wait).
      IdleList& list = keep->idle[i];
      while (!list.empty()) list.close_front();
      if (i < keep->sweepers.size()) keep->sweepers[i]->cancel();
    });
  }
}

std::uint64_t Server::connections_refused() const { return impl_->refused.load(); }
std::uint64_t Server::accept_errors() const { return impl_->accept_failures.load(); }

std::uint64_t Server::connections_accepted() const { return impl_->accepted.load(); }
int Server::connections_open() const { return impl_->open.load(); }

std::uint64_t Server::requests_served() const {
  std::uint64_t n = 0;
  for (int i = 0; i < impl_->workers.size(); ++i) {
    n += impl_->served[static_cast<size_t>(i)].n.load(std::memory_order_relaxed);
  }
  return n;
}

std::vector<int> Server::connections_by_worker() const {
  std::vector<int> out(static_cast<size_t>(impl_->workers.size()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = std::max(0, impl_->loads[i].load(std::memory_order_relaxed));
  return out;
}

}  // namespace tollgate::http
