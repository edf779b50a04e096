#include "queue/broker.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <map>

#include "core/encoding.h"
#include "core/process.h"
#include "core/random.h"
#include "core/url.h"

namespace tollgate::queue {

namespace {

constexpr amqp_channel_t kConsume = 1;
constexpr amqp_channel_t kPublish = 2;

amqp_bytes_t bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string text(amqp_bytes_t b) { return b.len ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string(); }

// A short description of a failed RPC reply, for logs (never carries credentials).
std::string describe(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "connection closed by the broker: " + std::to_string(m->reply_code) + " " + text(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "channel closed by the broker: " + std::to_string(m->reply_code) + " " + text(m->reply_text);
      }
      return "broker exception";
  }
  return "unknown";
}

// A header of the message as text (string or integer values), "" when absent.
std::string header(const amqp_basic_properties_t& p, std::string_view name) {
  if (!(p._flags & AMQP_BASIC_HEADERS_FLAG)) return {};
  for (int i = 0; i < p.headers.num_entries; ++i) {
    const auto& e = p.headers.entries[i];
    if (text(e.key) != name) continue;
    switch (e.value.kind) {
      case AMQP_FIELD_KIND_UTF8:
      case AMQP_FIELD_KIND_BYTES:
        return text(e.value.value.bytes);
      case AMQP_FIELD_KIND_I32:
        return std::to_string(e.value.value.i32);
      case AMQP_FIELD_KIND_I64:
        return std::to_string(e.value.value.i64);
      case AMQP_FIELD_KIND_U32:
        return std::to_string(e.value.value.u32);
      default:
        return {};
    }
  }
  return {};
}

}  // namespace

struct Broker::Impl {
  Impl(Broker& b, config::QueuesConfig c, Dispatch d, metrics::Registry* m)
      : owner(b), cfg(std::move(c)), dispatch(std::move(d)) {
    if (m) {
      consumed = &m->counter("tollgate_queue_requests_total",
                             "Request messages consumed, by queue and what became of them: replied (answer "
                             "published and confirmed, then acked), accepted (an async job), dead_lettered "
                             "(poison: rejected to the DLX), redelivered (seen again after a lost ack).",
                             {"queue", "result"});
      published = &m->counter("tollgate_queue_replies_total",
                              "Result messages published, by outcome: confirmed, nacked, unroutable (no queue "
                              "named reply_to), failed (no connection).",
                              {"outcome"});
      up = &m->gauge("tollgate_queue_connected", "1 while the connection to the RabbitMQ broker is up.", {}).with({});
      flight = &m->gauge("tollgate_queue_in_flight", "Request messages consumed and not yet acked or rejected.",
                         {"queue"});
    }
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  ~Impl() {
    if (wake_fd >= 0) close(wake_fd);
  }

  // Work handed to the broker's thread by other threads.
  struct Completion {
    std::uint64_t generation;  // the connection the delivery came on
    std::string queue;
    Delivery delivery;
    Answer answer;
  };
  struct Publish {
    std::string reply_to, correlation_id, body;
    Published done;
  };

  Broker& owner;
  const config::QueuesConfig cfg;
  const Dispatch dispatch;
  metrics::Family<metrics::Counter>* consumed = nullptr;
  metrics::Family<metrics::Counter>* published = nullptr;
  metrics::Gauge* up = nullptr;
  metrics::Family<metrics::Gauge>* flight = nullptr;

  std::mutex mu;
  std::deque<Completion> completions;  // guarded by mu
  std::deque<Publish> publishes;       // guarded by mu
  std::map<std::chrono::steady_clock::time_point, Completion> retries;  // broker thread only (keyed by due time)
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::atomic<bool> draining{false};
  std::thread thread;

  // Broker thread only.
  amqp_connection_state_t conn = nullptr;
  std::uint64_t generation = 0;
  std::uint64_t next_seq = 1;  // the next publish's confirm sequence number on kPublish
  struct Pending {
    Published done;
    // The request to ack once the reply is confirmed (0: a job's final status).
    std::uint64_t delivery_tag = 0;
    std::string queue;
    bool returned = false;  // basic.return came first: no queue named reply_to
  };
  std::map<std::uint64_t, Pending> unconfirmed;
  std::map<std::string, std::int64_t> in_flight;  // per queue

  const config::QueueConsumerConfig* consumer_of(const std::string& queue) const {
    for (const auto& c : cfg.consumers) {
      if (c.queue == queue) return &c;
    }
    return nullptr;
  }

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(wake_fd, &one, sizeof one);
  }

  void count(const std::string& queue, const char* result) {
    if (consumed) consumed->with({queue, result}).inc();
  }
  void flight_add(const std::string& queue, int d) {
    in_flight[queue] += d;
    owner.in_flight_.fetch_add(d);
    if (flight) flight->with({queue}).set(static_cast<double>(in_flight[queue]));
  }

  // --- connection -------------------------------------------------------------

  bool ok(const amqp_rpc_reply_t& r, const char* what) {
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return true;
    spdlog::warn("queues: {}: {}", what, describe(r));
    return false;
  }

  bool connect() {
    const auto url = parse_http_url(cfg.url, UrlRules{.allow_userinfo = true, .allow_query = false, .amqp = true});
    if (!url) return false;
    std::string user = "guest", password = "guest";
    if (!url->userinfo.empty()) {
      const auto colon = url->userinfo.find(':');
      user = url->userinfo.substr(0, colon);
      password = colon == std::string::npos ? std::string() : url->userinfo.substr(colon + 1);
    }
    std::string vhost = url->path == "/" ? std::string("/") : url->path.substr(1);
    if (auto decoded = percent_decode(vhost, false)) vhost = *decoded;
    conn = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(conn);
    if (!socket) return close_connection("cannot make a socket");
    timeval tv{5, 0};
    if (amqp_socket_open_noblock(socket, url->host.c_str(), url->port, &tv) != AMQP_STATUS_OK) {
      return close_connection("cannot connect to " + url->host_port());
    }
    const int heartbeat = static_cast<int>(std::max<long long>(1, cfg.heartbeat.count() / 1000));
    if (!ok(amqp_login(conn, vhost.c_str(), 0, 131072, heartbeat, AMQP_SASL_METHOD_PLAIN, user.c_str(),
                       password.c_str()),
            "login")) {
      return close_connection("login refused");
    }
    amqp_set_rpc_timeout(conn, &tv);
    amqp_channel_open(conn, kConsume);
    if (!ok(amqp_get_rpc_reply(conn), "channel")) return close_connection("no channel");
    amqp_channel_open(conn, kPublish);
    if (!ok(amqp_get_rpc_reply(conn), "channel")) return close_connection("no channel");
    amqp_confirm_select(conn, kPublish);
    if (!ok(amqp_get_rpc_reply(conn), "confirm.select")) return close_connection("no publisher confirms");
    next_seq = 1;
    for (const auto& c : cfg.consumers) {
      if (c.declare && !declare(c)) return close_connection("cannot declare " + c.queue);
      // Per-consumer prefetch: basic.qos applies to the consumers started after it.
      amqp_basic_qos(conn, kConsume, 0, static_cast<std::uint16_t>(std::min(c.prefetch, 65535)), 0);
      if (!ok(amqp_get_rpc_reply(conn), "basic.qos")) return close_connection("basic.qos refused");
      amqp_basic_consume(conn, kConsume, bytes(c.queue), bytes(c.queue), 0, 0, 0, amqp_empty_table);
      if (!ok(amqp_get_rpc_reply(conn), ("consume " + c.queue).c_str())) return close_connection("cannot consume");
    }
    ++generation;
    owner.connected_ = true;
    if (up) up->set(1);
    spdlog::info("queues: connected to {}, consuming {} queue{}", url->redacted(), cfg.consumers.size(),
                 cfg.consumers.size() == 1 ? "" : "s");
    return true;
  }

  bool declare(const config::QueueConsumerConfig& c) {
    const std::string dead = c.queue + ".dead";
    amqp_exchange_declare(conn, kConsume, bytes(c.dead_letter_exchange), amqp_cstring_bytes("fanout"), 0, 1, 0, 0,
                          amqp_empty_table);
    if (!ok(amqp_get_rpc_reply(conn), "declare the dead-letter exchange")) return false;
    amqp_table_entry_t quorum[1];
    quorum[0].key = amqp_cstring_bytes("x-queue-type");
    quorum[0].value.kind = AMQP_FIELD_KIND_UTF8;
    quorum[0].value.value.bytes = amqp_cstring_bytes("quorum");
    amqp_queue_declare(conn, kConsume, bytes(dead), 0, 1, 0, 0, amqp_table_t{1, quorum});
    if (!ok(amqp_get_rpc_reply(conn), "declare the dead-letter queue")) return false;
    amqp_queue_bind(conn, kConsume, bytes(dead), bytes(c.dead_letter_exchange), amqp_empty_bytes, amqp_empty_table);
    if (!ok(amqp_get_rpc_reply(conn), "bind the dead-letter queue")) return false;
    amqp_table_entry_t args[3];
    args[0] = quorum[0];
    args[1].key = amqp_cstring_bytes("x-delivery-limit");
    args[1].value.kind = AMQP_FIELD_KIND_I32;
    args[1].value.value.i32 = c.delivery_limit;
    args[2].key = amqp_cstring_bytes("x-dead-letter-exchange");
    args[2].value.kind = AMQP_FIELD_KIND_UTF8;
    args[2].value.value.bytes = bytes(c.dead_letter_exchange);
    amqp_queue_declare(conn, kConsume, bytes(c.queue), 0, 1, 0, 0, amqp_table_t{3, args});
    return ok(amqp_get_rpc_reply(conn), ("declare " + c.queue).c_str());
  }

  bool close_connection(const std::string& why) {
    if (!why.empty()) spdlog::warn("queues: {}", why);
    if (conn) {
      amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
      amqp_destroy_connection(conn);
      conn = nullptr;
    }
    if (owner.connected_.exchange(false)) spdlog::warn("queues: disconnected from the broker");
    if (up) up->set(0);
    // Unacked deliveries go back to the queue with the connection; their answers,
    // when they come, are dropped (the redelivery is answered from the store).
    for (auto& [q, n] : in_flight) {
      owner.in_flight_.fetch_sub(n);
      n = 0;
      if (flight) flight->with({q}).set(0);
    }
    for (auto& [seq, p] : unconfirmed) {
      if (p.done) p.done(false, "the broker connection was lost before the publish was confirmed");
    }
    unconfirmed.clear();
    retries.clear();
    return false;
  }

  // --- the loop ---------------------------------------------------------------

  void run() {
    auto backoff = cfg.reconnect_min;
    while (!stopping.load()) {
      if (!connect()) {
        fail_publishes();
        // Exponential backoff with jitter, interrupted by stop().
        const auto wait = Millis(static_cast<long long>(static_cast<double>(backoff.count()) * (0.5 + random_unit())));
        wait_for_wake(wait);
        backoff = std::min(cfg.reconnect_max, backoff * 2);
        continue;
      }
      backoff = cfg.reconnect_min;
      serve();
      close_connection(stopping.load() ? "" : "connection lost; reconnecting");
    }
  }

  void wait_for_wake(Millis wait) {
    pollfd p{wake_fd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(wait.count()));
    std::uint64_t n;
    [[maybe_unused]] auto r = read(wake_fd, &n, sizeof n);
  }

  void fail_publishes() {
    std::deque<Publish> todo;
    {
      std::lock_guard lock(mu);
      todo.swap(publishes);
    }
    for (auto& p : todo) {
      if (published) published->with({"failed"}).inc();
      p.done(false, "not connected to the broker");
    }
  }

  // Until the connection fails or stop() has drained it.
  void serve() {
    const int sock = amqp_get_sockfd(conn);
    bool cancelled = false;
    while (true) {
      if (draining.load() && !cancelled) {
        for (const auto& c : cfg.consumers) amqp_basic_cancel(conn, kConsume, bytes(c.queue));
        cancelled = true;
      }
      if (stopping.load()) return;  // after stop()'s grace: what is unacked is redelivered
      if (!handle_work()) return;
      // Frames already read into rabbitmq-c's buffers are not seen by poll().
      if (!amqp_frames_enqueued(conn) && !amqp_data_in_buffer(conn)) {
        pollfd fds[2] = {{sock, POLLIN, 0}, {wake_fd, POLLIN, 0}};
        const int timeout = retries.empty() ? 1000 : 50;
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) return;
        if (fds[1].revents & POLLIN) {
          std::uint64_t n;
          [[maybe_unused]] auto r = read(wake_fd, &n, sizeof n);
        }
      }
      // Also when nothing arrived: reading is when rabbitmq-c sends heartbeats.
      if (!read_one()) return;
    }
  }

  // One incoming frame (a delivery with its content); false when the connection
  // is gone. Never waits for a frame: a partial one stays in rabbitmq-c's buffer.
  // Reading is also when rabbitmq-c sends its heartbeats.
  bool read_one() {
    amqp_maybe_release_buffers(conn);
    amqp_frame_t frame;
    timeval zero{0, 0};
    const int s = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
    if (s == AMQP_STATUS_TIMEOUT) return true;
    if (s != AMQP_STATUS_OK) {
      spdlog::warn("queues: reading from the broker: {}", amqp_error_string2(s));
      return false;
    }
    if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_DELIVER_METHOD) {
      const auto* m = static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded);
      // Copied before the content is read: reading may reuse the frame's memory.
      const std::string queue = text(m->consumer_tag);
      const std::uint64_t tag = m->delivery_tag;
      const bool redelivered = m->redelivered;
      amqp_message_t message;
      const amqp_rpc_reply_t r = amqp_read_message(conn, frame.channel, &message, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        spdlog::warn("queues: reading a delivery: {}", describe(r));
        return false;
      }
      on_delivery(queue, tag, redelivered, message);
      amqp_destroy_message(&message);
      return true;
    }
    return on_frame(frame);
  }

  // A frame other than a delivery: publisher confirms, returns, closes.
  bool on_frame(const amqp_frame_t& frame) {
    if (frame.frame_type != AMQP_FRAME_METHOD) return true;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        auto* m = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        confirm(m->delivery_tag, m->multiple, true);
        return true;
      }
      case AMQP_BASIC_NACK_METHOD: {
        auto* m = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
        confirm(m->delivery_tag, m->multiple, false);
        return true;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        // A mandatory publish no queue took; its ack follows. Read the returned message off the wire.
        amqp_message_t returned;
        if (amqp_read_message(conn, frame.channel, &returned, 0).reply_type != AMQP_RESPONSE_NORMAL) return false;
        amqp_destroy_message(&returned);
        if (!unconfirmed.empty()) {
          // Returns come in publish order, before the ack of the same publish.
          for (auto& [seq, p] : unconfirmed) {
            if (!p.returned) {
              p.returned = true;
              break;
            }
          }
        }
        return true;
      }
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        spdlog::warn("queues: the broker closed the {}",
                     frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ? "channel" : "connection");
        return false;
      default:
        return true;
    }
  }

  void on_delivery(const std::string& queue, std::uint64_t tag, bool redelivered, const amqp_message_t& message) {
    Delivery d;
    d.body = text(message.body);
    const auto& p = message.properties;
    if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.message_id = text(p.message_id);
    if (p._flags & AMQP_BASIC_REPLY_TO_FLAG) d.reply_to = text(p.reply_to);
    if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) d.correlation_id = text(p.correlation_id);
    // Clients that cannot set those properties (amqp-tools' amqp-publish) may send them as headers.
    if (d.message_id.empty()) d.message_id = header(p, "idempotency_key");
    if (d.correlation_id.empty()) d.correlation_id = header(p, "correlation_id");
    d.not_before = header(p, "not_before");
    d.timeout_ms = header(p, "timeout_ms");
    d.delivery_tag = tag;
    d.redelivered = redelivered;
    const config::QueueConsumerConfig* consumer = consumer_of(queue);
    if (!consumer) {
      amqp_basic_reject(conn, kConsume, d.delivery_tag, 1);
      return;
    }
    if (d.redelivered) count(queue, "redelivered");
    flight_add(queue, 1);
    start_call(queue, *consumer, std::move(d));
  }

  void start_call(const std::string& queue, const config::QueueConsumerConfig& consumer, Delivery d) {
    auto req = to_request(d, consumer);
    if (!req) {
      settle(Completion{generation, queue, std::move(d), Answer{422, error_body(req.error())}});
      return;
    }
    const std::uint64_t gen = generation;
    dispatch(std::move(*req), [this, gen, queue, d = std::move(d)](Answer a) mutable {
      {
        std::lock_guard lock(mu);
        completions.push_back(Completion{gen, std::move(queue), std::move(d), std::move(a)});
      }
      wake();
    });
  }

  // Completions, retries due, and publishes asked for; false when the connection failed.
  bool handle_work() {
    std::deque<Completion> done;
    std::deque<Publish> pubs;
    {
      std::lock_guard lock(mu);
      done.swap(completions);
      pubs.swap(publishes);
    }
    for (auto& c : done) {
      if (c.generation != generation) continue;  // redelivered on the new connection
      if (!settle(std::move(c))) return false;
    }
    for (auto& p : pubs) {
      if (!publish_now(p.reply_to, p.correlation_id, p.body, std::move(p.done), 0, {})) return false;
    }
    const auto now = std::chrono::steady_clock::now();
    while (!retries.empty() && retries.begin()->first <= now) {
      Completion c = std::move(retries.begin()->second);
      retries.erase(retries.begin());
      if (const auto* consumer = consumer_of(c.queue)) start_call(c.queue, *consumer, std::move(c.delivery));
    }
    return true;
  }

  // What the answer means for the message (message.h).
  bool settle(Completion c) {
    const std::string& queue = c.queue;
    switch (disposition(c.answer.status, c.answer.body)) {
      case Disposition::kAck:
        count(queue, "accepted");
        return ack(queue, c.delivery.delivery_tag);
      case Disposition::kRetryLater: {
        // Keyed first delivery still running (409) or the caller's rate limit (429): ask again.
        auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(c.answer.status == 429 ? 200 : 1000);
        while (retries.count(due)) due += std::chrono::microseconds(1);
        retries.emplace(due, std::move(c));
        return true;
      }
      case Disposition::kDeadLetter:
        count(queue, "dead_lettered");
        if (!c.delivery.reply_to.empty()) {
          // The error reply is best effort: the message itself is kept by the DLX.
          if (!publish_now(c.delivery.reply_to, c.delivery.correlation_id, c.answer.body, nullptr, 0, {})) return false;
        }
        flight_add(queue, -1);
        amqp_basic_reject(conn, kConsume, c.delivery.delivery_tag, 0);
        return true;
      case Disposition::kReplyAndAck:
        if (c.delivery.reply_to.empty()) {
          count(queue, "replied");
          return ack(queue, c.delivery.delivery_tag);
        }
        return publish_now(c.delivery.reply_to, c.delivery.correlation_id, c.answer.body, nullptr,
                           c.delivery.delivery_tag, queue);
    }
    return true;
  }

  bool ack(const std::string& queue, std::uint64_t tag) {
    flight_add(queue, -1);
    return amqp_basic_ack(conn, kConsume, tag, 0) == AMQP_STATUS_OK;
  }

  bool publish_now(const std::string& reply_to, const std::string& correlation_id, const std::string& body,
                   Published done, std::uint64_t ack_tag, const std::string& queue) {
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 2;  // persistent
    props.correlation_id = bytes(correlation_id);
    const int s = amqp_basic_publish(conn, kPublish, amqp_empty_bytes, bytes(reply_to), /*mandatory=*/1, 0, &props,
                                      bytes(body));
    if (s != AMQP_STATUS_OK) {
      if (done) done(false, std::string("publish failed: ") + amqp_error_string2(s));
      return false;
    }
    unconfirmed.emplace(next_seq++, Pending{std::move(done), ack_tag, queue, false});
    return true;
  }

  void confirm(std::uint64_t seq, bool multiple, bool acked) {
    auto end = multiple ? unconfirmed.upper_bound(seq) : unconfirmed.find(seq);
    auto begin = multiple ? unconfirmed.begin() : end;
    if (!multiple) {
      if (end == unconfirmed.end()) return;
      ++end;
    }
    for (auto it = begin; it != end;) {
      Pending& p = it->second;
      const char* outcome = !acked ? "nacked" : p.returned ? "unroutable" : "confirmed";
      if (published) published->with({outcome}).inc();
      if (p.done) {
        p.done(acked && !p.returned, !acked        ? "the broker refused the message (nack)"
                                     : p.returned ? "no queue named reply_to: the result was dropped by the broker"
                                                  : "published to reply_to, confirmed");
      }
      if (p.delivery_tag) {
        if (acked) {
          // An unroutable reply (reply_to names no queue) is still the request's
          // final outcome: it is in the store, and a repeat of the message
          // (same message_id) publishes it again.
          if (p.returned) spdlog::warn("queues: a reply to a request of {} was unroutable", p.queue);
          count(p.queue, "replied");
          ack(p.queue, p.delivery_tag);
        } else {
          // Not taken: hand the request back so another try can reply.
          flight_add(p.queue, -1);
          amqp_basic_nack(conn, kConsume, p.delivery_tag, 0, 1);
        }
      }
      it = unconfirmed.erase(it);
    }
  }
};

Broker::Broker(config::QueuesConfig cfg, Dispatch dispatch, metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>(*this, std::move(cfg), std::move(dispatch), metrics)) {}

Broker::~Broker() { stop(std::chrono::milliseconds(0)); }

void Broker::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([this] {
    set_thread_name("queue");
    impl_->run();
  });
}

void Broker::stop(std::chrono::milliseconds grace) {
  if (!impl_->thread.joinable()) return;
  impl_->draining = true;
  impl_->wake();
  const auto end = std::chrono::steady_clock::now() + grace;
  while (in_flight() > 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->stopping = true;
  impl_->wake();
  impl_->thread.join();
}

void Broker::publish(std::string reply_to, std::string correlation_id, std::string body, Published done) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->publishes.push_back(Impl::Publish{std::move(reply_to), std::move(correlation_id), std::move(body),
                                             std::move(done)});
  }
  impl_->wake();
}

}  // namespace tollgate::queue
