#pragma once
// Metrics: counters, gauges and histograms with bounded label sets, rendered in the
// Prometheus text exposition format (version 0.0.4).
//
// A Family is one metric name with fixed label names; `with(values...)` finds (or
// creates) the child for those label values. Lookups hash the values without
// allocating and take a shared lock; only the first use of a label combination
// takes the exclusive lock. Children are never removed, so a reference stays
// valid for the registry's lifetime. Label values must come from bounded sets
// (config names, enums) — never ids, phone numbers or other per-call data.
//
// Collectors add samples computed at scrape time (breaker states, quotas, queue
// depth). Thread-safe throughout.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tollgate::metrics {

class Counter {
 public:
  void inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  std::uint64_t bucket(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }  // not cumulative
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 (+Inf)
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 1 ms to 30 s.
std::vector<double> latency_buckets();

enum class Type { kCounter, kGauge, kHistogram };

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  // Appends HELP, TYPE and every child's samples.
  virtual void render(std::string& out) const = 0;

 protected:
  void render_header(std::string& out) const;
  void render_labels(std::string& out, const std::vector<std::string>& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) const;

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> labels_;
};

template <typename T>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)), bounds_(std::move(bounds)) {}

  // The child for these label values (as many as the family has labels).
  T& with(std::initializer_list<std::string_view> values);
  void render(std::string& out) const override;

 private:
  struct Child {
    std::vector<std::string> values;
    std::unique_ptr<T> metric;
  };
  static std::uint64_t hash(std::initializer_list<std::string_view> values);
  static bool equal(const std::vector<std::string>& a, std::initializer_list<std::string_view> b);

  const std::vector<double> bounds_;
  mutable std::shared_mutex mu_;
  std::unordered_multimap<std::uint64_t, Child> children_;
};

// Writes samples from a collector.
class SampleWriter {
 public:
  explicit SampleWriter(std::string& out) : out_(out) {}
  // Declares a metric (HELP/TYPE) once per scrape; then add samples.
  void family(std::string_view name, std::string_view help, Type type);
  void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              double value);

 private:
  std::string& out_;
};

class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels);
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> labels,
                               std::vector<double> bounds = latency_buckets());
  // Called on every scrape, after the families.
  void add_collector(std::function<void(SampleWriter&)> collector);

  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void(SampleWriter&)>> collectors_;
};

// Formats a sample value as Prometheus does (integers without a fraction).
void append_value(std::string& out, double v);
// Escapes a label value (backslash, quote, newline).
void append_label_value(std::string& out, std::string_view v);

}  // namespace tollgate::metrics
