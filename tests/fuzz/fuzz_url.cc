// URLs from config (base URLs, proxies) and from callers (callback URLs), and
// callback allow-list entries: one parser for all, never accepting what could
// carry a control character, a space or a bracket mismatch onto the wire.
#include <cstdlib>

#include "config/config.h"
#include "core/url.h"
#include "tests/fuzz/fuzz_input.h"

using namespace tollgate;

namespace {

void check_wire_safe(const Url& u, const UrlRules& rules) {
  for (const std::string* part : {&u.host, &u.path, &u.query}) {
    for (char c : *part) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) std::abort();
    }
  }
  if (u.port == 0 || u.path.empty() || u.path.front() != '/') std::abort();
  // What we parsed, printed and parsed again, is the same URL.
  auto again = parse_http_url(u.redacted(), UrlRules{.allow_userinfo = rules.allow_userinfo, .amqp = rules.amqp});
  if (!again || again->host != u.host || again->port != u.port || again->target() != u.target()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  for (const UrlRules& rules : {UrlRules{.what = "callback URL"},
                                UrlRules{.allow_userinfo = true, .allow_path = false, .allow_query = false},
                                UrlRules{.allow_query = false, .what = "base_url"},
                                UrlRules{.allow_userinfo = true, .allow_query = false, .amqp = true, .what = "queues.url"}}) {
    if (auto u = parse_http_url(text, rules)) check_wire_safe(*u, rules);
  }
  if (auto p = config::parse_host_pattern(text)) {
    config::CallbackConfig c;
    c.patterns.push_back(*p);
    if (auto u = parse_http_url("http://" + std::string(text) + "/")) {
      const auto m = c.match(*u);
      (void)c.allows_address(*u, m, "127.0.0.1");
    }
  }
  (void)address_scope(text);
  (void)canonical_ip(text);
  return 0;
}
