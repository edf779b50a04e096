#pragma once
// FakeTransport: the Transport (core/transport.h) for unit tests of the engine
// and the runner. Each provider host gets a script of replies — an answer after
// a latency, a transport error, or a hang — consumed in order, then a default.
// Latency passes in simulated time (SimTime), bounded by the send's deadline:
// a reply slower than the deadline becomes the read timeout a real client would
// report. Every request that "reached" a provider is kept for assertions.
// Honours CancelToken like the real client. Single-threaded.

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/transport.h"
#include "tests/mocks/sim_time.h"

namespace tollgate::testing {

class FakeEndpoint final : public TransportEndpoint {
 public:
  explicit FakeEndpoint(EndpointOptions o) : options_(std::move(o)) {}
  const EndpointOptions& options() const override { return options_; }

 private:
  EndpointOptions options_;
};

inline Result<std::shared_ptr<const TransportEndpoint>> fake_endpoint(const EndpointOptions& o) {
  return std::shared_ptr<const TransportEndpoint>(std::make_shared<FakeEndpoint>(o));
}

struct Reply {
  Millis latency{10};
  int status = 200;
  std::string body = R"({"code":0,"data":{"id":"m-1"}})";
  HeaderList headers;
  // Instead of an answer: a transport failure before anything was sent
  // ("connect_failed"), or "reset" after sending (ambiguous), or a hang.
  std::string failure;
  bool hang = false;

  static Reply ok(Millis latency = Millis(10)) { return Reply{latency}; }
  static Reply status_code(int s, std::string body = "{}", Millis latency = Millis(10)) {
    return Reply{latency, s, std::move(body)};
  }
  static Reply hangs() {
    Reply r;
    r.hang = true;
    return r;
  }
  static Reply fails(std::string how, Millis latency = Millis(1)) {
    Reply r;
    r.latency = latency;
    r.failure = std::move(how);
    return r;
  }
};

struct Sent {
  std::string host;
  HttpRequest request;
  SteadyTime at;
  bool cancelled = false;   // abandoned by its caller before the reply
  bool timed_out = false;   // the deadline came first
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(SimTime& time) : time_(time) {}

  void script(const std::string& host, std::vector<Reply> replies) {
    for (auto& r : replies) scripts_[host].push_back(std::move(r));
  }
  void set_default(const std::string& host, Reply r) { defaults_[host] = std::move(r); }

  boost::asio::awaitable<Result<HttpResponse>> send(const std::shared_ptr<const TransportEndpoint>& endpoint,
                                                    const HttpRequest& request, SteadyTime deadline,
                                                    CancelToken* cancel = nullptr) override {
    const std::string host = endpoint->options().host;
    Reply reply = next(host);
    if (!reply.failure.empty() && reply.failure == "connect_failed") {
      co_await time_.wait_until(std::min(deadline, time_.now() + reply.latency), cancel);
      co_return transport_error(ErrorClass::kUnavailable, false, "connect_failed");
    }
    const size_t index = sent_.size();
    sent_.push_back(Sent{host, request, time_.now()});
    const SteadyTime answer_at = reply.hang ? SteadyTime::max() : time_.now() + reply.latency;
    co_await time_.wait_until(std::min(deadline, answer_at), cancel);
    if (cancel && cancel->cancelled()) {
      sent_[index].cancelled = true;
      co_return transport_error(ErrorClass::kUnavailable, true, "cancelled");
    }
    if (time_.now() < answer_at) {
      sent_[index].timed_out = true;
      co_return transport_error(ErrorClass::kTimeout, true, "read_timeout");
    }
    if (reply.failure == "reset") co_return transport_error(ErrorClass::kUnavailable, true, "connection_lost");
    co_return HttpResponse{reply.status, reply.headers, reply.body};
  }

  const std::vector<Sent>& sent() const { return sent_; }
  int sent_to(const std::string& host) const {
    int n = 0;
    for (const auto& s : sent_) n += s.host == host;
    return n;
  }

 private:
  static Error transport_error(ErrorClass cls, bool ambiguous, std::string code) {
    Error e = Error::make(cls, cls == ErrorClass::kTimeout ? "the provider did not answer in time"
                                                           : "the provider could not be reached");
    e.from_provider = true;
    e.ambiguous = ambiguous;
    e.provider_code = std::move(code);
    return e;
  }
  Reply next(const std::string& host) {
    auto& q = scripts_[host];
    if (!q.empty()) {
      Reply r = std::move(q.front());
      q.pop_front();
      return r;
    }
    auto it = defaults_.find(host);
    return it == defaults_.end() ? Reply::ok() : it->second;
  }

  SimTime& time_;
  std::map<std::string, std::deque<Reply>> scripts_;
  std::map<std::string, Reply> defaults_;
  std::vector<Sent> sent_;
};

}  // namespace tollgate::testing
