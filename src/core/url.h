#pragma once
// Url: the one parser of URLs in tollgate. Provider base URLs, proxy URLs and
// callers' callback URLs are all parsed here, once, with Boost.URL (RFC 3986),
// into the parts the client sends: a URL that parses cannot carry a control
// character, a space or a CR/LF into a request line or a Host header, because
// RFC 3986 admits none of them.
//
// Which parts a URL may have depends on its use (UrlRules): a callback may carry a
// path and a query but never credentials or a fragment; a proxy may carry
// credentials but no path. Plain values; any thread.

#include <cstdint>
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate {

struct UrlRules {
  bool allow_userinfo = false;  // user:password@ (proxies only)
  bool allow_path = true;       // a path other than "" or "/"
  bool allow_query = true;
  // amqp:// and amqps:// (the broker of queue mode, default ports 5672 and 5671;
  // the path is the virtual host) instead of http:// and https://.
  bool amqp = false;
  // What the error messages call the URL ("callback URL", "base_url", "proxy").
  std::string_view what = "URL";
};

struct Url {
  std::string scheme;          // "http" or "https" ("amqp" or "amqps" under UrlRules::amqp)
  std::string host;            // lower-case name, or an IP literal without brackets
  bool host_is_ip = false;
  bool ipv6 = false;
  std::uint16_t port = 0;      // explicit, or the scheme's default
  bool default_port = true;    // the port is the scheme's default
  std::string path;            // percent-encoded as written; "/" when empty
  std::string query;           // percent-encoded, without '?'; empty when none
  std::string userinfo;        // decoded "user:password" (proxies); empty when none

  // host[:port] as a Host header or CONNECT authority wants it (IPv6 in brackets,
  // the port only when it is not the scheme's default).
  std::string host_header() const;
  // host:port with the port always present (IPv6 in brackets).
  std::string host_port() const;
  // The request target: path, then '?' and the query when there is one.
  std::string target() const;
  // scheme://host[:port]path[?query] (credentials left out: safe to log).
  std::string redacted() const;
};

// Parses an absolute http:// or https:// URL under `rules`. Refuses other
// schemes, an empty or malformed host, port 0, a fragment, and any part the
// rules do not allow, with a message that names rules.what.
Result<Url> parse_http_url(std::string_view text, const UrlRules& rules = {});

// What kind of address an IP literal is, for deciding where tollgate may connect
// on a caller's behalf.
enum class AddressScope { kPublic, kLoopback, kPrivate, kLinkLocal, kUnspecified, kMulticast, kInvalid };
// Classifies a textual IPv4 or IPv6 address (IPv4-mapped IPv6 as its IPv4).
AddressScope address_scope(std::string_view ip);
std::string_view to_string(AddressScope s);
// Whether `text` is an IPv4 or IPv6 literal (without brackets).
bool is_ip_literal(std::string_view text);
// The canonical text of an IP literal (RFC 5952 for IPv6), so two spellings of one
// address compare equal; empty when `text` is not one.
std::string canonical_ip(std::string_view text);

// An IPv4 or IPv6 network ("203.0.113.0/24", "2001:db8::/32", or one address),
// for allow-lists of where a request may come from. IPv4-mapped IPv6 addresses
// match as their IPv4 address.
class IpNetwork {
 public:
  static std::optional<IpNetwork> parse(std::string_view text);
  bool contains(std::string_view ip) const;

 private:
  std::array<unsigned char, 16> addr_{};
  int prefix_ = 0;  // bits that must match
  bool v4_ = false;
};

}  // namespace tollgate
