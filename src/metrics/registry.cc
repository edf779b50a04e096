#include "metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tollgate::metrics {

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

void append_value(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  out += buf;
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}

void FamilyBase::render_header(std::string& out) const {
  static constexpr const char* kTypes[] = {"counter", "gauge", "histogram"};
  out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " " + kTypes[static_cast<int>(type_)] + "\n";
}

void FamilyBase::render_labels(std::string& out, const std::vector<std::string>& values, std::string_view extra_name,
                               std::string_view extra_value) const {
  if (labels_.empty() && extra_name.empty()) return;
  out.push_back('{');
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += labels_[i];
    out += "=\"";
    append_label_value(out, values[i]);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!labels_.empty()) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
}

template <typename T>
std::uint64_t Family<T>::hash(std::initializer_list<std::string_view> values) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (auto v : values) {
    for (unsigned char c : v) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
  }
  return h;
}

template <typename T>
bool Family<T>::equal(const std::vector<std::string>& a, std::initializer_list<std::string_view> b) {
  if (a.size() != b.size()) return false;
  size_t i = 0;
  for (auto v : b) {
    if (a[i++] != v) return false;
  }
  return true;
}

template <typename T>
T& Family<T>::with(std::initializer_list<std::string_view> values) {
  const std::uint64_t h = hash(values);
  {
    std::shared_lock lock(mu_);
    auto [b, e] = children_.equal_range(h);
    for (auto it = b; it != e; ++it) {
      if (equal(it->second.values, values)) return *it->second.metric;
    }
  }
  std::unique_lock lock(mu_);
  auto [b, e] = children_.equal_range(h);
  for (auto it = b; it != e; ++it) {
    if (equal(it->second.values, values)) return *it->second.metric;
  }
  Child child;
  for (auto v : values) child.values.emplace_back(v);
  if constexpr (std::is_same_v<T, Histogram>) {
    child.metric = std::make_unique<T>(bounds_);
  } else {
    child.metric = std::make_unique<T>();
  }
  return *children_.emplace(h, std::move(child))->second.metric;
}

template <typename T>
void Family<T>::render(std::string& out) const {
  render_header(out);
  std::shared_lock lock(mu_);
  // Stable output: children sorted by their label values.
  std::vector<const Child*> sorted;
  for (const auto& [h, c] : children_) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(), [](const Child* a, const Child* b) { return a->values < b->values; });
  for (const Child* c : sorted) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const Histogram& hist = *c->metric;
      std::uint64_t cumulative = 0;
      for (size_t i = 0; i <= hist.bounds().size(); ++i) {
        cumulative += hist.bucket(i);
        std::string le;
        if (i < hist.bounds().size()) {
          append_value(le, hist.bounds()[i]);
        } else {
          le = "+Inf";
        }
        out += name_ + "_bucket";
        render_labels(out, c->values, "le", le);
        out.push_back(' ');
        append_value(out, static_cast<double>(cumulative));
        out.push_back('\n');
      }
      out += name_ + "_sum";
      render_labels(out, c->values);
      out.push_back(' ');
      append_value(out, hist.sum());
      out += "\n" + name_ + "_count";
      render_labels(out, c->values);
      out.push_back(' ');
      append_value(out, static_cast<double>(hist.count()));
      out.push_back('\n');
    } else {
      out += name_;
      render_labels(out, c->values);
      out.push_back(' ');
      append_value(out, c->metric->value());
      out.push_back('\n');
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void SampleWriter::family(std::string_view name, std::string_view help, Type type) {
  static constexpr const char* kTypes[] = {"counter", "gauge", "histogram"};
  out_ += "# HELP ";
  out_ += name;
  out_ += " ";
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += " ";
  out_ += kTypes[static_cast<int>(type)];
  out_ += "\n";
}

void SampleWriter::sample(std::string_view name,
                          std::initializer_list<std::pair<std::string_view, std::string_view>> labels, double value) {
  out_ += name;
  if (labels.size() > 0) {
    out_.push_back('{');
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_.push_back(',');
      first = false;
      out_ += k;
      out_ += "=\"";
      append_label_value(out_, v);
      out_.push_back('"');
    }
    out_.push_back('}');
  }
  out_.push_back(' ');
  append_value(out_, value);
  out_.push_back('\n');
}

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  auto f = std::make_unique<Family<Counter>>(std::move(name), std::move(help), Type::kCounter, std::move(labels));
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  auto f = std::make_unique<Family<Gauge>>(std::move(name), std::move(help), Type::kGauge, std::move(labels));
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto f = std::make_unique<Family<Histogram>>(std::move(name), std::move(help), Type::kHistogram, std::move(labels),
                                               std::move(bounds));
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

void Registry::add_collector(std::function<void(SampleWriter&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::render() const {
  std::string out;
  out.reserve(16384);
  std::lock_guard lock(mu_);
  for (const auto& f : families_) f->render(out);
  SampleWriter w(out);
  for (const auto& c : collectors_) c(w);
  return out;
}

}  // namespace tollgate::metrics
