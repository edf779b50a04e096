#pragma once
// Internal to config/: typed access to yaml-cpp nodes that records problems with
// their line instead of throwing, and expands ${ENV:NAME} in scalars.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"

namespace tollgate::config::detail {

SourceMark mark_of(const YAML::Node& n);

// A file merged into the config by `include:`, with every node of its tree, so
// mark_of() can name the file a node came from.
struct IncludedTree {
  std::string path;
  std::vector<YAML::Node> nodes;
};
// Whether a YAML tree is at most `max_depth` deep and `max_nodes` large, counting
// nodes reached through aliases each time. Checked before any recursive pass.
bool within_limits(const YAML::Node& root, int max_depth, std::size_t max_nodes);
inline constexpr int kMaxYamlDepth = 64;
inline constexpr std::size_t kMaxYamlNodes = 200000;

void collect_nodes(const YAML::Node& n, std::vector<YAML::Node>& out);

// While alive, mark_of() consults `included` (one loader at a time per thread).
class IncludeScope {
 public:
  explicit IncludeScope(const std::vector<IncludedTree>* included);
  ~IncludeScope();
  IncludeScope(const IncludeScope&) = delete;
  IncludeScope& operator=(const IncludeScope&) = delete;

 private:
  const std::vector<IncludedTree>* previous_;
};

// Applies YAML merge keys (`<<: *anchor`, or a list of anchors) in place, which
// yaml-cpp leaves as an ordinary "<<" key: keys written in the mapping win over
// merged ones. Lets operators share settings between providers.
void expand_merge_keys(YAML::Node n);

class YamlReader {
 public:
  YamlReader(std::vector<Problem>& problems, const EnvLookup& env)
      : problems_(problems), env_(env) {}

  void error(const YAML::Node& at, std::string message);
  void error(SourceMark at, std::string message);

  // Reports a problem unless `n` is a map (or absent, when optional).
  bool is_map(const YAML::Node& n, std::string_view what);
  // Reports every mapping in the tree that repeats a key (YAML would silently keep
  // one of them).
  void check_duplicate_keys(const YAML::Node& n);
  // Reports each key of `map` not in `allowed`.
  void only_keys(const YAML::Node& map, std::string_view what,
                 std::initializer_list<std::string_view> allowed);

  // A scalar's text with ${ENV:NAME} and ${ENV:NAME:-default} expanded.
  // `secret` keeps the value out of error messages.
  std::optional<std::string> text(const YAML::Node& n, std::string_view what, bool secret = false);

  std::string string_field(const YAML::Node& map, const char* key, std::string_view what,
                           std::string fallback, bool secret = false);
  bool bool_field(const YAML::Node& map, const char* key, std::string_view what, bool fallback);
  long long int_field(const YAML::Node& map, const char* key, std::string_view what,
                      long long fallback, long long min, long long max);
  std::optional<double> number_field(const YAML::Node& map, const char* key,
                                     std::string_view what);
  Millis duration_field(const YAML::Node& map, const char* key, std::string_view what,
                        Millis fallback, Millis min = Millis(1));
  std::vector<std::string> string_list(const YAML::Node& map, const char* key,
                                       std::string_view what);

 private:
  std::vector<Problem>& problems_;
  const EnvLookup& env_;
};

}  // namespace tollgate::config::detail
