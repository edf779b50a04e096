// POST /v1/{capability}/{operation}:batch — many queued calls in one request, each
// validated on its own: {"items": [{"params": {...}, "idempotency_key": "...",
// "not_before": "...", "callback_url": "..."}, ...]}.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/crypto.h"
#include "core/random.h"
#include "core/time_format.h"
#include "api/api.h"
#include "engine/metrics.h"
#include "engine/validator.h"
#include "api/replies.h"

namespace tollgate::api {

using namespace tollgate::engine;

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Error invalid(std::string message) { return Error::make(ErrorClass::kInvalidRequest, std::move(message)); }

const json::string* string_field(const json::object& o, std::string_view key, bool& bad) {
  const auto* v = o.if_contains(key);
  if (!v) return nullptr;
  if (!v->is_string()) {
    bad = true;
    return nullptr;
  }
  return &v->get_string();
}

}  // namespace

asio::awaitable<http::ServerResponse> ApiHandler::batch(HttpRequest& req, std::string_view capability) {
  auto admitted = admit_caller(req, capability);
  if (!admitted) co_return error_reply(admitted.error(), {});
  const Admitted& a = *admitted;
  const auto& cfg = a.rt->config();
  if (auto limited = co_await caller_limit_shared(a); !limited) co_return error_reply(limited.error(), {});
  if (!a.cap->config->async.allow) {
    co_return error_reply(invalid(a.cap->config->name + " does not accept asynchronous calls"), {});
  }
  if (const std::string_view th = req.header(cfg.test_traffic.header); (!th.empty() && th != "live") ||
                                                                        a.caller->config->traffic.front() != Traffic::kLive) {
    co_return error_reply(invalid("debug and stress calls are answered synchronously; a batch is queued"), {});
  }
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) co_return error_reply(Error::make(ErrorClass::kBadRequest, "request body is not valid JSON"), {});
  const json::array* items = nullptr;
  if (body.is_object()) {
    if (const auto* it = body.get_object().if_contains("items"); it && it->is_array()) items = &it->get_array();
  }
  if (!items) co_return error_reply(Error::make(ErrorClass::kBadRequest, "body must be {\"items\": [...]}"), {});
  if (items->empty() || static_cast<int>(items->size()) > cfg.jobs.max_batch) {
    co_return error_reply(invalid("a batch holds 1 to " + std::to_string(cfg.jobs.max_batch) + " items"), {});
  }

  // Validate every item on its own; the valid ones are inserted together.
  std::vector<json::object> results(items->size());
  std::vector<store::CallRecord> records;
  std::vector<size_t> record_item;
  const WallTime now = clock_.wall();
  const TraceContext trace = start_trace(parse_traceparent(req.header("traceparent")));
  for (size_t i = 0; i < items->size(); ++i) {
    results[i]["index"] = i;
    auto fail = [&](const Error& e) { results[i]["error"] = error_json(e); };
    const json::value& item = (*items)[i];
    if (!item.is_object() || !item.get_object().contains("params") || !item.at("params").is_object()) {
      fail(invalid("item must be an object with a \"params\" object"));
      continue;
    }
    const auto& o = item.get_object();
    Call call;
    call.received_at = now;
    call.id = new_call_id(static_cast<std::uint64_t>(unix_millis(now)));
    call.capability = std::string(capability);
    call.trace = trace;  // every item's record carries the batch's trace
    call.params = o.at("params").get_object();
    if (auto valid = validate_params(*a.cap->config, call.params); !valid) {
      fail(valid.error());
      continue;
    }
    CallOptions opt;
    opt.prefer_async = true;
    bool bad = false;
    const auto* key = string_field(o, "idempotency_key", bad);
    const auto* nb = string_field(o, "not_before", bad);
    const auto* cb = string_field(o, "callback_url", bad);
    if (bad) {
      fail(invalid("idempotency_key, not_before and callback_url must be strings"));
      continue;
    }
    if (key) {
      opt.idempotency_key = std::string(*key);
      if (auto valid = check_idempotency_key(opt.idempotency_key, ErrorClass::kInvalidRequest); !valid) {
        fail(valid.error());
        continue;
      }
    }
    if (nb) {
      opt.not_before = parse_rfc3339(std::string_view(*nb));
      if (!opt.not_before) {
        fail(invalid("not_before must be an RFC 3339 time such as 2026-11-27T09:00:00Z"));
        continue;
      }
    }
    if (cb) {
      opt.callback_url = std::string(*cb);
      if (auto valid = check_callback(opt.callback_url, *a.caller->config); !valid) {
        fail(valid.error());
        continue;
      }
    }
    store::CallRecord rec = new_record(a, call, opt, json::serialize(item), true);
    rec.state = store::CallState::kQueued;
    rec.async = true;
    records.push_back(std::move(rec));
    record_item.push_back(i);
  }

  int accepted = 0;
  if (!records.empty()) {
    auto ins = co_await store_.insert_many(records);
    if (!ins) {
      Error e = Error::make(ErrorClass::kUnavailable, "the batch could not be recorded durably; nothing was sent");
      co_return error_reply(e, {});
    }
    for (size_t r = 0; r < records.size(); ++r) {
      auto& out = results[record_item[r]];
      const auto& result = (*ins)[r];
      const store::CallRecord& rec = result.inserted ? records[r] : *result.existing;
      if (!result.inserted) {
        if (auto same = same_request(*result.existing, records[r]); !same) {
          out["error"] = error_json(same.error());
          continue;
        }
      }
      out["id"] = rec.id;
      out["status"] = store::to_string(rec.state);
      if (!result.inserted) out["replayed"] = true;
      ++accepted;
      if (metrics_ && result.inserted) {
        const auto [cap_label, op_label] = split_capability(capability);
        metrics_->accepted.with({cap_label, op_label, "batch"}).inc();
      }
    }
  }
  json::array list;
  for (auto& r : results) list.push_back(std::move(r));
  const int rejected = static_cast<int>(items->size()) - accepted;
  co_return json_reply(accepted > 0 ? 202 : 422,
                       {{"accepted", accepted}, {"rejected", rejected}, {"items", std::move(list)}});
}

}  // namespace tollgate::api
