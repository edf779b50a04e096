#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

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

// Lines to stdout (fd 1) in batches: spdlog's stdout sink flushes after every
// line, a write(2) per call on the call path. This one writes when 64 KiB are
// buffered, on flush() (every second, and at once for warnings and errors), and
// at exit. Both loggers share it, so their lines never interleave.
class BufferedStdout final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  BufferedStdout() { buffer_.reserve(kLimit + 4096); }
  ~BufferedStdout() override { write_out(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    // The logger's own formatter: each logger has its own pattern.
    const auto it = formatters_.find(std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    if (it != formatters_.end() && !it->second) {
      // Lines that are whole already (JSON call lines): copied once, as they are.
      buffer_.append(msg.payload.data(), msg.payload.size());
      buffer_.push_back('\n');
    } else {
      spdlog::memory_buf_t line;
      (it != formatters_.end() ? *it->second : *formatter_).format(msg, line);
      buffer_.append(line.data(), line.size());
    }
    if (buffer_.size() >= kLimit) write_out();
  }
  void flush_() override { write_out(); }

 public:
  // The formatter a logger uses for this sink, by logger name; null: the
  // message is the line.
  void set_formatter_for(const std::string& logger, std::unique_ptr<spdlog::formatter> f) {
    std::lock_guard lock(mutex_);
    formatters_[logger] = std::move(f);
  }

 private:
  static constexpr std::size_t kLimit = 64 * 1024;

  void write_out() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
      const ssize_t n = ::write(1, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stdout gone: the lines are dropped, the calls are not affected
      done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
  }

  std::string buffer_;
  std::map<std::string, std::unique_ptr<spdlog::formatter>, std::less<>> formatters_;
};

spdlog::level::level_enum level_of(const std::string& s) {
  if (s == "debug") return spdlog::level::debug;
  if (s == "warn") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  return spdlog::level::info;
}

}  // namespace

void setup_logging(const config::LogConfig& cfg) {
  auto out = std::make_shared<BufferedStdout>();
  auto main = std::make_shared<spdlog::logger>("tollgate", out);
  auto calls = std::make_shared<spdlog::logger>("calls", out);
  if (cfg.json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonMessage>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
    out->set_formatter_for("tollgate", std::move(f));
    out->set_formatter_for("calls", nullptr);  // each call line is a JSON object already
  } else {
    for (const char* name : {"tollgate", "calls"}) {
      out->set_formatter_for(name, std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                                               spdlog::pattern_time_type::utc));
    }
  }
  // Operational messages are few and written at once (with the call lines
  // before them); call lines at least every second, at once for warnings and errors.
  main->flush_on(spdlog::level::trace);
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
