#include "config/yaml_reader.h"

#include <charconv>
#include <cstdlib>
#include <map>

namespace tollgate::config::detail {

namespace {
thread_local const std::vector<IncludedTree>* t_included = nullptr;
}  // namespace

IncludeScope::IncludeScope(const std::vector<IncludedTree>* included) : previous_(t_included) {
  t_included = included;
}

IncludeScope::~IncludeScope() { t_included = previous_; }

bool within_limits(const YAML::Node& root, int max_depth, std::size_t max_nodes) {
  // Iterative, so the walk itself cannot exhaust the stack; a cyclic alias
  // ("a: &a {b: *a}") exceeds the depth, an alias bomb the node count.
  std::vector<std::pair<YAML::Node, int>> todo{{root, 0}};
  std::size_t seen = 0;
  while (!todo.empty()) {
    auto [n, depth] = todo.back();
    todo.pop_back();
    if (++seen > max_nodes || depth > max_depth) return false;
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        todo.emplace_back(it->first, depth + 1);
        todo.emplace_back(it->second, depth + 1);
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) todo.emplace_back(item, depth + 1);
    }
  }
  return true;
}

void collect_nodes(const YAML::Node& n, std::vector<YAML::Node>& out) {
  out.push_back(n);
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      out.push_back(it->first);
      collect_nodes(it->second, out);
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) collect_nodes(item, out);
  }
}

SourceMark mark_of(const YAML::Node& n) {
  if (!n) return {};
  const auto m = n.Mark();
  if (m.is_null()) return {};
  SourceMark out{m.line + 1, m.column + 1, {}};
  if (t_included) {
    for (const auto& tree : *t_included) {
      for (const auto& node : tree.nodes) {
        if (node.is(n)) {
          out.file = tree.path;
          return out;
        }
      }
    }
  }
  return out;
}

void expand_merge_keys(YAML::Node n) {
  if (n.IsSequence()) {
    for (auto item : n) expand_merge_keys(item);
    return;
  }
  if (!n.IsMap()) return;
  const YAML::Node merge = n["<<"];
  if (merge) {
    std::vector<YAML::Node> sources;
    if (merge.IsMap()) sources.push_back(merge);
    if (merge.IsSequence()) {
      for (const auto& s : merge) {
        if (s.IsMap()) sources.push_back(s);
      }
    }
    if (sources.size() == (merge.IsMap() ? 1u : merge.size())) {
      n.remove("<<");
      for (const auto& src : sources) {
        for (auto it = src.begin(); it != src.end(); ++it) {
          const std::string key = it->first.as<std::string>("");
          if (!n[key]) n[key] = it->second;
        }
      }
    }
  }
  for (auto it = n.begin(); it != n.end(); ++it) expand_merge_keys(it->second);
}

void YamlReader::error(const YAML::Node& at, std::string message) {
  error(mark_of(at), std::move(message));
}

void YamlReader::error(SourceMark at, std::string message) {
  problems_.push_back({at, std::move(message)});
}

bool YamlReader::is_map(const YAML::Node& n, std::string_view what) {
  if (!n.IsMap()) {
    error(n, std::string(what) + " must be a mapping");
    return false;
  }
  return true;
}

void YamlReader::check_duplicate_keys(const YAML::Node& n) {
  if (n.IsMap()) {
    std::map<std::string, int> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.as<std::string>("");
      const int line = mark_of(it->first).line;
      if (auto [pos, fresh] = seen.emplace(key, line); !fresh) {
        error(it->first, "duplicate key '" + key + "' (first at line " + std::to_string(pos->second) + ")");
      }
      check_duplicate_keys(it->second);
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) check_duplicate_keys(item);
  }
}

void YamlReader::only_keys(const YAML::Node& map, std::string_view what,
                           std::initializer_list<std::string_view> allowed) {
  if (!map.IsMap()) return;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = it->first.as<std::string>("");
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
      }
      error(it->first, "unknown field '" + key + "' in " + std::string(what) + " (known: " + list + ")");
    }
  }
}

std::optional<std::string> YamlReader::text(const YAML::Node& n, std::string_view what,
                                            bool secret) {
  if (!n.IsScalar()) {
    error(n, std::string(what) + " must be a scalar value");
    return std::nullopt;
  }
  const std::string& raw = n.Scalar();
  std::string out;
  size_t pos = 0;
  bool ok = true;
  while (pos < raw.size()) {
    const size_t start = raw.find("${ENV:", pos);
    if (start == std::string::npos) {
      out.append(raw, pos);
      break;
    }
    out.append(raw, pos, start - pos);
    const size_t end = raw.find('}', start);
    if (end == std::string::npos) {
      error(n, std::string(what) + ": unterminated ${ENV:...}");
      return std::nullopt;
    }
    std::string spec = raw.substr(start + 6, end - start - 6);
    std::optional<std::string> fallback;
    if (const auto d = spec.find(":-"); d != std::string::npos) {
      fallback = spec.substr(d + 2);
      spec.resize(d);
    }
    if (auto v = env_(spec)) {
      out += *v;
    } else if (fallback) {
      out += *fallback;
    } else {
      error(n, std::string(what) + ": environment variable " + spec + " is not set");
      ok = false;
    }
    pos = end + 1;
  }
  (void)secret;  // values are never echoed in messages above; the flag documents intent
  if (!ok) return std::nullopt;
  return out;
}

std::string YamlReader::string_field(const YAML::Node& map, const char* key,
                                     std::string_view what, std::string fallback, bool secret) {
  const YAML::Node n = map[key];
  if (!n) return fallback;
  auto v = text(n, std::string(what) + "." + key, secret);
  return v ? *v : fallback;
}

bool YamlReader::bool_field(const YAML::Node& map, const char* key, std::string_view what,
                            bool fallback) {
  const YAML::Node n = map[key];
  if (!n) return fallback;
  auto v = text(n, std::string(what) + "." + key);
  if (!v) return fallback;
  if (*v == "true" || *v == "yes" || *v == "on") return true;
  if (*v == "false" || *v == "no" || *v == "off") return false;
  error(n, std::string(what) + "." + key + " must be true or false, not '" + *v + "'");
  return fallback;
}

long long YamlReader::int_field(const YAML::Node& map, const char* key, std::string_view what,
                                long long fallback, long long min, long long max) {
  const YAML::Node n = map[key];
  if (!n) return fallback;
  auto v = text(n, std::string(what) + "." + key);
  if (!v) return fallback;
  long long out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) {
    error(n, std::string(what) + "." + key + " must be an integer, not '" + *v + "'");
    return fallback;
  }
  if (out < min || out > max) {
    error(n, std::string(what) + "." + key + " must be between " + std::to_string(min) + " and " +
                 std::to_string(max) + ", not " + *v);
    return fallback;
  }
  return out;
}

std::optional<double> YamlReader::number_field(const YAML::Node& map, const char* key,
                                               std::string_view what) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  auto v = text(n, std::string(what) + "." + key);
  if (!v) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  if (v->empty() || end != v->c_str() + v->size()) {
    error(n, std::string(what) + "." + key + " must be a number, not '" + *v + "'");
    return std::nullopt;
  }
  return d;
}

Millis YamlReader::duration_field(const YAML::Node& map, const char* key, std::string_view what,
                                  Millis fallback, Millis min) {
  const YAML::Node n = map[key];
  if (!n) return fallback;
  auto v = text(n, std::string(what) + "." + key);
  if (!v) return fallback;
  auto d = parse_duration(*v);
  if (!d) {
    error(n, std::string(what) + "." + key + " must be a duration such as 250ms, 3s or 1m, not '" +
                 *v + "'");
    return fallback;
  }
  if (*d < min) {
    error(n, std::string(what) + "." + key + " must be at least " + std::to_string(min.count()) +
                 "ms");
    return fallback;
  }
  return *d;
}

std::vector<std::string> YamlReader::string_list(const YAML::Node& map, const char* key,
                                                 std::string_view what) {
  std::vector<std::string> out;
  const YAML::Node n = map[key];
  if (!n) return out;
  if (!n.IsSequence()) {
    error(n, std::string(what) + "." + key + " must be a list");
    return out;
  }
  for (const auto& item : n) {
    if (auto v = text(item, std::string(what) + "." + key)) out.push_back(*v);
  }
  return out;
}

}  // namespace tollgate::config::detail
