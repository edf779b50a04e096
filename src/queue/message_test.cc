// The queue-mode message contract through its pure functions.
#include "queue/message.h"

#include <gtest/gtest.h>

namespace tollgate::queue {
namespace {

config::QueueConsumerConfig consumer(std::string capability = "") {
  config::QueueConsumerConfig c;
  c.queue = "sms.requests";
  c.caller = "shop";
  c.capability = std::move(capability);
  return c;
}

TEST(QueueMessage, ARequestBecomesTheCallerApiRequestOfItsCaller) {
  Delivery d;
  d.body = R"({"capability": "sms.send", "params": {"to": "+8613800000000", "template": "T1"}})";
  d.message_id = "order-42";
  d.reply_to = "shop.results";
  d.correlation_id = "c 1";
  d.timeout_ms = "2000";
  auto req = to_request(d, consumer());
  ASSERT_TRUE(req.ok()) << req.error().message;
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->path, "/v1/sms/send");
  EXPECT_EQ(req->body, R"({"to":"+8613800000000","template":"T1"})");
  EXPECT_EQ(req->header("Idempotency-Key"), "order-42");
  EXPECT_EQ(req->header("X-Timeout-Ms"), "2000");
  EXPECT_EQ(req->header("Authorization"), "") << "a queue acts for its caller without a key";
  EXPECT_EQ(req->door_caller, "shop");
  auto back = parse_reply_url(req->door_reply);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->first, "shop.results");
  EXPECT_EQ(back->second, "c 1");
}

TEST(QueueMessage, AQueueMayFixItsCapability) {
  Delivery d;
  d.body = R"({"params": {"to": "+8613800000000"}})";
  auto req = to_request(d, consumer("sms.send"));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->path, "/v1/sms/send");
  d.body = R"({"capability": "payment.refund", "params": {}})";
  auto other = to_request(d, consumer("sms.send"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().message, "this queue serves sms.send, not 'payment.refund'");
}

TEST(QueueMessage, PoisonMessagesAreRefusedWithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "the message body is not JSON"},
      {"[1]", "the message body must be a JSON object {\"capability\", \"params\"}"},
      {R"({"params": {}})", "the message names no capability (\"capability\": \"sms.send\")"},
      {R"({"capability": "sms/send"})", "capability must look like domain.operation"},
      {R"({"capability": "../admin"})", "capability must look like domain.operation"},
      {R"({"capability": "sms.send", "params": [1]})", "params must be a JSON object"},
      {R"({"capability": "sms.send", "extra": 1})", "unknown field 'extra' (a request has capability and params)"},
  };
  for (const auto& [body, why] : cases) {
    Delivery d;
    d.body = body;
    auto req = to_request(d, consumer());
    ASSERT_FALSE(req.ok()) << body;
    EXPECT_EQ(req.error().message, why) << body;
    EXPECT_EQ(req.error().cls, ErrorClass::kInvalidRequest);
  }
}

TEST(QueueMessage, TheAnswerDecidesTheMessagesFate) {
  EXPECT_EQ(disposition(200, R"({"id":"x"})"), Disposition::kReplyAndAck);
  EXPECT_EQ(disposition(503, R"({"error":{}})"), Disposition::kReplyAndAck) << "a final answer, published";
  EXPECT_EQ(disposition(502, R"({"error":{}})"), Disposition::kReplyAndAck);
  EXPECT_EQ(disposition(202, "{}"), Disposition::kAck);
  EXPECT_EQ(disposition(409, "{}"), Disposition::kRetryLater);
  EXPECT_EQ(disposition(429, "{}"), Disposition::kRetryLater);
  EXPECT_EQ(disposition(403, "{}"), Disposition::kDeadLetter);
  EXPECT_EQ(disposition(404, "{}"), Disposition::kDeadLetter);
  EXPECT_EQ(disposition(422, R"({"error":{"code":"invalid_request"}})"), Disposition::kDeadLetter)
      << "our validation: the same message is refused every time";
  EXPECT_EQ(disposition(422, R"({"error":{"code":"rejected"},"attempts":[{}]})"), Disposition::kReplyAndAck)
      << "a provider's verdict on a valid request is its answer";
}

TEST(QueueMessage, AReplyUrlSurvivesAnyQueueName) {
  for (const std::string name : {"a", "with space", "q?correlation_id=x", "%41", "ünï"}) {
    auto back = parse_reply_url(reply_url(name, "id?&="));
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(back->first, name);
    EXPECT_EQ(back->second, "id?&=");
  }
  EXPECT_FALSE(parse_reply_url("https://example.com/x").has_value());
}

}  // namespace
}  // namespace tollgate::queue
