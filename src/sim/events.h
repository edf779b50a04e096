#pragma once
// The events a simulated vendor sends back after it accepted a request: SMS
// delivery receipts (json, twilio, aliyun, tencent) and refund notifications
// (wxpay), each in its vendor's shape and signed as that vendor signs
// (docs/sim.md, "Events"). Configured per dialect through POST /_sim/events or
// --events:
//
//   {"twilio": {"url": "http://127.0.0.1:8082/events/twilio/status",
//               "delay_ms": 200, "undelivered": 0.5, "duplicates": 0.1,
//               "reorder": false, "intermediate": false}}
//
//   delay_ms      after the request arrived (not after the answer: with latency
//                 above it, the receipt overtakes the answer);
//   undelivered   share of messages reported failed;
//   duplicates    share of events sent twice;
//   intermediate  also send a non-final status ("sent") first;
//   reorder       with intermediate, send the final status before it.
// An event the receiver does not acknowledge with 2xx is sent again, up to 5
// times with doubling pauses from 200 ms, as vendors do.
//
// Sending runs on the sender's own thread and client; schedule() may be called
// from any worker.

#include <boost/json/fwd.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/http_message.h"
#include "core/result.h"
#include "sim/dialects.h"

namespace tollgate::sim {

struct EventTarget {
  std::string url;
  int delay_ms = 100;
  double undelivered = 0;
  double duplicates = 0;
  bool reorder = false;
  bool intermediate = false;
};

// What a vendor's answer accepted, that it will report on.
struct Receipt {
  std::string dialect;
  std::string message_id;  // sid / BizId / SerialNo / biz_id / out_refund_no
  std::string to;          // the number, where the dialect has one
  std::string order;       // wxpay: out_trade_no
};

// The receipts a successful answer of `dialect` promises (several for a
// Tencent send to several numbers); none for anything else.
std::vector<Receipt> receipts_of(std::string_view dialect, const HttpRequest& req, const HttpResponse& resp);

// Signing material the vendors' events need (beyond Credentials).
struct EventKeys {
  std::string pay_api_v3_key;     // wxpay: AEAD_AES_256_GCM key of notifications (32 bytes)
  std::string pay_platform_serial = "SIM-PLATFORM-SERIAL";
};

class EventSender {
 public:
  EventSender(const Credentials& creds, EventKeys keys);
  ~EventSender();

  // Replaces the targets from their JSON form; nothing changes on error.
  Result<void> set(const boost::json::value& spec);
  std::string to_json() const;
  bool wants(std::string_view dialect) const;
  // Schedules the events of `r` (when its dialect has a target).
  void schedule(Receipt r);
  // {"scheduled", "sent", "acknowledged", "refused", "failed", "by_status": {...}}
  std::string stats_json() const;
  void reset();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::sim
