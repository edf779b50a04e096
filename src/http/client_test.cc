#include "http/client.h"

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "http/resolver.h"

namespace tollgate::http {
namespace {

using namespace std::chrono;

// Defect 9: a look-up is waited for only until the attempt's deadline (and the
// cancel token is honoured during it); getaddrinfo itself cannot be interrupted
// and finishes on Asio's resolver thread. ("localhost" resolves from /etc/hosts:
// no test sends a DNS query anywhere.)
TEST(Resolver, ALookupIsWaitedForOnlyUntilTheDeadline) {
  boost::asio::io_context ctx;
  Resolver resolver(ctx);
  std::optional<Result<Resolver::Results>> out;
  boost::asio::co_spawn(ctx, resolver.resolve("localhost", 80, std::chrono::steady_clock::now(), nullptr),
                        [&](std::exception_ptr, Result<Resolver::Results> r) { out = std::move(r); });
  ctx.run_for(seconds(30));
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().provider_code, "dns_timeout");
  EXPECT_EQ(out->error().cls, ErrorClass::kTimeout);
  EXPECT_FALSE(out->error().ambiguous);
}

TEST(Resolver, ALookupCanBeAbandoned) {
  boost::asio::io_context ctx;
  Resolver resolver(ctx);
  CancelToken cancel;
  cancel.cancel();  // the hedge was won before this leg's look-up began
  std::optional<Result<Resolver::Results>> out;
  boost::asio::co_spawn(ctx, resolver.resolve("localhost", 80, std::chrono::steady_clock::now() + seconds(30), &cancel),
                        [&](std::exception_ptr, Result<Resolver::Results> r) { out = std::move(r); });
  ctx.run_for(seconds(30));
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().provider_code, "cancelled");
}

// Defect 10: a reload that changes how connections are made gets new pools; one
// that changes nothing keeps the warm ones.
TEST(Endpoint, ThePoolKeyCoversEverySettingOfAConnection) {
  const auto dir = std::filesystem::temp_directory_path() / ("tollgate-ep-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto ca = (dir / "ca.pem").string();
  auto write = [&](const std::string& text) { std::ofstream(ca) << text; };
  auto key_of = [&](EndpointOptions o) {
    auto ep = Endpoint::make(std::move(o));
    EXPECT_TRUE(ep) << (ep ? "" : ep.error().message);
    return ep ? (*ep)->pool_key() : std::string();
  };
  EndpointOptions base;
  base.host = "sms.example.test";
  base.port = 8080;
  const std::string k = key_of(base);
  EXPECT_EQ(key_of(base), k) << "the same settings share a pool";
  auto changed = base;
  changed.connect_timeout = Millis(250);
  EXPECT_NE(key_of(changed), k);
  changed = base;
  changed.proxy = "http://127.0.0.1:3128";
  EXPECT_NE(key_of(changed), k);
  changed = base;
  changed.pool_tag = "callback:shop";
  EXPECT_NE(key_of(changed), k);
  // TLS: the CA file's contents are part of the key, not just its name. (Not a
  // real CA, so verification is off; the key is still made from the file.)
  auto tls = base;
  tls.scheme = "https";
  tls.tls_verify = false;
  tls.ca_file = ca;
  write("first");
  const std::string k1 = key_of(tls);
  write("renewed");
  EXPECT_NE(key_of(tls), k1) << "a renewed CA file must not reuse old connections";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::http
