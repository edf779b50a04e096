#pragma once
// Loads and validates a YAML config file into an immutable Config snapshot,
// collecting every problem (with its line) instead of stopping at the first.
// Exceptions from yaml-cpp stay inside; callers get values. Any thread may call.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace tollgate::config {

struct Problem {
  SourceMark mark;
  std::string message;
};

// Looks up an environment variable for `${ENV:NAME}`; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> process_env(const std::string& name);

struct LoadOutcome {
  std::shared_ptr<const Config> config;  // null when problems is not empty
  std::vector<Problem> problems;
  bool ok() const { return config != nullptr; }
};

// Reads an included file; the default reads the file system (core/process.h).
using FileReader = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> read_file_system(const std::string& path);

LoadOutcome load_config_file(const std::string& path, const EnvLookup& env = process_env);
LoadOutcome load_config_text(std::string_view yaml, const std::string& source,
                             const EnvLookup& env = process_env, const FileReader& files = read_file_system);

// "file:12:5: message"
std::string format_problem(const std::string& source, const Problem& p);

// Parses "250ms", "3s", "2m", "1h" or a bare number of milliseconds.
std::optional<Millis> parse_duration(std::string_view text);

}  // namespace tollgate::config
