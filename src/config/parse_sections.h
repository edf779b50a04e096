#pragma once
// Internal to config/: one parser per top-level section of the file, and the
// checks that span sections (a capability's providers exist, templates only name
// declared params, ...). Each records problems in the reader and keeps going.

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace tollgate::config::detail {

void parse_server(YamlReader& r, const YAML::Node& n, ServerConfig& out);
void parse_callers(YamlReader& r, const YAML::Node& n, std::vector<CallerConfig>& out);
void parse_capabilities(YamlReader& r, const YAML::Node& n,
                        std::map<std::string, CapabilityConfig>& out);
void parse_providers(YamlReader& r, const YAML::Node& n,
                     std::map<std::string, ProviderConfig>& out);
void cross_check(YamlReader& r, const Config& cfg);

// Policy settings shared by several sections (parse_policies.cc).
void parse_admin(YamlReader& r, const YAML::Node& n, AdminConfig& out);
void parse_store(YamlReader& r, const YAML::Node& n, StoreConfig& out);
void parse_log(YamlReader& r, const YAML::Node& n, LogConfig& out);
void parse_test_traffic(YamlReader& r, const YAML::Node& n, TestTrafficConfig& out);
void parse_latency_model(YamlReader& r, const YAML::Node& n, const std::string& what, policy::LatencyModel& out);
std::optional<Traffic> parse_traffic(std::string_view s);
void parse_jobs(YamlReader& r, const YAML::Node& n, JobsConfig& out);
void parse_callbacks(YamlReader& r, const YAML::Node& n, const std::string& what, CallbackConfig& out);
void parse_events(YamlReader& r, const YAML::Node& n, const std::string& what, ProviderConfig& p);
void parse_inbound(YamlReader& r, const YAML::Node& n, InboundConfig& out);
void parse_queues(YamlReader& r, const YAML::Node& n, QueuesConfig& out);
void parse_shared(YamlReader& r, const YAML::Node& n, SharedConfig& out);
void parse_limits(YamlReader& r, const YAML::Node& n, const std::string& what, LimitsConfig& out);
void parse_breaker(YamlReader& r, const YAML::Node& n, const std::string& what, policy::BreakerConfig& out);
void parse_health(YamlReader& r, const YAML::Node& n, const std::string& what, policy::HealthConfig& out);
// A ratio in [0, 1] (or up to `max`).
std::optional<double> ratio_field(YamlReader& r, const YAML::Node& map, const char* key, const std::string& what,
                                  double max = 1.0);
bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port);

}  // namespace tollgate::config::detail
