#include "core/url.h"

#include <arpa/inet.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace tollgate {
namespace {

namespace urls = boost::urls;

Error bad(const UrlRules& rules, std::string_view why) {
  return Error::make(ErrorClass::kInvalidRequest, std::string(rules.what) + " " + std::string(why));
}

// A DNS name as tollgate accepts it: letters, digits, '-', '_' and '.', no empty
// label; at most 253 characters. (RFC 3986's reg-name admits far more, e.g.
// percent-escapes and sub-delimiters, which no resolver wants.)
bool is_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string Url::host_header() const {
  std::string h = ipv6 ? "[" + host + "]" : host;
  if (!default_port) h += ":" + std::to_string(port);
  return h;
}

std::string Url::host_port() const { return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port); }

std::string Url::target() const { return query.empty() ? path : path + "?" + query; }

std::string Url::redacted() const { return scheme + "://" + host_header() + target(); }

Result<Url> parse_http_url(std::string_view text, const UrlRules& rules) {
  auto parsed = urls::parse_absolute_uri(urls::string_view(text.data(), text.size()));
  if (!parsed) return bad(rules, "is not a valid absolute URL");
  const urls::url_view& u = *parsed;
  Url out;
  out.scheme = lower(std::string_view(u.scheme().data(), u.scheme().size()));
  if (rules.amqp) {
    if (out.scheme != "amqp" && out.scheme != "amqps") return bad(rules, "must be amqp:// or amqps://");
  } else if (out.scheme != "http" && out.scheme != "https") {
    return bad(rules, "must be http:// or https://");
  }
  if (!u.has_authority()) return bad(rules, "has no host");
  if (u.has_fragment()) return bad(rules, "must not have a fragment ('#')");
  if (u.has_userinfo()) {
    if (!rules.allow_userinfo) return bad(rules, "must not carry credentials ('user@')");
    const auto info = u.userinfo();
    out.userinfo.assign(info.data(), info.size());
  }
  switch (u.host_type()) {
    case urls::host_type::name: {
      // A host name is written as itself: "%35.0.0.1x" would decode to a name
      // that, printed, no longer parses back as the same URL (found by fuzz_url).
      if (u.encoded_host().find('%') != urls::pct_string_view::npos) {
        return bad(rules, "has a percent-encoded host name");
      }
      const auto name = u.host_name();
      out.host = lower(std::string_view(name.data(), name.size()));
      if (!is_dns_name(out.host)) return bad(rules, "has an invalid host name");
      break;
    }
    case urls::host_type::ipv4: {
      out.host = u.host_ipv4_address().to_string();
      out.host_is_ip = true;
      break;
    }
    case urls::host_type::ipv6: {
      out.host = canonical_ip(u.host_ipv6_address().to_string());
      out.host_is_ip = true;
      out.ipv6 = true;
      break;
    }
    default:
      return bad(rules, "has no valid host");
  }
  out.port = out.scheme == "https" ? 443 : out.scheme == "amqp" ? 5672 : out.scheme == "amqps" ? 5671 : 80;
  if (u.has_port()) {
    const auto p = u.port();
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || port == 0 || port > 65535) {
      return bad(rules, "has an invalid port");
    }
    out.default_port = static_cast<std::uint16_t>(port) == out.port;
    out.port = static_cast<std::uint16_t>(port);
  }
  const auto path = u.encoded_path();
  out.path.assign(path.data(), path.size());
  // RFC 3986 makes the path after an authority empty or absolute; Boost.URL 1.81
  // accepts "http://host:80x/" as port 80 and path "x/", so check it here.
  if (!out.path.empty() && out.path.front() != '/') return bad(rules, "has an invalid port");
  if (out.path.empty()) out.path = "/";
  if (!rules.allow_path && out.path != "/") return bad(rules, "must not have a path");
  if (u.has_query()) {
    if (!rules.allow_query) return bad(rules, "must not have a query ('?')");
    const auto q = u.encoded_query();
    out.query.assign(q.data(), q.size());
  }
  return out;
}

bool is_ip_literal(std::string_view text) {
  if (text.empty() || text.size() > 45) return false;
  char buf[48];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

std::string canonical_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return {};
  char buf[48];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  unsigned char addr[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, buf, addr) == 1) return inet_ntop(AF_INET, addr, out, sizeof out) ? out : "";
  if (inet_pton(AF_INET6, buf, addr) == 1) return inet_ntop(AF_INET6, addr, out, sizeof out) ? out : "";
  return {};
}

AddressScope address_scope(std::string_view ip) {
  if (ip.empty() || ip.size() > 45) return AddressScope::kInvalid;
  char buf[48];
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  std::array<unsigned char, 16> a{};
  auto v4 = [](const unsigned char* b) {
    if (b[0] == 0) return AddressScope::kUnspecified;  // 0.0.0.0/8
    if (b[0] == 127) return AddressScope::kLoopback;
    if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) ||
        (b[0] == 100 && (b[1] & 0xC0) == 64)) {  // RFC 1918 and RFC 6598 shared space
      return AddressScope::kPrivate;
    }
    if (b[0] == 169 && b[1] == 254) return AddressScope::kLinkLocal;
    if (b[0] >= 224) return AddressScope::kMulticast;  // multicast, reserved, broadcast
    return AddressScope::kPublic;
  };
  if (inet_pton(AF_INET, buf, a.data()) == 1) return v4(a.data());
  if (inet_pton(AF_INET6, buf, a.data()) != 1) return AddressScope::kInvalid;
  static constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::equal(kMapped.begin(), kMapped.end(), a.begin())) return v4(a.data() + 12);
  const bool zero_prefix = std::all_of(a.begin(), a.begin() + 15, [](unsigned char c) { return c == 0; });
  if (zero_prefix && a[15] == 0) return AddressScope::kUnspecified;  // ::
  if (zero_prefix && a[15] == 1) return AddressScope::kLoopback;     // ::1
  if ((a[0] & 0xFE) == 0xFC) return AddressScope::kPrivate;          // fc00::/7 unique local
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) return AddressScope::kLinkLocal;  // fe80::/10
  if (a[0] == 0xFF) return AddressScope::kMulticast;
  return AddressScope::kPublic;
}

std::string_view to_string(AddressScope s) {
  switch (s) {
    case AddressScope::kPublic: return "public";
    case AddressScope::kLoopback: return "loopback";
    case AddressScope::kPrivate: return "private";
    case AddressScope::kLinkLocal: return "link-local";
    case AddressScope::kUnspecified: return "unspecified";
    case AddressScope::kMulticast: return "multicast";
    case AddressScope::kInvalid: return "invalid";
  }
  return "invalid";
}

namespace {

// The 16 address bytes of an IP literal (IPv4 in its last 4, IPv4-mapped IPv6
// as IPv4); false when `text` is not one.
bool ip_bytes(std::string_view text, std::array<unsigned char, 16>& out, bool& v4) {
  if (text.empty() || text.size() > 45) return false;
  char buf[48];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  out.fill(0);
  if (inet_pton(AF_INET, buf, out.data() + 12) == 1) {
    v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out.data()) != 1) return false;
  static constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  v4 = std::equal(kMapped.begin(), kMapped.end(), out.begin());
  if (v4) std::fill(out.begin(), out.begin() + 12, 0);
  return true;
}

}  // namespace

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  IpNetwork n;
  const auto slash = text.find('/');
  if (!ip_bytes(text.substr(0, slash), n.addr_, n.v4_)) return std::nullopt;
  const int max = n.v4_ ? 32 : 128;
  n.prefix_ = max;
  if (slash != std::string_view::npos) {
    const auto bits = text.substr(slash + 1);
    int p = -1;
    auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), p);
    if (bits.empty() || ec != std::errc() || ptr != bits.data() + bits.size() || p < 0 || p > max) {
      return std::nullopt;
    }
    n.prefix_ = p;
  }
  if (n.v4_) n.prefix_ += 96;  // compare the 16-byte form
  return n;
}

bool IpNetwork::contains(std::string_view ip) const {
  std::array<unsigned char, 16> a{};
  bool v4 = false;
  if (!ip_bytes(ip, a, v4) || v4 != v4_) return false;
  const int full = prefix_ / 8, rest = prefix_ % 8;
  if (!std::equal(a.begin(), a.begin() + full, addr_.begin())) return false;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[static_cast<size_t>(full)] & mask) == (addr_[static_cast<size_t>(full)] & mask);
}

}  // namespace tollgate
