#include "core/url.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(Url, ParsesTheParts) {
  auto u = parse_http_url("HTTPS://Hooks.Example.COM:8443/a/b%20c?x=1&y=2");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_FALSE(u->default_port);
  EXPECT_EQ(u->path, "/a/b%20c");
  EXPECT_EQ(u->query, "x=1&y=2");
  EXPECT_EQ(u->target(), "/a/b%20c?x=1&y=2");
  EXPECT_EQ(u->host_header(), "hooks.example.com:8443");
}

TEST(Url, DefaultPortsAndEmptyPath) {
  auto u = parse_http_url("http://example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_TRUE(u->default_port);
  EXPECT_EQ(u->path, "/");
  EXPECT_EQ(u->host_header(), "example.com");
  auto s = parse_http_url("https://example.com:443/");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->default_port);
  EXPECT_EQ(s->host_header(), "example.com");
}

TEST(Url, Ipv6LiteralsKeepTheirBracketsOnlyOnTheWire) {
  auto u = parse_http_url("http://[::1]:8099/cb");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->host, "::1");
  EXPECT_TRUE(u->host_is_ip);
  EXPECT_TRUE(u->ipv6);
  EXPECT_EQ(u->host_header(), "[::1]:8099");
  auto long_form = parse_http_url("http://[0:0:0:0:0:0:0:1]/");
  ASSERT_TRUE(long_form.ok());
  EXPECT_EQ(long_form->host, "::1");  // one canonical spelling
}

TEST(Url, RefusesWhatCouldReachTheWire) {
  for (const char* bad : {"http://a.example/x\r\nX-Injected: 1", "http://a.example/\n", "http://a .example/",
                          "http://a.example/ x", "http://a.example\r\n/", "http://a.example/\x7f",
                          "http://a%0d%0a.example/", "http://a.example:0/", "http://a.example:65536/",
                          "http://a.example:99999999999999999999/", "http://a.example:80x/", "ftp://a.example/",
                          "//a.example/", "/relative", "http:///path", "http://a.example/#frag",
                          "http://user:pw@a.example/", "http://[::1/", "http://a..example/", ""}) {
    EXPECT_FALSE(parse_http_url(bad).ok()) << "accepted: " << bad;
  }
}

TEST(Url, RulesPerUse) {
  const UrlRules proxy{.allow_userinfo = true, .allow_path = false, .allow_query = false, .what = "proxy"};
  auto p = parse_http_url("http://us%40er:p%3Ass@127.0.0.1:3128", proxy);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->userinfo, "us@er:p:ss");
  EXPECT_EQ(p->redacted(), "http://127.0.0.1:3128/");
  auto with_path = parse_http_url("http://127.0.0.1:3128/x", proxy);
  ASSERT_FALSE(with_path.ok());
  EXPECT_EQ(with_path.error().message, "proxy must not have a path");
  const UrlRules base{.allow_query = false, .what = "base_url"};
  EXPECT_FALSE(parse_http_url("http://a.example/api?x=1", base).ok());
}

TEST(Url, AddressScopes) {
  EXPECT_EQ(address_scope("8.8.8.8"), AddressScope::kPublic);
  EXPECT_EQ(address_scope("127.0.0.1"), AddressScope::kLoopback);
  EXPECT_EQ(address_scope("127.8.9.10"), AddressScope::kLoopback);
  EXPECT_EQ(address_scope("10.1.2.3"), AddressScope::kPrivate);
  EXPECT_EQ(address_scope("172.16.0.1"), AddressScope::kPrivate);
  EXPECT_EQ(address_scope("172.32.0.1"), AddressScope::kPublic);
  EXPECT_EQ(address_scope("192.168.1.1"), AddressScope::kPrivate);
  EXPECT_EQ(address_scope("169.254.169.254"), AddressScope::kLinkLocal);
  EXPECT_EQ(address_scope("0.0.0.0"), AddressScope::kUnspecified);
  EXPECT_EQ(address_scope("224.0.0.1"), AddressScope::kMulticast);
  EXPECT_EQ(address_scope("::1"), AddressScope::kLoopback);
  EXPECT_EQ(address_scope("::"), AddressScope::kUnspecified);
  EXPECT_EQ(address_scope("fd00::1"), AddressScope::kPrivate);
  EXPECT_EQ(address_scope("fe80::1"), AddressScope::kLinkLocal);
  EXPECT_EQ(address_scope("::ffff:169.254.169.254"), AddressScope::kLinkLocal);
  EXPECT_EQ(address_scope("::ffff:127.0.0.1"), AddressScope::kLoopback);
  EXPECT_EQ(address_scope("2001:db8::1"), AddressScope::kPublic);
  EXPECT_EQ(address_scope("not-an-ip"), AddressScope::kInvalid);
}

}  // namespace
}  // namespace tollgate
