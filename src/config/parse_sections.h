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

}  // namespace tollgate::config::detail
