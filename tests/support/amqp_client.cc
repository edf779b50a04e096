#include "tests/support/amqp_client.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <thread>
#include <vector>

namespace tollgate::testing {

namespace {

amqp_bytes_t bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string text(amqp_bytes_t b) { return b.len ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string(); }

// Channel 1 declares, gets and consumes; publishes go on kPublish, in confirm
// mode; each count() probe gets a channel of its own after those.
constexpr amqp_channel_t kPublish = 2;
constexpr amqp_channel_t kFirstProbe = 3;

}  // namespace

AmqpClient::AmqpClient(int port) {
  conn_ = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
  timeval tv{5, 0};
  if (!socket || amqp_socket_open_noblock(socket, "127.0.0.1", port, &tv) != AMQP_STATUS_OK ||
      amqp_login(conn_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL) {
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
    return;
  }
  bool opened = true;
  for (amqp_channel_t ch : {amqp_channel_t{1}, kPublish}) {
    amqp_channel_open(conn_, ch);
    opened = opened && amqp_get_rpc_reply(conn_).reply_type == AMQP_RESPONSE_NORMAL;
  }
  if (opened) {
    amqp_confirm_select(conn_, kPublish);
    opened = amqp_get_rpc_reply(conn_).reply_type == AMQP_RESPONSE_NORMAL;
  }
  if (!opened) {
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }
}

bool AmqpClient::read_confirms(bool block, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!unconfirmed_.empty() || !nacked_.empty()) {
    if (!nacked_.empty()) {
      if (!block) return true;  // resent by the next blocking wait
      // A nacked message was not taken (a quorum queue declared moments ago
      // nacks until its leader is ready): send it again, as a publisher must.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::deque<Outgoing> again;
      again.swap(nacked_);
      for (auto& m : again) {
        if (++m.attempts > 100) {
          error_ = "the broker nacked a publish 100 times";
          return false;
        }
        if (!send(std::move(m))) return false;
      }
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(end - std::chrono::steady_clock::now());
    if (block && left.count() <= 0) {
      error_ = std::to_string(unconfirmed_.size()) + " publishes unconfirmed";
      return false;
    }
    timeval tv{0, 0};
    if (block) tv = timeval{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
    amqp_frame_t frame;
    const int s = amqp_simple_wait_frame_noblock(conn_, &frame, &tv);
    if (s == AMQP_STATUS_TIMEOUT) {
      if (!block) return true;
      continue;
    }
    if (s != AMQP_STATUS_OK) {
      error_ = std::string("reading confirms: ") + amqp_error_string2(s);
      return false;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD || frame.channel != kPublish) continue;
    const auto id = frame.payload.method.id;
    if (id == AMQP_BASIC_ACK_METHOD || id == AMQP_BASIC_NACK_METHOD) {
      const bool ack = id == AMQP_BASIC_ACK_METHOD;
      const auto* a = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      const auto* n = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
      const std::uint64_t tag = ack ? a->delivery_tag : n->delivery_tag;
      const bool multiple = ack ? a->multiple : n->multiple;
      auto first = multiple ? unconfirmed_.begin() : unconfirmed_.find(tag);
      auto last = multiple ? unconfirmed_.upper_bound(tag) : (first == unconfirmed_.end() ? first : std::next(first));
      if (!ack) {
        for (auto it = first; it != last; ++it) nacked_.push_back(std::move(it->second));
      }
      unconfirmed_.erase(first, last);
    } else if (id == AMQP_CHANNEL_CLOSE_METHOD) {
      const auto* close = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
      error_ = "the broker closed the publish channel: " + text(close->reply_text);
      return false;
    }
  }
  return true;
}

bool AmqpClient::confirmed(std::chrono::milliseconds timeout) {
  if (!conn_) return false;
  return read_confirms(true, timeout);
}

AmqpClient::~AmqpClient() {
  if (!conn_) return;
  amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn_);
}

bool AmqpClient::declare(const std::string& queue) {
  if (!conn_ || !confirmed()) return false;
  amqp_queue_declare(conn_, 1, bytes(queue), 0, 1, 0, 0, amqp_empty_table);
  return amqp_get_rpc_reply(conn_).reply_type == AMQP_RESPONSE_NORMAL;
}

bool AmqpClient::publish(const std::string& queue, const std::string& body, const std::string& message_id,
                         const std::string& reply_to, const std::string& correlation_id,
                         const std::map<std::string, std::string>& headers) {
  if (!conn_) return false;
  if (!send(Outgoing{queue, body, message_id, reply_to, correlation_id, headers, 0})) return false;
  // Take in the confirms that have arrived, so they never pile up unread.
  read_confirms(false, std::chrono::milliseconds(0));
  return true;
}

bool AmqpClient::send(Outgoing m) {
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  p.content_type = amqp_cstring_bytes("application/json");
  p.delivery_mode = 2;
  if (!m.message_id.empty()) {
    p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    p.message_id = bytes(m.message_id);
  }
  if (!m.reply_to.empty()) {
    p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
    p.reply_to = bytes(m.reply_to);
  }
  if (!m.correlation_id.empty()) {
    p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
    p.correlation_id = bytes(m.correlation_id);
  }
  std::vector<amqp_table_entry_t> entries;
  for (const auto& [k, v] : m.headers) {
    amqp_table_entry_t e;
    e.key = bytes(k);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = bytes(v);
    entries.push_back(e);
  }
  if (!entries.empty()) {
    p._flags |= AMQP_BASIC_HEADERS_FLAG;
    p.headers = amqp_table_t{static_cast<int>(entries.size()), entries.data()};
  }
  const int s = amqp_basic_publish(conn_, kPublish, amqp_empty_bytes, bytes(m.queue), 0, 0, &p, bytes(m.body));
  if (s != AMQP_STATUS_OK) {
    error_ = std::string("publish: ") + amqp_error_string2(s);
    return false;
  }
  unconfirmed_.emplace(++published_, std::move(m));
  return true;
}

std::optional<AmqpMessage> AmqpClient::get(const std::string& queue) {
  if (!conn_ || !confirmed()) return std::nullopt;
  amqp_maybe_release_buffers(conn_);
  const amqp_rpc_reply_t r = amqp_basic_get(conn_, 1, bytes(queue), /*no_ack=*/1);
  if (r.reply_type != AMQP_RESPONSE_NORMAL || r.reply.id != AMQP_BASIC_GET_OK_METHOD) return std::nullopt;
  amqp_message_t m;
  if (amqp_read_message(conn_, 1, &m, 0).reply_type != AMQP_RESPONSE_NORMAL) return std::nullopt;
  AmqpMessage out;
  out.body = text(m.body);
  if (m.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) out.correlation_id = text(m.properties.correlation_id);
  if (m.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) out.message_id = text(m.properties.message_id);
  amqp_destroy_message(&m);
  return out;
}

long AmqpClient::consume(const std::string& queue, long n, std::chrono::milliseconds timeout,
                         const std::function<void(const AmqpMessage&)>& each) {
  if (!conn_ || !confirmed()) return 0;
  amqp_basic_qos(conn_, 1, 0, 500, 0);
  auto* ok = amqp_basic_consume(conn_, 1, bytes(queue), amqp_empty_bytes, 0, 1, 0, amqp_empty_table);  // no-ack
  if (amqp_get_rpc_reply(conn_).reply_type != AMQP_RESPONSE_NORMAL || !ok) return 0;
  const std::string tag = text(ok->consumer_tag);
  const auto end = std::chrono::steady_clock::now() + timeout;
  long got = 0;
  while (got < n && std::chrono::steady_clock::now() < end) {
    amqp_maybe_release_buffers(conn_);
    amqp_envelope_t env;
    timeval tv{0, 100000};
    const amqp_rpc_reply_t r = amqp_consume_message(conn_, &env, &tv, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) continue;
      break;
    }
    ++got;
    if (each) {
      AmqpMessage m;
      m.body = text(env.message.body);
      if (env.message.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
        m.correlation_id = text(env.message.properties.correlation_id);
      }
      each(m);
    }
    amqp_destroy_envelope(&env);
  }
  // Deliveries already sent before the cancel are dropped with this channel's prefetch (no-ack mode).
  amqp_basic_cancel(conn_, 1, bytes(tag));
  return got;
}

long AmqpClient::count(const std::string& queue) {
  if (!conn_ || !confirmed()) return -1;
  // A passive declare of a missing queue closes its channel: each probe gets a
  // channel of its own, so channels 1 and kPublish are never affected.
  const auto ch = static_cast<amqp_channel_t>(kFirstProbe + probes_++ % 60000);
  amqp_channel_open(conn_, ch);
  if (amqp_get_rpc_reply(conn_).reply_type != AMQP_RESPONSE_NORMAL) return -1;
  auto* ok = amqp_queue_declare(conn_, ch, bytes(queue), /*passive=*/1, 0, 0, 0, amqp_empty_table);
  const amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL && ok) {
    const long n = static_cast<long>(ok->message_count);
    amqp_channel_close(conn_, ch, AMQP_REPLY_SUCCESS);
    return n;
  }
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    amqp_channel_close_ok_t close_ok{};
    amqp_send_method(conn_, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
  }
  return -1;
}

}  // namespace tollgate::testing
