// Config loading from YAML text, with an included file resolved in memory: the
// input is the main file, then "\n#---include---\n", then the included file.
// Every problem must come back as a Problem, never as a crash or an exception.
#include "config/loader.h"
#include "tests/fuzz/fuzz_input.h"

using namespace tollgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split(fuzz::as_text(data, size), "\n#---include---\n", 2);
  const std::string included = parts.size() > 1 ? std::string(parts[1]) : std::string();
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "TOKEN") return std::string("t0ken-value-123456");
    return std::nullopt;
  };
  auto files = [&](const std::string& path) -> std::optional<std::string> {
    if (path == "/fuzz/inc.yaml") return included;
    return std::nullopt;
  };
  auto out = config::load_config_text(parts[0], "/fuzz/main.yaml", env, files);
  for (const auto& p : out.problems) (void)config::format_problem("/fuzz/main.yaml", p);
  return 0;
}
