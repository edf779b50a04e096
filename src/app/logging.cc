#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "engine/call_log.h"

namespace tollgate::app {
namespace {

// %* : the message, escaped for the inside of a JSON string.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(ch);
      } else if (c < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        dest.append(esc, esc + 6);
      } else {
        dest.push_back(ch);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

spdlog::level::level_enum level_of(const std::string& s) {
  if (s == "debug") return spdlog::level::debug;
  if (s == "warn") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  return spdlog::level::info;
}

}  // namespace

void setup_logging(const config::LogConfig& cfg) {
  // One sink each: a formatter belongs to a sink. (stdio locks stdout per write,
  // so lines of the two never interleave.)
  auto main = std::make_shared<spdlog::logger>("tollgate", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  auto calls = std::make_shared<spdlog::logger>("calls", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  if (cfg.json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonMessage>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
    main->set_formatter(std::move(f));
    calls->set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
  } else {
    main->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                                    spdlog::pattern_time_type::utc));
    calls->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                                     spdlog::pattern_time_type::utc));
  }
  // Lines are written in batches (a flush per line would cost a syscall per call),
  // at least every second, and at once for warnings and errors.
  main->flush_on(spdlog::level::warn);
  calls->flush_on(spdlog::level::warn);
  spdlog::flush_every(std::chrono::seconds(1));
  spdlog::register_logger(calls);
  spdlog::set_default_logger(main);
  engine::set_call_log_json(cfg.json);
  apply_log_level(cfg);
}

void apply_log_level(const config::LogConfig& cfg) {
  const auto level = level_of(cfg.level);
  spdlog::default_logger()->set_level(level);
  if (auto calls = spdlog::get("calls")) calls->set_level(level);
}

}  // namespace tollgate::app
