// POST /admin/recordings: an operator's (or another gateway's) export, imported
// into the routes' recorders. Whatever the document, it is validated whole and
// either imported or refused with an Error; nothing half-imports.
#include <boost/json/parse.hpp>

#include <cstdio>
#include <cstdlib>

#include "admin/recordings.h"
#include "config/loader.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/mocks/fake_transport.h"

using namespace tollgate;

namespace {

constexpr const char* kConfig = R"(callers:
  - name: c
    key_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    capabilities: ["*"]
capabilities:
  sms.send:
    providers: [acme, zeta]
    params: {to: {type: string}}
providers:
  acme:
    base_url: http://acme.test
    operations:
      sms.send: {request: {path: /x}}
  zeta:
    base_url: http://zeta.test
    operations:
      sms.send: {request: {path: /x}}
)";

struct World {
  World() {
    auto cfg = config::load_config_text(kConfig, "fuzz.yaml");
    if (!cfg.ok()) {
      for (const auto& p : cfg.problems) std::fprintf(stderr, "%s\n", config::format_problem("fuzz.yaml", p).c_str());
      std::abort();
    }
    std::vector<config::Problem> problems;
    runtime = engine::Runtime::build(cfg.config, 1, registry, testing::fake_endpoint, problems);
    if (!runtime) std::abort();
  }
  engine::StateRegistry registry;
  std::shared_ptr<const engine::Runtime> runtime;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  boost::system::error_code ec;
  auto doc = boost::json::parse(fuzz::as_text(data, size), ec);
  if (ec) return 0;
  auto imported = admin::import_recordings(*w.runtime, doc);
  if (imported) (void)admin::export_recordings(*w.runtime, SteadyTime{} + std::chrono::hours(1));
  return 0;
}
