#include "sim/events.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/json.hpp>

#include <condition_variable>
#include <set>
#include <thread>

#include "core/encoding.h"
#include "core/process.h"
#include "core/random.h"
#include "core/time_format.h"
#include "core/url.h"
#include "core/vendor_signatures.h"
#include "http/client.h"
#include "http/endpoint.h"

namespace tollgate::sim {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr int kMaxTries = 5;

std::optional<json::object> object_of(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string china_time(WallTime t) {
  // "2026-11-30 10:00:01" in UTC+8, as the Chinese vendors write it.
  std::string iso = format_iso8601(t + std::chrono::hours(8));
  iso[10] = ' ';
  return iso.substr(0, 19);
}

}  // namespace

std::vector<Receipt> receipts_of(std::string_view dialect, const HttpRequest& req, const HttpResponse& resp) {
  std::vector<Receipt> out;
  if (resp.status < 200 || resp.status >= 300) return out;
  auto body = object_of(resp.body);
  if (!body) return out;
  const std::string d(dialect);
  if (dialect == "json") {
    const auto* code = body->if_contains("code");
    const auto* data = body->if_contains("data");
    if (!code || !code->is_int64() || code->as_int64() != 0 || !data || !data->is_object()) return out;
    auto rq = object_of(req.body);
    out.push_back({d, text(data->get_object(), "biz_id"), rq ? text(*rq, "mobile") : "", ""});
  } else if (dialect == "twilio") {
    out.push_back({d, text(*body, "sid"), text(*body, "to"), ""});
  } else if (dialect == "aliyun") {
    if (text(*body, "Code") != "OK") return out;
    out.push_back({d, text(*body, "BizId"), "", ""});
  } else if (dialect == "tencent") {
    const auto* r = body->if_contains("Response");
    const auto* set = r && r->is_object() ? r->get_object().if_contains("SendStatusSet") : nullptr;
    if (!set || !set->is_array()) return out;
    for (const auto& s : set->get_array()) {
      if (!s.is_object() || text(s.get_object(), "Code") != "Ok") continue;
      out.push_back({d, text(s.get_object(), "SerialNo"), text(s.get_object(), "PhoneNumber"), ""});
    }
  } else if (dialect == "wxpay") {
    if (!req.path.ends_with("/v3/refund/domestic/refunds") || text(*body, "out_refund_no").empty()) return out;
    out.push_back({d, text(*body, "out_refund_no"), "", text(*body, "out_trade_no")});
  }
  std::erase_if(out, [](const Receipt& r) { return r.message_id.empty(); });
  return out;
}

struct EventSender::Impl {
  Impl(const Credentials& c, EventKeys k) : creds(c), keys(std::move(k)), guard(ctx.get_executor()), client(ctx) {
    thread = std::thread([this] {
      set_thread_name("sim-events");
      ctx.run();
    });
  }
  // Ends every delivery (their waits cancelled), then the thread: nothing of a
  // delivery outlives the client it uses.
  void shutdown() {
    asio::post(ctx, [this] {
      stopping = true;
      for (auto* t : waiting) t->cancel();
      for (auto* c : sending) c->cancel();
    });
    {
      std::unique_lock lock(mu);
      idle.wait_for(lock, std::chrono::seconds(10), [&] { return in_flight == 0; });
    }
    guard.reset();
    ctx.stop();
    if (thread.joinable()) thread.join();
  }

  const Credentials& creds;
  const EventKeys keys;
  asio::io_context ctx;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  http::Client client;
  std::thread thread;

  mutable std::mutex mu;
  std::map<std::string, EventTarget, std::less<>> targets;
  std::uint64_t scheduled = 0, sent = 0, acknowledged = 0, refused = 0, failed = 0;
  std::map<std::string, std::uint64_t> by_status;
  std::map<std::string, std::shared_ptr<const TransportEndpoint>> endpoints;  // sender thread only
  bool stopping = false;                                                      // sender thread only
  std::set<asio::steady_timer*> waiting;                                      // sender thread only
  std::set<CancelToken*> sending;                                             // sender thread only
  int in_flight = 0;                                                          // under mu
  std::condition_variable idle;

  // One event as it goes on the wire.
  struct Outgoing {
    std::string url;
    std::string status;  // for stats
    HttpRequest req;
  };

  // The vendor's event for `r` reporting `delivered` (or an intermediate status).
  std::optional<Outgoing> build(const Receipt& r, const EventTarget& t, const std::string& phase) {
    auto url = parse_http_url(t.url, UrlRules{.what = "event URL"});
    if (!url) return std::nullopt;
    Outgoing o;
    o.url = t.url;
    o.req.method = "POST";
    o.req.path = url->path;
    o.req.query = url->query;
    const WallTime now = SystemClock::instance().wall();
    const bool ok = phase == "delivered";
    const bool mid = phase == "sent";
    if (r.dialect == "twilio") {
      NameValues params = {{"AccountSid", creds.key_id},
                           {"MessageSid", r.message_id},
                           {"MessageStatus", mid ? "sent" : ok ? "delivered" : "undelivered"},
                           {"To", r.to}};
      if (!ok && !mid) params.emplace_back("ErrorCode", "30003");
      o.status = params[2].second;
      o.req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"X-Twilio-Signature", twilio_signature(creds.secret, t.url, params)}};
      o.req.body = encode_name_values(params);
    } else if (r.dialect == "aliyun") {
      o.status = ok ? "DELIVERED" : "MK:0001";
      o.req.headers = {{"Content-Type", "application/json"}};
      o.req.body = json::serialize(json::array{json::object{{"phone_number", r.to},
                                                             {"send_time", china_time(now)},
                                                             {"report_time", china_time(now)},
                                                             {"success", ok},
                                                             {"err_code", o.status},
                                                             {"err_msg", ok ? "用户接收成功" : "用户关机"},
                                                             {"sms_size", "1"},
                                                             {"biz_id", r.message_id}}});
    } else if (r.dialect == "tencent") {
      o.status = ok ? "SUCCESS" : "FAIL";
      o.req.headers = {{"Content-Type", "application/json"}};
      std::string mobile = r.to.starts_with("+86") ? r.to.substr(3) : r.to;
      o.req.body = json::serialize(json::array{json::object{{"user_receive_time", china_time(now)},
                                                             {"nationcode", "86"},
                                                             {"mobile", mobile},
                                                             {"report_status", o.status},
                                                             {"errmsg", ok ? "DELIVRD" : "MK:0001"},
                                                             {"description", ok ? "用户短信送达成功" : "用户关机"},
                                                             {"sid", r.message_id}}});
    } else if (r.dialect == "json") {
      o.status = mid ? "SENT" : ok ? "DELIVERED" : "UNDELIVERED";
      o.req.headers = {{"Content-Type", "application/json"}};
      json::object ev{{"biz_id", r.message_id}, {"status", o.status}, {"at", format_iso8601_ms(now)}};
      if (!ok && !mid) ev["error_code"] = "E_UNREACHABLE";
      o.req.body = json::serialize(ev);
    } else if (r.dialect == "wxpay") {
      if (keys.pay_api_v3_key.size() != 32 || !creds.pay_platform_private.valid()) return std::nullopt;
      o.status = ok ? "SUCCESS" : "ABNORMAL";
      const std::string resource = json::serialize(json::object{{"mchid", creds.key_id},
                                                                 {"out_trade_no", r.order},
                                                                 {"out_refund_no", r.message_id},
                                                                 {"refund_status", o.status},
                                                                 {"success_time", format_iso8601(now)}});
      const std::string nonce = new_nonce().substr(0, 12);
      const std::string body = json::serialize(json::object{
          {"id", new_id("EV-")},
          {"create_time", format_iso8601(now)},
          {"resource_type", "encrypt-resource"},
          {"event_type", ok ? "REFUND.SUCCESS" : "REFUND.ABNORMAL"},
          {"summary", ok ? "退款成功" : "退款异常"},
          {"resource", json::object{{"original_type", "refund"},
                                    {"algorithm", "AEAD_AES_256_GCM"},
                                    {"ciphertext", base64_encode(aes256_gcm_encrypt(keys.pay_api_v3_key, nonce,
                                                                                     "refund", resource))},
                                    {"associated_data", "refund"},
                                    {"nonce", nonce}}}});
      const std::string ts = std::to_string(unix_seconds(now));
      const std::string sig_nonce = new_nonce();
      o.req.headers = {
          {"Content-Type", "application/json"},
          {"Wechatpay-Timestamp", ts},
          {"Wechatpay-Nonce", sig_nonce},
          {"Wechatpay-Serial", keys.pay_platform_serial},
          {"Wechatpay-Signature",
           base64_encode(creds.pay_platform_private.sign_sha256(ts + "\n" + sig_nonce + "\n" + body + "\n"))}};
      o.req.body = body;
    } else {
      return std::nullopt;
    }
    return o;
  }

  asio::awaitable<void> deliver(Receipt r, EventTarget t, std::vector<std::string> phases) {
    co_await run_phases(std::move(r), std::move(t), std::move(phases));
    std::lock_guard lock(mu);
    if (--in_flight == 0) idle.notify_all();
  }

  // Waits `d` unless stopping; false when it should end.
  asio::awaitable<bool> pause(std::chrono::milliseconds d) {
    if (stopping) co_return false;
    asio::steady_timer timer(ctx);
    timer.expires_after(d);
    waiting.insert(&timer);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    waiting.erase(&timer);
    co_return !stopping;
  }

  asio::awaitable<void> run_phases(Receipt r, EventTarget t, std::vector<std::string> phases) {
    if (!co_await pause(std::chrono::milliseconds(t.delay_ms))) co_return;
    for (const auto& phase : phases) {
      auto o = build(r, t, phase);
      if (!o) {
        std::lock_guard lock(mu);
        ++failed;
        co_return;
      }
      bool acked = false;
      for (int attempt = 0; attempt < kMaxTries && !acked; ++attempt) {
        if (attempt > 0 && !co_await pause(std::chrono::milliseconds(200 << (attempt - 1)))) co_return;
        auto ep = endpoint(o->url);
        if (!ep || stopping) break;
        CancelToken cancel;
        sending.insert(&cancel);
        auto resp = co_await client.send(ep, o->req, std::chrono::steady_clock::now() + std::chrono::seconds(5), &cancel);
        sending.erase(&cancel);
        std::lock_guard lock(mu);
        ++sent;
        if (resp && resp->status >= 200 && resp->status < 300) {
          acked = true;
          ++acknowledged;
          ++by_status[o->status];
        } else {
          ++refused;
        }
      }
      if (!acked) {
        std::lock_guard lock(mu);
        ++failed;
      }
    }
  }

  std::shared_ptr<const TransportEndpoint> endpoint(const std::string& url) {
    auto& slot = endpoints[url];
    if (slot) return slot;
    auto u = parse_http_url(url, UrlRules{.what = "event URL"});
    if (!u) return nullptr;
    EndpointOptions o;
    o.scheme = u->scheme;
    o.host = u->host;
    o.port = u->port;
    o.max_connections = 16;
    o.pool_tag = "sim-events";
    auto made = http::make_endpoint(o);
    if (!made) return nullptr;
    slot = *made;
    return slot;
  }
};

EventSender::EventSender(const Credentials& creds, EventKeys keys)
    : impl_(std::make_shared<Impl>(creds, std::move(keys))) {}

EventSender::~EventSender() { impl_->shutdown(); }

Result<void> EventSender::set(const json::value& spec) {
  if (!spec.is_object()) return Error::make(ErrorClass::kBadRequest, "events must be an object of dialect -> target");
  std::map<std::string, EventTarget, std::less<>> next;
  for (const auto& [name, v] : spec.get_object()) {
    static const std::vector<std::string> kDialects = {"json", "twilio", "aliyun", "tencent", "wxpay"};
    if (std::find(kDialects.begin(), kDialects.end(), std::string(name)) == kDialects.end()) {
      return Error::make(ErrorClass::kBadRequest, "no events for dialect '" + std::string(name) +
                                                      "' (json, twilio, aliyun, tencent, wxpay)");
    }
    if (!v.is_object()) return Error::make(ErrorClass::kBadRequest, std::string(name) + ": must be an object");
    const auto& o = v.get_object();
    EventTarget t;
    t.url = text(o, "url");
    if (!parse_http_url(t.url, UrlRules{.what = "event URL"})) {
      return Error::make(ErrorClass::kBadRequest, std::string(name) + ".url must be an http(s) URL");
    }
    auto number = [&](const char* key, double& out, double lo, double hi) -> bool {
      const auto* x = o.if_contains(key);
      if (!x) return true;
      if (!x->is_number()) return false;
      out = x->to_number<double>();
      return out >= lo && out <= hi;
    };
    double delay = t.delay_ms;
    if (!number("delay_ms", delay, 0, 3'600'000) || !number("undelivered", t.undelivered, 0, 1) ||
        !number("duplicates", t.duplicates, 0, 1)) {
      return Error::make(ErrorClass::kBadRequest,
                         std::string(name) + ": delay_ms (ms), undelivered and duplicates (0..1) must be numbers");
    }
    t.delay_ms = static_cast<int>(delay);
    if (const auto* x = o.if_contains("reorder"); x && x->is_bool()) t.reorder = x->get_bool();
    if (const auto* x = o.if_contains("intermediate"); x && x->is_bool()) t.intermediate = x->get_bool();
    next[std::string(name)] = t;
  }
  std::lock_guard lock(impl_->mu);
  impl_->targets = std::move(next);
  return ok();
}

std::string EventSender::to_json() const {
  std::lock_guard lock(impl_->mu);
  json::object out;
  for (const auto& [name, t] : impl_->targets) {
    out[name] = json::object{{"url", t.url},
                             {"delay_ms", t.delay_ms},
                             {"undelivered", t.undelivered},
                             {"duplicates", t.duplicates},
                             {"reorder", t.reorder},
                             {"intermediate", t.intermediate}};
  }
  return json::serialize(out);
}

bool EventSender::wants(std::string_view dialect) const {
  std::lock_guard lock(impl_->mu);
  return impl_->targets.find(dialect) != impl_->targets.end();
}

void EventSender::schedule(Receipt r) {
  EventTarget t;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->targets.find(r.dialect);
    if (it == impl_->targets.end()) return;
    t = it->second;
    ++impl_->scheduled;
    ++impl_->in_flight;
  }
  const bool delivered = random_unit() >= t.undelivered;
  std::vector<std::string> phases;
  const std::string final_phase = delivered ? "delivered" : "undelivered";
  const bool has_mid = t.intermediate && (r.dialect == "twilio" || r.dialect == "json");
  if (has_mid && !t.reorder) phases.push_back("sent");
  phases.push_back(final_phase);
  if (has_mid && t.reorder) phases.push_back("sent");
  if (random_unit() < t.duplicates) phases.push_back(final_phase);
  asio::co_spawn(impl_->ctx, impl_->deliver(std::move(r), std::move(t), std::move(phases)), asio::detached);
}

std::string EventSender::stats_json() const {
  std::lock_guard lock(impl_->mu);
  json::object by;
  for (const auto& [k, v] : impl_->by_status) by[k] = v;
  return json::serialize(json::object{{"scheduled", impl_->scheduled},
                                      {"sent", impl_->sent},
                                      {"acknowledged", impl_->acknowledged},
                                      {"refused", impl_->refused},
                                      {"failed", impl_->failed},
                                      {"by_status", std::move(by)}});
}

void EventSender::reset() {
  std::lock_guard lock(impl_->mu);
  impl_->targets.clear();
  impl_->scheduled = impl_->sent = impl_->acknowledged = impl_->refused = impl_->failed = 0;
  impl_->by_status.clear();
}

}  // namespace tollgate::sim
