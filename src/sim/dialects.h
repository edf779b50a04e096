#pragma once
// The provider dialects tollgate-sim speaks. Each checks authentication the way
// its real-world counterpart does and answers in its own shape:
//   json: JSON body, bearer token, HTTP 200 with an error code in the body;
//   form: form-encoded body, HMAC-SHA256 signature headers, HTTP status errors;
//   aliyun, tencent, twilio, aws_sns: the vendors' SMS APIs (vendors.cc), each
//   verifying the vendor's signature scheme and answering in its documented shape.
// See docs/sim.md. Dialects are stateless apart from SimState (thread-safe).

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/json/object.hpp>

#include "core/crypto.h"
#include "core/http_message.h"
#include "sim/behavior.h"

namespace tollgate::sim {

struct Credentials {
  std::string token = "sim-token";    // json and idv dialects' bearer token
  std::string key_id = "sim-key";     // form dialect key id; the vendors' access key id / account SID / appid / mchid
  std::string secret = "sim-secret";  // form dialect HMAC secret; the vendors' secret / auth token
  RsaKey pay_merchant_public;         // wxpay: verifies the merchant's request signatures
  RsaKey pay_platform_private;        // wxpay: signs the channel's answers
};

// Counters and memory shared by all workers.
class SimState {
 public:
  // Distinct dedupe refs (and nonces) remembered: the tables are sized for this
  // many at the start, so they never rehash during a run (a rehash of a table of
  // hundreds of thousands stalls every worker for tens of milliseconds, which a
  // benchmark would blame on the gateway in front). Past it, new refs are
  // counted in `requests` but neither counted per ref nor deduplicated.
  static constexpr std::size_t kRemembered = 1 << 20;
  SimState();

  // A provider request arrived (counted at once, before any latency or fault).
  void received(const std::string& dialect, const std::string& ref);
  // Keeps the last provider request (method, path, headers) for GET /_sim/last.
  void remember_last(const HttpRequest& req);
  std::string last_json() const;
  // What the sim did with it.
  void outcome(const std::string& outcome);
  // A health check (GET <anything>/health) arrived: counted apart from requests.
  void health_check();
  // Records a nonce; false when it was seen before (replay).
  bool fresh_nonce(const std::string& nonce);
  // Provider-side dedupe: the answer first given for `ref`, if any.
  std::string remembered(const std::string& ref);
  void remember(const std::string& ref, const std::string& id);
  // Notes a connection that carried a provider request (control calls do not count).
  void connection(std::uint64_t id);
  std::string stats_json() const;
  // Every dedupe ref it delivered (sent a message for), as a JSON array.
  std::string delivered_json() const;
  std::uint32_t ref_count(const std::string& ref) const;
  // A small store for dialects with server-side state (used login codes, orders,
  // refunds): `fn` runs under the state's lock. Cleared by reset().
  template <typename Fn>
  auto with_store(Fn&& fn) {
    std::lock_guard lock(mu_);
    return fn(store_);
  }
  void reset();

 private:
  mutable std::mutex mu_;
  std::uint64_t requests_ = 0;
  std::uint64_t health_checks_ = 0;
  std::vector<std::int64_t> arrivals_ms_;  // steady ms of each provider request (capped)
  std::unordered_map<std::string, std::uint64_t> by_dialect_;
  std::unordered_map<std::string, std::uint64_t> outcomes_;
  std::unordered_map<std::string, std::uint32_t> refs_;
  std::unordered_map<std::string, std::string> answers_;
  std::unordered_set<std::string> nonces_;
  std::unordered_set<std::uint64_t> connections_;
  std::unordered_map<std::string, std::string> store_;
  HttpRequest last_;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string_view name() const = 0;
  virtual bool matches(const HttpRequest& req) const = 0;
  // The caller's dedupe reference in the request, if any.
  virtual std::string ref(const HttpRequest& req) const = 0;
  // A normal answer: authentication, validation, success. Sets `outcome`.
  virtual HttpResponse answer(const HttpRequest& req, SimState& state, std::string& outcome) const = 0;
  // The dialect's own answer for an injected fault of kind kErrorCode, kThrottle,
  // kInvalid or kVendorError (the vendor's envelope around fault.code).
  virtual HttpResponse fault_answer(const Fault& fault) const = 0;
};

// Vendor dialects first: they are told apart by headers and paths, the json and
// form dialects by their paths.
std::vector<std::unique_ptr<Dialect>> make_dialects(const Credentials& creds);
void add_vendor_dialects(const Credentials& creds, std::vector<std::unique_ptr<Dialect>>& out);
// login (WeChat OAuth code exchange), wxpay (WeChat Pay v3 query and refund), idv
// (identity verification): capabilities.cc.
void add_capability_dialects(const Credentials& creds, std::vector<std::unique_ptr<Dialect>>& out);

// The identity fixture both identity dialects check against: name by ID number.
const std::unordered_map<std::string, std::string>& known_people();

// Helpers shared by the dialects.
HttpResponse json_response(int status, const boost::json::object& body, HeaderList extra = {});
std::string new_id(std::string_view prefix);
// Unix seconds now (the sim's clock).
long long now_seconds();

// E.164 as the simulated vendors check it; "+999..." numbers are unassigned.
bool valid_number(std::string_view to);

}  // namespace tollgate::sim
