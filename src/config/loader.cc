#include "config/loader.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <tuple>

#include "config/parse_sections.h"
#include "config/yaml_reader.h"
#include "core/process.h"

namespace tollgate::config {

using detail::mark_of;
using detail::YamlReader;

std::optional<std::string> process_env(const std::string& name) {
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  return std::nullopt;
}

std::optional<Millis> parse_duration(std::string_view text) {
  long long n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n < 0) return std::nullopt;
  const std::string_view unit(p, text.data() + text.size() - p);
  if (unit.empty() || unit == "ms") return Millis(n);
  if (unit == "s") return Millis(n * 1000);
  if (unit == "m") return Millis(n * 60'000);
  if (unit == "h") return Millis(n * 3'600'000);
  return std::nullopt;
}

std::string format_problem(const std::string& source, const Problem& p) {
  std::string out = p.mark.file.empty() ? source : p.mark.file;
  if (p.mark.line > 0) {
    out += ":" + std::to_string(p.mark.line) + ":" + std::to_string(p.mark.column);
  }
  return out + ": " + p.message;
}

LoadOutcome load_config_file(const std::string& path, const EnvLookup& env) {
  auto text = read_file(path);
  if (!text) {
    LoadOutcome out;
    out.problems.push_back({{}, "cannot open config file"});
    return out;
  }
  return load_config_text(*text, path, env);
}

namespace {

std::string resolve_include(const std::string& source, const std::string& path) {
  if (path.starts_with("/")) return path;
  const size_t slash = source.rfind('/');
  return slash == std::string::npos ? path : source.substr(0, slash + 1) + path;
}

// `include: [file, ...]`: each file holds `providers:` and/or `capabilities:`
// entries, merged into the main config's (a name defined twice is a problem).
// Problems inside an included file name that file and its line.
void merge_includes(YamlReader& r, YAML::Node root, const std::string& source,
                    std::vector<detail::IncludedTree>& included, const FileReader& files) {
  const YAML::Node list = root["include"];
  if (!list.IsSequence()) {
    r.error(list, "include must be a list of files");
    return;
  }
  for (const auto& item : list) {
    auto name = r.text(item, "include");
    if (!name) continue;
    const std::string path = resolve_include(source, *name);
    auto text = files(path);
    if (!text) {
      r.error(item, "include: cannot open " + path);
      continue;
    }
    YAML::Node doc;
    try {
      doc = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      r.error(SourceMark{e.mark.line + 1, e.mark.column + 1, path}, "YAML syntax: " + e.msg);
      continue;
    }
    if (!detail::within_limits(doc, detail::kMaxYamlDepth, detail::kMaxYamlNodes)) {
      r.error(SourceMark{1, 1, path}, "the file nests deeper than " + std::to_string(detail::kMaxYamlDepth) +
                                          " levels or its aliases expand too far (a cyclic alias?)");
      continue;
    }
    included.push_back({path, {}});
    detail::collect_nodes(doc, included.back().nodes);
    r.check_duplicate_keys(doc);
    detail::expand_merge_keys(doc);
    if (!doc.IsMap()) {
      r.error(SourceMark{1, 1, path}, "an included file must be a mapping with providers and/or capabilities");
      continue;
    }
    r.only_keys(doc, "an included file", {"providers", "capabilities"});
    for (const char* section : {"providers", "capabilities"}) {
      const YAML::Node part = doc[section];
      if (!part) continue;
      if (!r.is_map(part, section)) continue;
      if (!root[section]) root[section] = YAML::Node(YAML::NodeType::Map);
      YAML::Node target = root[section];
      if (!target.IsMap()) continue;  // the main file's section is not a mapping: reported there
      for (auto it = part.begin(); it != part.end(); ++it) {
        const std::string key = it->first.as<std::string>("");
        if (target[key]) {
          r.error(it->first, std::string(section) + "." + key + " is already defined (by the main file or an earlier include)");
          continue;
        }
        target.force_insert(it->first, it->second);  // the key keeps its file and line
      }
    }
  }
}

}  // namespace

std::optional<std::string> read_file_system(const std::string& path) { return read_file(path); }

namespace {
LoadOutcome load_config_text_impl(std::string_view yaml, const std::string& source, const EnvLookup& env,
                                  const FileReader& files);
}  // namespace

LoadOutcome load_config_text(std::string_view yaml, const std::string& source,
                             const EnvLookup& env, const FileReader& files) {
  // yaml-cpp reports some misuse of a node's type by throwing; every such path is
  // guarded, and this is the net under them: a problem, never an exception.
  try {
    return load_config_text_impl(yaml, source, env, files);
  } catch (const std::exception& e) {
    LoadOutcome out;
    out.problems.push_back({{1, 1}, std::string("the config could not be read: ") + e.what()});
    return out;
  }
}

namespace {
LoadOutcome load_config_text_impl(std::string_view yaml, const std::string& source, const EnvLookup& env,
                                  const FileReader& files) {
  LoadOutcome out;
  std::vector<detail::IncludedTree> included;
  const detail::IncludeScope scope(&included);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    out.problems.push_back({{e.mark.line + 1, e.mark.column + 1}, "YAML syntax: " + e.msg});
    return out;
  }
  YamlReader r(out.problems, env);
  if (!detail::within_limits(root, detail::kMaxYamlDepth, detail::kMaxYamlNodes)) {
    out.problems.push_back({{1, 1}, "the config nests deeper than " + std::to_string(detail::kMaxYamlDepth) +
                                        " levels or its aliases expand too far (a cyclic alias?)"});
    return out;
  }
  r.check_duplicate_keys(root);
  detail::expand_merge_keys(root);
  if (!root.IsMap()) {
    r.error(root, "the config file must be a mapping with server, callers, capabilities, providers");
    return out;
  }
  r.only_keys(root, "the config file",
              {"include", "server", "admin", "log", "test_traffic", "store", "shared", "inbound", "queues", "jobs", "callers",
               "capabilities", "providers"});
  if (root["include"]) merge_includes(r, root, source, included, files);

  auto cfg = std::make_shared<Config>();
  cfg->source = source;
  detail::parse_server(r, root["server"], cfg->server);
  detail::parse_admin(r, root["admin"], cfg->admin);
  detail::parse_store(r, root["store"], cfg->store);
  detail::parse_shared(r, root["shared"], cfg->shared);
  detail::parse_inbound(r, root["inbound"], cfg->inbound);
  detail::parse_queues(r, root["queues"], cfg->queues);
  detail::parse_log(r, root["log"], cfg->log);
  detail::parse_test_traffic(r, root["test_traffic"], cfg->test_traffic);
  detail::parse_jobs(r, root["jobs"], cfg->jobs);
  detail::parse_callers(r, root["callers"], cfg->callers);
  detail::parse_capabilities(r, root["capabilities"], cfg->capabilities);
  detail::parse_providers(r, root["providers"], cfg->providers);
  detail::cross_check(r, *cfg);

  if (out.problems.empty()) {
    out.config = std::move(cfg);
  } else {
    std::stable_sort(out.problems.begin(), out.problems.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.mark.file, a.mark.line) < std::tie(b.mark.file, b.mark.line);
    });
  }
  return out;
}
}  // namespace

bool CallerConfig::allows(std::string_view capability) const {
  for (const auto& c : capabilities) {
    if (c == "*" || c == capability) return true;
    if (c.size() >= 2 && c.ends_with(".*") &&
        capability.starts_with(std::string_view(c).substr(0, c.size() - 1))) {
      return true;
    }
  }
  return false;
}

std::optional<HostPattern> parse_host_pattern(std::string_view text) {
  HostPattern p;
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // brackets are for IPv6 only
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!port.empty() || text.ends_with(":")) {
    unsigned n = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n == 0 || n > 65535) {
      return std::nullopt;
    }
    p.port = static_cast<int>(n);
  }
  if (host.starts_with("*.")) {
    p.wildcard = true;
    host.remove_prefix(2);
  }
  if (auto ip = canonical_ip(host); !ip.empty()) {
    if (p.wildcard) return std::nullopt;
    p.host = ip;
    p.ip = true;
    return p;
  }
  // A host name: check it the way a URL's host is checked (and nothing but a host).
  if (host.find_first_of("/?#@[]") != std::string_view::npos) return std::nullopt;
  auto as_url = parse_http_url("http://" + std::string(host) + "/");
  if (!as_url || as_url->host_is_ip) return std::nullopt;
  p.host = as_url->host;
  return p;
}

CallbackConfig::Match CallbackConfig::match(const Url& url) const {
  Match best = Match::kNone;
  for (const auto& p : patterns) {
    if (p.port >= 0 && p.port != url.port) continue;
    if (p.ip != url.host_is_ip) continue;
    if (!p.wildcard && p.host == url.host) return Match::kExact;
    if (p.wildcard && url.host.size() > p.host.size() + 1 && url.host.ends_with(p.host) &&
        url.host[url.host.size() - p.host.size() - 1] == '.') {
      best = Match::kWildcard;
    }
  }
  return best;
}

bool CallbackConfig::allows_address(const Url& url, Match m, std::string_view ip) const {
  if (m == Match::kNone) return false;
  const std::string canonical = canonical_ip(ip);
  switch (address_scope(canonical)) {
    case AddressScope::kPublic:
      return true;
    case AddressScope::kLoopback:
    case AddressScope::kPrivate:
      return m == Match::kExact;
    case AddressScope::kLinkLocal:
    case AddressScope::kUnspecified:
    case AddressScope::kMulticast:
      return m == Match::kExact && url.host_is_ip && url.host == canonical;
    case AddressScope::kInvalid:
      return false;
  }
  return false;
}

const ParamSpec* CapabilityConfig::param(std::string_view n) const {
  for (const auto& p : params) {
    if (p.name == n) return &p;
  }
  return nullptr;
}

const CapabilityConfig* Config::capability(std::string_view name) const {
  auto it = capabilities.find(std::string(name));
  return it == capabilities.end() ? nullptr : &it->second;
}

const ProviderConfig* Config::provider(std::string_view name) const {
  auto it = providers.find(std::string(name));
  return it == providers.end() ? nullptr : &it->second;
}

std::string_view to_string(ParamType t) {
  switch (t) {
    case ParamType::kString: return "string";
    case ParamType::kInteger: return "integer";
    case ParamType::kNumber: return "number";
    case ParamType::kBoolean: return "boolean";
    case ParamType::kObject: return "object";
    case ParamType::kArray: return "array";
  }
  return "string";
}

}  // namespace tollgate::config
