#pragma once
// A Runtime built from YAML text for unit tests: fake endpoints (no sockets, no
// files), one worker. Every config or build problem is a test failure; null when
// there was one.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"
#include "engine/runtime.h"
#include "tests/mocks/fake_transport.h"

namespace tollgate::testing {

inline std::shared_ptr<const engine::Runtime> test_runtime(const std::string& yaml, engine::StateRegistry& registry,
                                                           const std::string& name = "test.yaml") {
  auto cfg = config::load_config_text(yaml, name);
  for (const auto& p : cfg.problems) ADD_FAILURE() << config::format_problem(name, p);
  if (!cfg.ok()) return nullptr;
  std::vector<config::Problem> problems;
  auto rt = engine::Runtime::build(cfg.config, 1, registry, fake_endpoint, problems);
  for (const auto& p : problems) ADD_FAILURE() << p.message;
  return rt;
}

}  // namespace tollgate::testing
