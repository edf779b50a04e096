#include "config/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace tollgate::config {
namespace {

constexpr const char* kValid = R"(server:
  listen: 127.0.0.1:0
  workers: 2
  max_body_bytes: 4096
  request_timeout: 2s
callers:
  - name: shop
    key_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    capabilities: [sms.send]
capabilities:
  sms.send:
    idempotent: false
    deadline: 1500ms
    providers: [alpha, beta]
    params:
      to: {type: string, required: true, format: e164, sensitive: true}
      template: {type: string, required: true, max_length: 32}
      vars: {type: object}
providers:
  alpha:
    base_url: http://127.0.0.1:9101/api/
    timeouts: {connect: 200ms, attempt: 1s}
    credentials:
      token: ${ENV:ALPHA_TOKEN}
    signer: {type: bearer, token: "{{credentials.token}}"}
    operations:
      sms.send:
        dedupe: true
        request:
          path: /sms
          body:
            json:
              mobile: "{{params.to}}"
              vars: "{{params.vars}}"
              ref: "{{call.id}}"
              priority: 3
        response:
          success: {status: [200], field: /code, equals: 0}
          result: {message_id: /data/id}
          error: {code: /code, message: /msg}
          errors: {"1001": invalid_request, "4290": rate_limited}
  beta:
    base_url: https://sms.example.test
    credentials: {secret: s3cr3t}
    signer:
      type: hmac_sha256
      secret: "{{credentials.secret}}"
      canonical: [method, path, body]
    operations:
      sms.send:
        request:
          method: POST
          path: /messages/{{params.to}}
          body:
            form: {To: "{{params.to}}", Template: "{{params.template}}"}
)";

std::optional<std::string> fake_env(const std::string& name) {
  if (name == "ALPHA_TOKEN") return "tok-123";
  return std::nullopt;
}

TEST(ConfigLoader, LoadsValidFile) {
  auto out = load_config_text(kValid, "t.yaml", fake_env);
  for (const auto& p : out.problems) ADD_FAILURE() << format_problem("t.yaml", p);
  ASSERT_TRUE(out.ok());
  const Config& c = *out.config;
  EXPECT_EQ(c.server.port, 0);
  EXPECT_EQ(c.server.workers, 2);
  EXPECT_EQ(c.server.max_body_bytes, 4096u);
  EXPECT_EQ(c.server.request_timeout, Millis(2000));
  ASSERT_EQ(c.callers.size(), 1u);
  EXPECT_TRUE(c.callers[0].allows("sms.send"));
  EXPECT_FALSE(c.callers[0].allows("payment.query"));
  const auto* cap = c.capability("sms.send");
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->default_deadline, Millis(1500));
  ASSERT_EQ(cap->params.size(), 3u);
  EXPECT_EQ(cap->param("to")->format, ParamFormat::kE164);
  EXPECT_TRUE(cap->param("to")->sensitive);
  const auto* alpha = c.provider("alpha");
  ASSERT_NE(alpha, nullptr);
  EXPECT_EQ(alpha->host, "127.0.0.1");
  EXPECT_EQ(alpha->port, 9101);
  EXPECT_EQ(alpha->base_path, "/api");
  EXPECT_EQ(alpha->credentials.at("token"), "tok-123");
  EXPECT_EQ(alpha->attempt_timeout, Millis(1000));
  const auto& op = alpha->operations.at("sms.send");
  EXPECT_TRUE(op.dedupe);
  EXPECT_EQ(op.response.errors.at("4290"), ErrorClass::kRateLimited);
  const auto& body = op.request.json_body;
  ASSERT_EQ(body.members.size(), 4u);
  EXPECT_EQ(body.members[3].second.kind, JsonTemplate::Kind::kLiteral);
  const auto* beta = c.provider("beta");
  EXPECT_EQ(beta->port, 443);
  EXPECT_EQ(beta->signer.options.at("canonical").list.size(), 3u);
}

// Each case: a replacement applied to kValid, and text the problem must contain at
// the given line.
struct BadCase {
  std::string find;
  std::string replace;
  int line;
  std::string expect;
};

std::string patched(const BadCase& c) {
  std::string s = kValid;
  const auto pos = s.find(c.find);
  EXPECT_NE(pos, std::string::npos) << c.find;
  s.replace(pos, c.find.size(), c.replace);
  return s;
}

TEST(ConfigLoader, ReportsEachProblemWithItsLine) {
  const std::vector<BadCase> cases = {
      {"listen: 127.0.0.1:0", "listen: nowhere", 2, "host:port"},
      {"workers: 2", "workers: many", 3, "must be an integer"},
      {"request_timeout: 2s", "request_timeout: soon", 5, "duration"},
      {"key_sha256: 2c26", "key_sha256: XX26", 8, "64 lower-case hex"},
      {"idempotent: false", "idempotent: perhaps", 12, "true or false"},
      {"format: e164", "format: phone", 16, "unknown"},
      {"type: object", "type: dict", 18, "must be string, integer"},
      {"base_url: http://127.0.0.1:9101/api/", "base_url: ftp://x", 21, "base_url"},
      {"${ENV:ALPHA_TOKEN}", "${ENV:MISSING_TOKEN}", 24, "MISSING_TOKEN is not set"},
      {"\"{{params.vars}}\"", "\"{{params.nope}}\"", 34, "not a param"},
      {"4290\": rate_limited", "4290\": slow", 41, "not an error class"},
      {"providers: [alpha, beta]", "providers: [alpha, gamma]", 14, "unknown provider 'gamma'"},
      {"ref: \"{{call.id}}\"", "ref: fixed", 27, "dedupe is true"},
      {"{{credentials.secret}}", "{{credentials.nope}}", 0, ""},  // signer: checked in provider/
      {"          path: /sms", "          path: sms", 30, "must start with '/'"},
      {"    timeouts:", "    timeout:", 22, "unknown field 'timeout'"},
  };
  for (const auto& c : cases) {
    auto out = load_config_text(patched(c), "t.yaml", fake_env);
    if (c.expect.empty()) {
      EXPECT_TRUE(out.ok()) << c.find;
      continue;
    }
    ASSERT_FALSE(out.ok()) << c.find;
    const bool found = std::any_of(out.problems.begin(), out.problems.end(), [&](const Problem& p) {
      return p.mark.line == c.line && p.message.find(c.expect) != std::string::npos;
    });
    std::string all;
    for (const auto& p : out.problems) all += format_problem("t.yaml", p) + "\n";
    EXPECT_TRUE(found) << "expected line " << c.line << " '" << c.expect << "', got:\n" << all;
  }
}

// A health check gates the provider's breakers; a bad one is a problem at its line.
TEST(ConfigLoader, HealthChecks) {
  std::string s = kValid;
  const std::string at = "    timeouts: {connect: 200ms, attempt: 1s}\n";
  const std::string check =
      "    health_check:\n      path: /status\n      interval: 250ms\n      expect_status: [200, 204]\n"
      "      headers:\n        X-Key: ${ENV:ALPHA_TOKEN}\n";
  s.replace(s.find(at), at.size(), at + check);
  auto ok = load_config_text(s, "t.yaml", fake_env);
  for (const auto& p : ok.problems) ADD_FAILURE() << format_problem("t.yaml", p);
  ASSERT_TRUE(ok.ok());
  const auto& hc = ok.config->provider("alpha")->health_check;
  EXPECT_TRUE(hc.enabled);
  EXPECT_EQ(hc.method, "GET");
  EXPECT_EQ(hc.interval, Millis(250));
  EXPECT_EQ(hc.timeout, Millis(1000));  // the attempt timeout bounds the default
  EXPECT_EQ(hc.expect_status, (std::vector<int>{200, 204}));
  EXPECT_EQ(hc.headers.at("X-Key"), "tok-123");
  EXPECT_EQ(hc.healthy_after, 1);
  EXPECT_TRUE(ok.config->provider("alpha")->breaker.gated_by_checks);
  EXPECT_DOUBLE_EQ(ok.config->provider("alpha")->breaker.ramp_from, 0.5);
  EXPECT_FALSE(ok.config->provider("beta")->breaker.gated_by_checks);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"path: /status", "path: status"},
      {"interval: 250ms", "interval: 10ms"},
      {"expect_status: [200, 204]", "expect_status: [200, 700]"},
      {"expect_status: [200, 204]", "method: DELETE"},
      {"expect_status: [200, 204]", "body: '{}'"},
      {"expect_status: [200, 204]", "ramp_from: 2"},
      {"expect_status: [200, 204]", "healthy_after: 0"},
      {"expect_status: [200, 204]", "every: 1s"},
  };
  for (const auto& [find, replace] : bad) {
    std::string b = s;
    b.replace(b.find(find), find.size(), replace);
    auto out = load_config_text(b, "t.yaml", fake_env);
    EXPECT_FALSE(out.ok()) << replace;
    const bool at_check = std::any_of(out.problems.begin(), out.problems.end(), [](const Problem& p) {
      return p.message.find("health_check") != std::string::npos && p.mark.line >= 23 && p.mark.line <= 29;
    });
    EXPECT_TRUE(at_check) << replace << ": " << (out.problems.empty() ? "" : out.problems[0].message);
  }
}

TEST(ConfigLoader, CollectsSeveralProblemsAtOnce) {
  std::string s = kValid;
  s.replace(s.find("workers: 2"), 10, "workers: -1");
  s.replace(s.find("deadline: 1500ms"), 16, "deadline: x");
  auto out = load_config_text(s, "t.yaml", fake_env);
  EXPECT_GE(out.problems.size(), 2u);
}

TEST(ConfigLoader, DuplicateKeysAreProblems) {
  std::string s = kValid;
  s.replace(s.find("    idempotent: false"), 20, "    idempotent: false\n    idempotent: true");
  auto out = load_config_text(s, "t.yaml", fake_env);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.problems[0].message.find("duplicate key 'idempotent' (first at line 12)"), std::string::npos)
      << out.problems[0].message;
  EXPECT_EQ(out.problems[0].mark.line, 13);
  auto flow = load_config_text(std::string(kValid).replace(std::string(kValid).find("{connect: 200ms"), 15,
                                                           "{connect: 200ms, connect: 1s"),
                               "t.yaml", fake_env);
  EXPECT_FALSE(flow.ok());
}

TEST(ConfigLoader, MergeKeysShareSettings) {
  std::string s = kValid;
  // A third provider that is alpha with another URL, through a YAML merge key.
  s.replace(s.find("  alpha:\n"), 9, "  alpha: &alpha\n");
  s += "  gamma:\n    <<: *alpha\n    base_url: http://127.0.0.1:9300\n";
  auto out = load_config_text(s, "t.yaml", fake_env);
  for (const auto& p : out.problems) ADD_FAILURE() << format_problem("t.yaml", p);
  ASSERT_TRUE(out.ok());
  const auto* g = out.config->provider("gamma");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->port, 9300);                                      // its own key wins
  EXPECT_EQ(g->credentials.at("token"), "tok-123");              // merged from alpha
  EXPECT_TRUE(g->operations.at("sms.send").dedupe);
  EXPECT_EQ(out.config->provider("alpha")->port, 9101);          // the anchor is untouched
}

TEST(ConfigLoader, AsyncJobsMustFitTheirLease) {
  std::string s = kValid;
  s.replace(s.find("    deadline: 1500ms"), 20, "    deadline: 1500ms\n    async: {allow: true}");
  s += "jobs:\n  lease: 1s\n";
  auto out = load_config_text(s, "t.yaml", fake_env);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.problems[0].message.find("not shorter than jobs.lease"), std::string::npos) << out.problems[0].message;
  s.replace(s.find("lease: 1s"), 9, "lease: 2s");
  EXPECT_TRUE(load_config_text(s, "t.yaml", fake_env).ok());
}

TEST(ConfigLoader, SyntaxErrorHasLine) {
  auto out = load_config_text("server:\n  listen: [oops\n", "t.yaml", fake_env);
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_GT(out.problems[0].mark.line, 0);
  EXPECT_NE(out.problems[0].message.find("YAML syntax"), std::string::npos);
}

TEST(ConfigLoader, SecretsAreNotEchoedInProblems) {
  std::string s = kValid;
  s.replace(s.find("secret: s3cr3t"), 14, "secret: \"\"");
  auto out = load_config_text(s, "t.yaml", fake_env);
  for (const auto& p : out.problems) EXPECT_EQ(p.message.find("s3cr3t"), std::string::npos);
}

TEST(ConfigLoader, EnvDefaultIsUsedWhenUnset) {
  std::string s = kValid;
  s.replace(s.find("${ENV:ALPHA_TOKEN}"), 18, "${ENV:NOPE:-fallback}");
  auto out = load_config_text(s, "t.yaml", fake_env);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.config->provider("alpha")->credentials.at("token"), "fallback");
}

TEST(ConfigLoader, Durations) {
  EXPECT_EQ(parse_duration("250ms"), Millis(250));
  EXPECT_EQ(parse_duration("3s"), Millis(3000));
  EXPECT_EQ(parse_duration("2m"), Millis(120000));
  EXPECT_EQ(parse_duration("40"), Millis(40));
  EXPECT_FALSE(parse_duration("3 s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("fast"));
}

// kValid with beta moved into an included file.
struct IncludeFixture {
  std::string dir = ::testing::TempDir() + "/include-test-" + std::to_string(::getpid());
  IncludeFixture() { std::filesystem::create_directories(dir + "/providers"); }
  ~IncludeFixture() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir + "/" + name) << text; }
  std::string main_with(const std::string& include_line) const {
    std::string s = kValid;
    const size_t beta = s.find("  beta:");
    write("providers/beta.yaml", "providers:\n" + s.substr(beta));
    return s.substr(0, beta) + include_line;
  }
};

TEST(ConfigLoader, IncludedFilesAddProviders) {
  IncludeFixture f;
  const std::string main = f.main_with("include: [providers/beta.yaml]\n");
  auto out = load_config_text(main, f.dir + "/main.yaml", fake_env);
  for (const auto& p : out.problems) ADD_FAILURE() << format_problem(f.dir + "/main.yaml", p);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.config->providers.size(), 2u);
  EXPECT_EQ(out.config->providers.at("beta").signer.type, "hmac_sha256");
}

TEST(ConfigLoader, ProblemsInAnIncludedFileNameThatFileAndLine) {
  IncludeFixture f;
  std::string main = f.main_with("include: [providers/beta.yaml]\n");
  // A typo on line 4 of the included file.
  std::string beta = "providers:\n" + std::string(kValid).substr(std::string(kValid).find("  beta:"));
  beta.replace(beta.find("credentials: {secret: s3cr3t}"), 29, "credentails: {secret: s3cr3t}");
  f.write("providers/beta.yaml", beta);
  auto out = load_config_text(main, f.dir + "/main.yaml", fake_env);
  ASSERT_FALSE(out.ok());
  bool found = false;
  for (const auto& p : out.problems) {
    const std::string text = format_problem(f.dir + "/main.yaml", p);
    found |= text.starts_with(f.dir + "/providers/beta.yaml:4:") && text.find("credentails") != std::string::npos;
  }
  EXPECT_TRUE(found) << format_problem("main", out.problems.front());
}

TEST(ConfigLoader, IncludeRefusesMissingFilesAndTwiceDefinedProviders) {
  IncludeFixture f;
  auto has = [](const LoadOutcome& out, const std::string& text) {
    return std::any_of(out.problems.begin(), out.problems.end(),
                       [&](const Problem& p) { return p.message.find(text) != std::string::npos; });
  };
  auto missing = load_config_text(f.main_with("include: [providers/nope.yaml]\n"), f.dir + "/main.yaml", fake_env);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(has(missing, "include: cannot open " + f.dir + "/providers/nope.yaml"));
  // beta in the main file and in the include (main_with wrote providers/beta.yaml).
  auto twice = load_config_text(std::string(kValid) + "include: [providers/beta.yaml]\n", f.dir + "/main.yaml", fake_env);
  ASSERT_FALSE(twice.ok());
  EXPECT_TRUE(has(twice, "providers.beta is already defined"));
}

}  // namespace
}  // namespace tollgate::config

namespace tollgate::config {
namespace {

CallbackConfig allow(std::vector<std::string> entries) {
  CallbackConfig c;
  for (auto& e : entries) {
    auto p = parse_host_pattern(e);
    EXPECT_TRUE(p.has_value()) << e;
    if (p) c.patterns.push_back(*p);
    c.allowed_hosts.push_back(e);
  }
  return c;
}

Url url(const std::string& text) {
  auto u = parse_http_url(text);
  EXPECT_TRUE(u.ok()) << text;
  return u.ok() ? *u : Url{};
}

// Defect 3: the allow-list is checked on the resolved addresses too.
TEST(CallbackAllowList, AWildcardNeverReachesLoopbackPrivateOrLinkLocalAddresses) {
  const auto c = allow({"*.hooks.example.com", "internal.example.com:8443", "127.0.0.1:8099", "[::1]:8099",
                        "169.254.169.254"});
  const Url wild = url("https://a.hooks.example.com/cb");
  ASSERT_EQ(c.match(wild), CallbackConfig::Match::kWildcard);
  EXPECT_TRUE(c.allows_address(wild, CallbackConfig::Match::kWildcard, "93.184.216.34"));
  for (const char* ip : {"127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1", "fe80::1",
                         "::ffff:127.0.0.1", "fd00::1"}) {
    EXPECT_FALSE(c.allows_address(wild, CallbackConfig::Match::kWildcard, ip)) << ip;
  }
  // An exact name: an internal service the operator named may be private or
  // loopback, never link-local (cloud metadata) or unspecified.
  const Url named = url("https://internal.example.com:8443/cb");
  ASSERT_EQ(c.match(named), CallbackConfig::Match::kExact);
  EXPECT_TRUE(c.allows_address(named, CallbackConfig::Match::kExact, "10.0.0.5"));
  EXPECT_TRUE(c.allows_address(named, CallbackConfig::Match::kExact, "127.0.0.1"));
  EXPECT_FALSE(c.allows_address(named, CallbackConfig::Match::kExact, "169.254.169.254"));
  EXPECT_FALSE(c.allows_address(named, CallbackConfig::Match::kExact, "0.0.0.0"));
  // Wrong port, apex of a wildcard, other names: no match at all.
  EXPECT_EQ(c.match(url("https://internal.example.com/cb")), CallbackConfig::Match::kNone);
  EXPECT_EQ(c.match(url("https://hooks.example.com/cb")), CallbackConfig::Match::kNone);
  EXPECT_EQ(c.match(url("https://evilhooks.example.com/cb")), CallbackConfig::Match::kNone);
  // IP literals are admitted exactly, in any spelling, and only at their port.
  EXPECT_EQ(c.match(url("http://[0:0:0:0:0:0:0:1]:8099/")), CallbackConfig::Match::kExact);
  EXPECT_EQ(c.match(url("http://127.0.0.1:8098/")), CallbackConfig::Match::kNone);
  const Url metadata = url("http://169.254.169.254/latest");
  ASSERT_EQ(c.match(metadata), CallbackConfig::Match::kExact);
  EXPECT_TRUE(c.allows_address(metadata, CallbackConfig::Match::kExact, "169.254.169.254"));
}

TEST(CallbackAllowList, MalformedEntriesAreConfigProblems) {
  for (const char* bad : {"", "*.", "*.1.2.3.4", "[::1", "[127.0.0.1]", "host:0", "host:99999", "host:", "a b",
                          "host/path", "user@host"}) {
    EXPECT_FALSE(parse_host_pattern(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace tollgate::config
