// Parsers for policy settings: limits and quotas, breaker thresholds, health
// windows, and the admin listener.
#include <charconv>

#include "config/parse_sections.h"

namespace tollgate::config::detail {
namespace {

std::optional<std::chrono::minutes> parse_utc_offset(const std::string& s) {
  if (s == "UTC" || s == "Z" || s == "+00:00") return std::chrono::minutes(0);
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return std::nullopt;
  int h = 0, m = 0;
  if (std::from_chars(s.data() + 1, s.data() + 3, h).ec != std::errc() ||
      std::from_chars(s.data() + 4, s.data() + 6, m).ec != std::errc() || h > 14 || m > 59) {
    return std::nullopt;
  }
  const auto total = std::chrono::minutes(h * 60 + m);
  return s[0] == '-' ? -total : total;
}

}  // namespace

bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  unsigned p = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data() + colon + 1, end, p);
  if (ec != std::errc() || ptr != end || p > 65535) return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  port = static_cast<std::uint16_t>(p);
  return true;
}

std::optional<double> ratio_field(YamlReader& r, const YAML::Node& map, const char* key, const std::string& what,
                                  double max) {
  auto v = r.number_field(map, key, what);
  if (v && (*v < 0 || *v > max)) {
    r.error(map[key], what + "." + key + " must be between 0 and " + std::to_string(max).substr(0, 4));
    return std::nullopt;
  }
  return v;
}

void parse_admin(YamlReader& r, const YAML::Node& n, AdminConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "admin")) return;
  r.only_keys(n, "admin", {"listen", "token"});
  out.enabled = true;
  if (n["listen"]) {
    const std::string listen = r.string_field(n, "listen", "admin", "");
    if (!parse_host_port(listen, out.host, out.port)) {
      r.error(n["listen"], "admin.listen must be host:port, e.g. 127.0.0.1:8081");
    }
  }
  out.token = r.string_field(n, "token", "admin", "", true);
  if (out.token.size() < 16) {
    r.error(n["token"] ? n["token"] : n, "admin.token is required and must be at least 16 characters");
  }
}

void parse_shared(YamlReader& r, const YAML::Node& n, SharedConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "shared")) return;
  r.only_keys(n, "shared", {"redis", "prefix", "expected_instances", "on_shared_loss"});
  out.enabled = true;
  const YAML::Node& redis = n["redis"];
  if (!redis || !r.is_map(redis, "shared.redis")) {
    r.error(redis ? redis : n, "shared.redis is required: {url: redis://host:port, timeout: 50ms}");
  } else {
    r.only_keys(redis, "shared.redis", {"url", "timeout"});
    out.redis_url = r.string_field(redis, "url", "shared.redis", "", /*secret=*/true);
    if (!out.redis_url.starts_with("redis://")) {
      r.error(redis["url"] ? redis["url"] : redis, "shared.redis.url must be redis://host[:port][/db]");
    }
    out.timeout = r.duration_field(redis, "timeout", "shared.redis", out.timeout, Millis(1));
  }
  out.prefix = r.string_field(n, "prefix", "shared", out.prefix);
  out.expected_instances = static_cast<int>(r.int_field(n, "expected_instances", "shared", out.expected_instances, 1, 1000));
  const std::string loss = r.string_field(n, "on_shared_loss", "shared", "local");
  if (loss == "local" || loss == "deny") {
    out.deny_on_shared_loss = loss == "deny";
  } else {
    r.error(n["on_shared_loss"], "shared.on_shared_loss must be local or deny, not '" + loss + "'");
  }
}

void parse_store(YamlReader& r, const YAML::Node& n, StoreConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "store")) return;
  r.only_keys(n, "store", {"driver", "url", "path", "sync", "idempotency_ttl", "retention", "record_sync_calls"});
  const std::string driver = r.string_field(n, "driver", "store", "sqlite");
  if (driver == "postgres") {
    out.driver = StoreConfig::Driver::kPostgres;
  } else if (driver != "sqlite") {
    r.error(n["driver"], "store.driver must be sqlite or postgres, not '" + driver + "'");
  }
  out.url = r.string_field(n, "url", "store", "", /*secret=*/true);
  if (out.driver == StoreConfig::Driver::kPostgres &&
      !out.url.starts_with("postgresql://") && !out.url.starts_with("postgres://")) {
    r.error(n["url"] ? n["url"] : n, "store.url must be a postgresql:// URL when store.driver is postgres");
  }
  if (out.driver == StoreConfig::Driver::kSqlite && !out.url.empty()) {
    r.error(n["url"], "store.url is for driver: postgres (the SQLite store takes store.path)");
  }
  out.path = r.string_field(n, "path", "store", out.path);
  const std::string sync = r.string_field(n, "sync", "store", "full");
  if (sync == "full" || sync == "normal") {
    out.sync_full = sync == "full";
  } else {
    r.error(n["sync"], "store.sync must be full or normal, not '" + sync + "'");
  }
  out.idempotency_ttl = r.duration_field(n, "idempotency_ttl", "store", out.idempotency_ttl, Millis(1000));
  out.retention = r.duration_field(n, "retention", "store", out.retention, Millis(1000));
  out.record_sync_calls = r.bool_field(n, "record_sync_calls", "store", out.record_sync_calls);
}

std::optional<Traffic> parse_traffic(std::string_view s) {
  if (s == "live") return Traffic::kLive;
  if (s == "debug") return Traffic::kDebug;
  if (s == "stress") return Traffic::kStress;
  return std::nullopt;
}

void parse_test_traffic(YamlReader& r, const YAML::Node& n, TestTrafficConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "test_traffic")) return;
  r.only_keys(n, "test_traffic",
              {"header", "apply_provider_limits", "record_health", "horizon", "snapshot_every", "min_samples"});
  out.header = r.string_field(n, "header", "test_traffic", out.header);
  out.apply_provider_limits = r.bool_field(n, "apply_provider_limits", "test_traffic", out.apply_provider_limits);
  out.record_health = r.bool_field(n, "record_health", "test_traffic", out.record_health);
  out.horizon = r.duration_field(n, "horizon", "test_traffic", out.horizon, Millis(10000));
  out.snapshot_every = r.duration_field(n, "snapshot_every", "test_traffic", out.snapshot_every, Millis(100));
  out.min_samples = static_cast<int>(r.int_field(n, "min_samples", "test_traffic", out.min_samples, 1, 1000000));
}

void parse_latency_model(YamlReader& r, const YAML::Node& n, const std::string& what, policy::LatencyModel& out) {
  if (!n) return;
  if (!r.is_map(n, what)) return;
  const std::string dist = r.string_field(n, "dist", what, "lognormal");
  using K = policy::LatencyModel::Kind;
  auto need = [&](const char* key) {
    auto v = r.duration_field(n, key, what, Millis(-1), Millis(0));
    if (v.count() < 0) r.error(n, what + "." + key + " is required for dist " + dist);
    return static_cast<double>(v.count());
  };
  if (dist == "fixed") {
    r.only_keys(n, what, {"dist", "latency"});
    out = {K::kFixed, need("latency"), 0};
  } else if (dist == "uniform") {
    r.only_keys(n, what, {"dist", "min", "max"});
    out = {K::kUniform, need("min"), need("max")};
    if (out.b < out.a) r.error(n, what + ": max is below min");
  } else if (dist == "lognormal") {
    r.only_keys(n, what, {"dist", "median", "p99"});
    out = {K::kLogNormal, need("median"), need("p99")};
    if (out.a <= 0 || out.b < out.a) r.error(n, what + ": lognormal needs 0 < median <= p99");
  } else {
    r.error(n["dist"], what + ".dist must be fixed, uniform or lognormal");
  }
}

void parse_log(YamlReader& r, const YAML::Node& n, LogConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "log")) return;
  r.only_keys(n, "log", {"level", "format", "calls"});
  out.level = r.string_field(n, "level", "log", out.level);
  if (out.level != "debug" && out.level != "info" && out.level != "warn" && out.level != "error") {
    r.error(n["level"], "log.level must be debug, info, warn or error");
  }
  const std::string format = r.string_field(n, "format", "log", "json");
  if (format != "json" && format != "text") r.error(n["format"], "log.format must be json or text");
  out.json = format == "json";
  out.calls = r.bool_field(n, "calls", "log", out.calls);
}

void parse_jobs(YamlReader& r, const YAML::Node& n, JobsConfig& out) {
  if (!n) return;
  if (!r.is_map(n, "jobs")) return;
  r.only_keys(n, "jobs",
              {"lease", "max_attempts", "max_age", "base_backoff", "max_backoff", "concurrency", "drain_rps",
               "poll_interval", "max_batch", "callback_timeout", "callback_max_tries"});
  out.lease = r.duration_field(n, "lease", "jobs", out.lease, Millis(1000));
  out.max_attempts = static_cast<int>(r.int_field(n, "max_attempts", "jobs", out.max_attempts, 1, 1000));
  out.max_age = r.duration_field(n, "max_age", "jobs", out.max_age, Millis(1000));
  out.base_backoff = r.duration_field(n, "base_backoff", "jobs", out.base_backoff);
  out.max_backoff = r.duration_field(n, "max_backoff", "jobs", std::max(out.max_backoff, out.base_backoff));
  out.concurrency = static_cast<int>(r.int_field(n, "concurrency", "jobs", out.concurrency, 1, 10000));
  if (auto v = r.number_field(n, "drain_rps", "jobs")) {
    if (*v <= 0) r.error(n["drain_rps"], "jobs.drain_rps must be above 0");
    else out.drain_rps = *v;
  }
  out.poll_interval = r.duration_field(n, "poll_interval", "jobs", out.poll_interval, Millis(10));
  out.max_batch = static_cast<int>(r.int_field(n, "max_batch", "jobs", out.max_batch, 1, 10000));
  out.callback_timeout = r.duration_field(n, "callback_timeout", "jobs", out.callback_timeout, Millis(100));
  out.callback_max_tries = static_cast<int>(r.int_field(n, "callback_max_tries", "jobs", out.callback_max_tries, 1, 100));
}

void parse_callbacks(YamlReader& r, const YAML::Node& n, const std::string& what, CallbackConfig& out) {
  if (!n) return;
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what, {"allowed_hosts", "secret"});
  out.allowed_hosts = r.string_list(n, "allowed_hosts", what);
  if (out.allowed_hosts.empty()) r.error(n, what + ".allowed_hosts must list at least one host");
  for (const auto& entry : out.allowed_hosts) {
    if (auto p = parse_host_pattern(entry)) {
      out.patterns.push_back(*p);
    } else {
      r.error(n["allowed_hosts"], what + ".allowed_hosts: '" + entry +
                                      "' is not a host name, *.domain, IP address or [IPv6], with an optional :port");
    }
  }
  out.secret = r.string_field(n, "secret", what, "", true);
  if (out.secret.size() < 16) {
    r.error(n["secret"] ? n["secret"] : n, what + ".secret is required and must be at least 16 characters");
  }
}

void parse_limits(YamlReader& r, const YAML::Node& n, const std::string& what, LimitsConfig& out) {
  if (!n) return;
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what, {"rps", "burst", "max_concurrent", "daily_quota", "monthly_quota", "quota_timezone",
                        "on_shared_loss"});
  if (n["on_shared_loss"]) {
    const std::string loss = r.string_field(n, "on_shared_loss", what, "local");
    if (loss == "local" || loss == "deny") {
      out.deny_on_shared_loss = loss == "deny";
    } else {
      r.error(n["on_shared_loss"], what + ".on_shared_loss must be local or deny, not '" + loss + "'");
    }
  }
  if (auto rps = r.number_field(n, "rps", what)) {
    if (*rps <= 0) {
      r.error(n["rps"], what + ".rps must be greater than 0");
    } else {
      out.rps = *rps;
    }
  }
  out.burst = static_cast<int>(r.int_field(n, "burst", what, 0, 1, 1000000));
  if (out.rps > 0 && out.burst == 0) out.burst = std::max(1, static_cast<int>(out.rps));
  if (out.burst > 0 && out.rps == 0) r.error(n["burst"], what + ".burst needs rps");
  out.max_concurrent = static_cast<int>(r.int_field(n, "max_concurrent", what, 0, 1, 1000000));
  out.daily_quota = static_cast<std::uint64_t>(r.int_field(n, "daily_quota", what, 0, 1, 1LL << 40));
  out.monthly_quota = static_cast<std::uint64_t>(r.int_field(n, "monthly_quota", what, 0, 1, 1LL << 40));
  if (n["quota_timezone"]) {
    const std::string tz = r.string_field(n, "quota_timezone", what, "");
    if (auto off = parse_utc_offset(tz)) {
      out.quota_utc_offset = *off;
    } else {
      r.error(n["quota_timezone"], what + ".quota_timezone must be a UTC offset like +08:00 or UTC, not '" + tz + "'");
    }
  }
}

void parse_breaker(YamlReader& r, const YAML::Node& n, const std::string& what, policy::BreakerConfig& out) {
  if (!n) return;
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what,
              {"min_calls", "failure_rate", "timeout_rate", "slow_rate", "consecutive_failures", "min_hung_calls",
               "latency_drift",
               "open", "max_open", "half_open_probes", "probe_success_ratio", "slow_start",
               "min_delivery_rate"});
  out.min_calls = static_cast<int>(r.int_field(n, "min_calls", what, out.min_calls, 1, 1000000));
  if (auto v = ratio_field(r, n, "failure_rate", what)) out.failure_rate = *v;
  if (auto v = ratio_field(r, n, "timeout_rate", what)) out.timeout_rate = *v;
  if (auto v = ratio_field(r, n, "slow_rate", what)) out.slow_rate = *v;
  out.consecutive_failures =
      static_cast<int>(r.int_field(n, "consecutive_failures", what, out.consecutive_failures, 0, 1000000));
  out.min_hung_calls = static_cast<int>(r.int_field(n, "min_hung_calls", what, out.min_hung_calls, 0, 1000000));
  if (auto v = r.number_field(n, "latency_drift", what)) {
    if (*v != 0 && *v <= 1) {
      r.error(n["latency_drift"], what + ".latency_drift must be a factor above 1 (or 0 for off)");
    } else {
      out.drift_factor = *v;
    }
  }
  out.open_base = r.duration_field(n, "open", what, out.open_base);
  out.open_max = r.duration_field(n, "max_open", what, std::max(out.open_max, out.open_base));
  if (out.open_max < out.open_base) r.error(n["max_open"], what + ".max_open is shorter than open");
  out.half_open_probes = static_cast<int>(r.int_field(n, "half_open_probes", what, out.half_open_probes, 1, 1000));
  if (auto v = ratio_field(r, n, "probe_success_ratio", what)) out.probe_success_ratio = *v;
  out.slow_start = r.duration_field(n, "slow_start", what, out.slow_start, Millis(0));
  if (auto v = ratio_field(r, n, "min_delivery_rate", what)) out.min_delivery_rate = *v;
}

void parse_health(YamlReader& r, const YAML::Node& n, const std::string& what, policy::HealthConfig& out) {
  if (!n) return;
  if (!r.is_map(n, what)) return;
  r.only_keys(n, what, {"window", "slow_call", "baseline_window"});
  const Millis window = r.duration_field(n, "window", what, out.bucket * out.buckets, Millis(1000));
  out.bucket = std::max(Millis(100), window / out.buckets);
  out.slow_call = r.duration_field(n, "slow_call", what, out.slow_call);
  const Millis baseline = r.duration_field(n, "baseline_window", what, out.baseline_bucket * out.baseline_buckets,
                                           Millis(10000));
  out.baseline_bucket = std::max(Millis(1000), baseline / out.baseline_buckets);
}

}  // namespace tollgate::config::detail
