#include "tests/support/amqp_client.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <vector>

namespace tollgate::testing {

namespace {

amqp_bytes_t bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string text(amqp_bytes_t b) { return b.len ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string(); }

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
  amqp_channel_open(conn_, 1);
  if (amqp_get_rpc_reply(conn_).reply_type != AMQP_RESPONSE_NORMAL) {
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }
}

AmqpClient::~AmqpClient() {
  if (!conn_) return;
  amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn_);
}

bool AmqpClient::declare(const std::string& queue) {
  if (!conn_) return false;
  amqp_queue_declare(conn_, 1, bytes(queue), 0, 1, 0, 0, amqp_empty_table);
  return amqp_get_rpc_reply(conn_).reply_type == AMQP_RESPONSE_NORMAL;
}

bool AmqpClient::publish(const std::string& queue, const std::string& body, const std::string& message_id,
                         const std::string& reply_to, const std::string& correlation_id,
                         const std::map<std::string, std::string>& headers) {
  if (!conn_) return false;
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  p.content_type = amqp_cstring_bytes("application/json");
  p.delivery_mode = 2;
  if (!message_id.empty()) {
    p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    p.message_id = bytes(message_id);
  }
  if (!reply_to.empty()) {
    p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
    p.reply_to = bytes(reply_to);
  }
  if (!correlation_id.empty()) {
    p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
    p.correlation_id = bytes(correlation_id);
  }
  std::vector<amqp_table_entry_t> entries;
  for (const auto& [k, v] : headers) {
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
  return amqp_basic_publish(conn_, 1, amqp_empty_bytes, bytes(queue), 0, 0, &p, bytes(body)) == AMQP_STATUS_OK;
}

std::optional<AmqpMessage> AmqpClient::get(const std::string& queue) {
  if (!conn_) return std::nullopt;
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
  if (!conn_) return 0;
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
  if (!conn_) return -1;
  // A passive declare of a missing queue closes its channel: each probe gets a
  // channel of its own, so channel 1 (publish, get, consume) is never affected.
  const auto ch = static_cast<amqp_channel_t>(2 + probes_++ % 60000);
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
