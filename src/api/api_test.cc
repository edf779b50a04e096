// The caller API through its seams: a fake transport, simulated time and an
// in-memory store whose commits can be made to fail.
#include "api/api.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "tests/mocks/fake_transport.h"
#include "tests/mocks/test_runtime.h"
#include "tests/mocks/memory_job_store.h"
#include "tests/mocks/sim_time.h"

namespace tollgate::api {
namespace {

using testing::FakeTransport;
using testing::MemoryJobStore;
using testing::Reply;
using testing::SimTime;
using namespace std::chrono;

constexpr const char* kConfig = R"(callers:
  - name: shop
    key_sha256: 62af8704764faf8ea82fc61ce9c4c3908b6cb97d463a634e9e587d7c885db0ef
    capabilities: [sms.send, sms.notify]
capabilities:
  sms.send:
    deadline: 2s
    providers: [alpha]
    params:
      to: {type: string, required: true}
      n: {type: number}
  sms.notify:
    deadline: 2s
    providers: [alpha]
    params:
      to: {type: string, required: true}
      n: {type: number}
providers:
  alpha:
    base_url: http://alpha.test
    timeouts: {attempt: 300ms}
    operations:
      sms.send: &op
        request: {path: /send, body: {json: {to: "{{params.to}}"}}}
        response:
          success: {status: [200], field: /code, equals: 0}
          result: {message_id: /data/id}
      sms.notify: *op
)";

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = testing::test_runtime(kConfig, registry_);
    ASSERT_TRUE(rt);
    holder_ = std::make_unique<RuntimeHolder>(rt);
    api_ = std::make_unique<ApiHandler>(*holder_, time_, time_, std::vector<Transport*>{&transport_}, store_,
                                        "test-instance");
  }

  HttpResponse post(const std::string& path, const std::string& body, HeaderList headers = {}) {
    HttpRequest req;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.headers = std::move(headers);
    req.headers.emplace_back("Authorization", "Bearer test-key");
    std::optional<HttpResponse> out;
    boost::asio::co_spawn(ctx_, api_->handle(req, http::RequestContext{}),
                          [&](std::exception_ptr e, http::ServerResponse r) {
                            if (e) std::rethrow_exception(e);
                            out = std::move(r.response);
                          });
    // Until the answer is out; background work the call left goes on later.
    time_.run_until(ctx_, [&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(HttpResponse{0});
  }
  static boost::json::object json(const HttpResponse& r) { return boost::json::parse(r.body).as_object(); }

  boost::asio::io_context ctx_;
  SimTime time_;
  FakeTransport transport_{time_};
  MemoryJobStore store_;
  engine::StateRegistry registry_;
  std::unique_ptr<RuntimeHolder> holder_;
  std::unique_ptr<ApiHandler> api_;
};

// Defect 13: the provider answered; the store refused to record it. The caller
// learns the real outcome (never "nothing was sent"), and the record is written
// by the background retry, so a repeat replays it.
TEST_F(Api, AKeyedCallWhoseOutcomeCannotBeRecordedAtOnceStillAnswersTruthfully) {
  store_.fail_updates = 2;
  auto first = post("/v1/sms/send", R"({"to":"+8613800000000"})", {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json(first).at("result").at("message_id").as_string(), "m-1");
  time_.run(ctx_);  // the background retries
  EXPECT_EQ(store_.fail_updates, 0);
  auto again = post("/v1/sms/send", R"({"to":"+8613800000000"})", {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(find_header(again.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(transport_.sent().size(), 1u);
}

TEST_F(Api, AKeyedCallNeverRecordedIsOutcomeUnknownOnceItsLeaseEnds) {
  store_.fail_updates = 100;
  auto first = post("/v1/sms/send", R"({"to":"+8613800000000"})", {{"Idempotency-Key", "k-2"}});
  ASSERT_EQ(first.status, 200) << first.body;
  // While its outcome may still be recorded: in progress.
  auto soon = post("/v1/sms/send", R"({"to":"+8613800000000"})", {{"Idempotency-Key", "k-2"}});
  EXPECT_EQ(soon.status, 409) << soon.body;
  time_.run(ctx_);  // every background try fails
  time_.advance(seconds(30));
  auto later = post("/v1/sms/send", R"({"to":"+8613800000000"})", {{"Idempotency-Key", "k-2"}});
  EXPECT_EQ(later.status, 502) << later.body;
  EXPECT_EQ(json(later).at("error").at("code").as_string(), "outcome_unknown");
  EXPECT_FALSE(json(later).at("error").at("retryable").as_bool());
  EXPECT_EQ(transport_.sent().size(), 1u);  // never sent again
}

// Defect 4: a key is never replayed across capabilities.
TEST_F(Api, AnIdempotencyKeyIsNotReplayedForAnotherCapability) {
  auto sent = post("/v1/sms/send", R"({"to":"+8613800000000"})", {{"Idempotency-Key", "k-3"}});
  ASSERT_EQ(sent.status, 200);
  auto other = post("/v1/sms/notify", R"({"to":"+8613800000000"})", {{"Idempotency-Key", "k-3"}});
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_NE(json(other).at("error").at("message").as_string().find("already used for sms.send"), std::string::npos);
  EXPECT_EQ(transport_.sent().size(), 1u);
}

// Defect 6: 1e400 overflows to infinity; it must never be accepted or stored.
TEST_F(Api, NonFiniteNumbersAreRefused) {
  for (const char* body : {R"({"to":"+8613800000000","n":1e400})", R"({"to":"+8613800000000","n":-1e999})"}) {
    auto r = post("/v1/sms/send", body);
    EXPECT_EQ(r.status, 422) << body << " " << r.body;
  }
  auto async = post("/v1/sms/send", R"({"to":"+8613800000000","n":1e400})", {{"Prefer", "respond-async"}});
  EXPECT_NE(async.status, 202);
  EXPECT_TRUE(store_.records().empty());
  EXPECT_TRUE(transport_.sent().empty());
}

// Defect 15: the provider may have acted; a repeat by the caller could act again.
TEST_F(Api, AnAmbiguousFailureOfANonIdempotentCallIsNotRetryable) {
  transport_.script("alpha.test", {Reply::hangs()});
  auto r = post("/v1/sms/send", R"({"to":"+8613800000000"})");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(json(r).at("error").at("code").as_string(), "outcome_unknown");
  EXPECT_FALSE(json(r).at("error").at("retryable").as_bool());
}

}  // namespace
}  // namespace tollgate::api
