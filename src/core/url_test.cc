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

// A host name is taken only as written: percent-encoded, it could decode to a
// name whose printed URL no longer parses back the same (found by fuzz_url).
TEST(Url, APercentEncodedHostNameIsRefused) {
  auto u = parse_http_url("http://%35.0.0.10x:9");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().message.find("percent-encoded host"), std::string::npos) << u.error().message;
  EXPECT_FALSE(parse_http_url("http://%61.example/").ok());
  EXPECT_TRUE(parse_http_url("http://a.example/%61").ok()) << "paths may be percent-encoded";
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

TEST(Url, AnAmqpBrokerUrlOnlyWhereAmqpIsAsked) {
  const UrlRules broker{.allow_userinfo = true, .allow_query = false, .amqp = true, .what = "queues.url"};
  auto u = parse_http_url("amqp://guest:s%40cret@127.0.0.1/%2f", broker);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->scheme, "amqp");
  EXPECT_EQ(u->port, 5672);
  EXPECT_EQ(u->userinfo, "guest:s@cret");
  EXPECT_EQ(u->path, "/%2f");
  EXPECT_EQ(parse_http_url("amqps://broker.example", broker)->port, 5671);
  EXPECT_EQ(parse_http_url("http://broker.example", broker).error().message, "queues.url must be amqp:// or amqps://");
  EXPECT_FALSE(parse_http_url("amqp://broker.example/").ok()) << "an amqp URL is not an HTTP URL";
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

TEST(IpNetwork, MatchesAddressesInsideItsPrefixOnly) {
  auto n = IpNetwork::parse("203.0.113.0/24");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->contains("203.0.113.7"));
  EXPECT_TRUE(n->contains("::ffff:203.0.113.200"));
  EXPECT_FALSE(n->contains("203.0.114.7"));
  EXPECT_FALSE(n->contains("2001:db8::1"));
  auto one = IpNetwork::parse("127.0.0.1");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->contains("127.0.0.1"));
  EXPECT_FALSE(one->contains("127.0.0.2"));
  auto v6 = IpNetwork::parse("2001:db8::/33");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains("2001:db8:7fff::1"));
  EXPECT_FALSE(v6->contains("2001:db8:8000::1"));
  EXPECT_FALSE(v6->contains("203.0.113.7"));
  auto all = IpNetwork::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains("8.8.8.8"));
  for (const char* bad : {"", "203.0.113.0/33", "203.0.113.0/", "2001:db8::/129", "example.com", "1.2.3.4/x", "1.2.3/8"}) {
    EXPECT_FALSE(IpNetwork::parse(bad)) << bad;
  }
  EXPECT_FALSE(n->contains("not-an-ip"));
}

}  // namespace
}  // namespace tollgate
