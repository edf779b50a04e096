// Queue mode's request messages (queue/message.h): a body and the properties
// tollgate reads, from anyone who can publish to the queue. Whatever arrives:
// no crash, and a request that is made is one the caller API would route —
// a path /v1/<domain>/<operation> with no control characters, a body that is a
// JSON object, the consumer's caller — and the reply address of any reply_to
// and correlation_id reads back as them.
// Input: body \x00 message_id \x00 reply_to \x00 correlation_id \x00 not_before \x00 timeout_ms.
#include <boost/json.hpp>

#include <cstdlib>

#include "queue/message.h"
#include "tests/fuzz/fuzz_input.h"

using namespace tollgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split(fuzz::as_text(data, size), std::string_view("\0", 1), 6);
  queue::Delivery d;
  d.body = std::string(parts[0]);
  if (parts.size() > 1) d.message_id = std::string(parts[1]);
  if (parts.size() > 2) d.reply_to = std::string(parts[2]);
  if (parts.size() > 3) d.correlation_id = std::string(parts[3]);
  if (parts.size() > 4) d.not_before = std::string(parts[4]);
  if (parts.size() > 5) d.timeout_ms = std::string(parts[5]);
  for (const std::string fixed : {"", "sms.send"}) {
    config::QueueConsumerConfig c;
    c.queue = "q";
    c.caller = "shop";
    c.capability = fixed;
    auto req = queue::to_request(d, c);
    if (!req) continue;
    if (!req->path.starts_with("/v1/") || req->door_caller != "shop") std::abort();
    if (req->path.find("..") != std::string::npos || req->path.find('?') != std::string::npos) std::abort();
    for (const char ch : req->path) {
      if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) std::abort();
    }
    boost::system::error_code ec;
    const auto body = boost::json::parse(req->body, ec);
    if (ec || !body.is_object()) std::abort();
    if (!fixed.empty() && req->path != "/v1/sms/send") std::abort();
  }
  if (!d.reply_to.empty()) {
    auto back = queue::parse_reply_url(queue::reply_url(d.reply_to, d.correlation_id));
    if (!back || back->first != d.reply_to || back->second != d.correlation_id) std::abort();
  }
  (void)queue::parse_reply_url(d.body);
  (void)queue::disposition(static_cast<int>(size % 600), d.body);
  return 0;
}
