#include "shadow/recorder.h"

#include <boost/json.hpp>

#include <cmath>

namespace tollgate::shadow {

namespace json = boost::json;
using policy::LogHistogram;

std::uint64_t Recording::samples() const {
  std::uint64_t n = 0;
  for (auto c : outcomes) n += c;
  return n;
}

void Recording::merge(const Recording& other) {
  latency.merge(other.latency);
  for (int i = 0; i < kOutcomes; ++i) outcomes[i] += other.outcomes[i];
}

Recorder::Recorder(Millis horizon, int buckets)
    : width_(std::max(Millis(1), horizon / std::max(1, buckets))), ring_(static_cast<size_t>(std::max(1, buckets))) {}

void Recorder::record(SteadyTime now, Micros latency, bool ok, ErrorClass cls) {
  const std::int64_t epoch = epoch_of(now);
  std::lock_guard lock(mu_);
  Bucket& b = ring_[static_cast<size_t>(epoch % static_cast<std::int64_t>(ring_.size()))];
  if (b.epoch != epoch) b = Bucket{epoch, {}};
  b.data.latency.add(latency);
  ++b.data.outcomes[static_cast<size_t>(outcome_index(ok, cls))];
}

std::int64_t Recorder::epoch_of(SteadyTime t) const {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count() / width_.count();
}

Recording Recorder::live_locked(SteadyTime now) const {
  const std::int64_t epoch = epoch_of(now);
  Recording out;
  for (const auto& b : ring_) {
    if (b.epoch < 0 || b.epoch <= epoch - static_cast<std::int64_t>(ring_.size()) || b.epoch > epoch) continue;
    out.merge(b.data);
  }
  return out;
}

Recording Recorder::snapshot(SteadyTime now) const {
  std::lock_guard lock(mu_);
  Recording out = live_locked(now);
  out.merge(imported_);
  return out;
}

Recording Recorder::live(SteadyTime now) const {
  std::lock_guard lock(mu_);
  return live_locked(now);
}

Recording Recorder::seeded() const {
  std::lock_guard lock(mu_);
  return imported_;
}

void Recorder::import(const Recording& r) {
  std::lock_guard lock(mu_);
  imported_ = r;
  for (auto& b : ring_) b = Bucket{};
}

void Recorder::restore(SteadyTime now, const Recording& live, const Recording& seeded) {
  const std::int64_t epoch = epoch_of(now);
  std::lock_guard lock(mu_);
  imported_ = seeded;
  for (auto& b : ring_) b = Bucket{};
  ring_[static_cast<size_t>(epoch % static_cast<std::int64_t>(ring_.size()))] = Bucket{epoch, live};
}

Micros sample_latency(const LogHistogram& h, double u_bucket, double u_within) {
  if (h.total() == 0) return Micros(0);
  const double target = u_bucket * static_cast<double>(h.total());
  double seen = 0;
  for (int i = 0; i < LogHistogram::kBuckets; ++i) {
    const auto c = h.count(i);
    if (c == 0) continue;
    seen += static_cast<double>(c);
    if (seen > target) {
      // Log-uniform within the bucket, matching its geometric width.
      const double lo = i == 0 ? LogHistogram::kFirstUs / LogHistogram::kGrowth : LogHistogram::upper_us(i - 1);
      const double hi = LogHistogram::upper_us(i);
      const double us = lo * std::pow(hi / lo, u_within);
      return Micros(std::llround(us));
    }
  }
  return Micros(static_cast<long long>(LogHistogram::upper_us(LogHistogram::kBuckets - 1)));
}

std::optional<Sample> Recorder::sample(SteadyTime now, std::uint64_t min_samples, double u1, double u2,
                                       double u3) const {
  const Recording r = snapshot(now);
  const auto n = r.samples();
  if (n < std::max<std::uint64_t>(1, min_samples)) return std::nullopt;
  Sample s;
  double target = u3 * static_cast<double>(n);
  for (int i = 0; i < kOutcomes; ++i) {
    target -= static_cast<double>(r.outcomes[i]);
    if (target < 0) {
      s.ok = i == 0;
      if (i > 0) s.cls = static_cast<ErrorClass>(i - 1);
      break;
    }
  }
  s.delay = sample_latency(r.latency, u1, u2);
  return s;
}

json::object to_json(const Recording& r) {
  json::array counts;
  for (int i = 0; i < LogHistogram::kBuckets; ++i) counts.push_back(r.latency.count(i));
  json::object outcomes;
  for (int i = 0; i < kOutcomes; ++i) {
    if (r.outcomes[i] == 0) continue;
    outcomes[i == 0 ? std::string_view("success") : to_string(static_cast<ErrorClass>(i - 1))] = r.outcomes[i];
  }
  return json::object{
      {"latency", {{"first_us", LogHistogram::kFirstUs}, {"growth", LogHistogram::kGrowth}, {"counts", std::move(counts)}}},
      {"outcomes", std::move(outcomes)}};
}

Result<Recording> from_json(const json::value& v) {
  auto bad = [](std::string m) { return Error::make(ErrorClass::kInvalidRequest, std::move(m)); };
  if (!v.is_object()) return bad("a recording must be an object");
  const auto& o = v.get_object();
  const auto* lat = o.if_contains("latency");
  const auto* outs = o.if_contains("outcomes");
  if (!lat || !lat->is_object() || !outs || !outs->is_object()) return bad("a recording needs latency and outcomes");
  const auto* counts = lat->get_object().if_contains("counts");
  const auto* first = lat->get_object().if_contains("first_us");
  const auto* growth = lat->get_object().if_contains("growth");
  if (!counts || !counts->is_array() || counts->get_array().size() != LogHistogram::kBuckets || !first ||
      !growth || first->to_number<double>() != LogHistogram::kFirstUs ||
      std::fabs(growth->to_number<double>() - LogHistogram::kGrowth) > 1e-9) {
    return bad("latency must have " + std::to_string(LogHistogram::kBuckets) +
               " counts with first_us 100 and growth 1.15");
  }
  Recording r;
  int i = 0;
  for (const auto& c : counts->get_array()) {
    if (!c.is_int64() && !c.is_uint64()) return bad("latency counts must be integers");
    const auto n = c.to_number<std::int64_t>();
    if (n < 0) return bad("latency counts must not be negative");
    // Put n samples in bucket i: a latency inside it.
    if (n > 0) {
      const double mid = i == 0 ? LogHistogram::kFirstUs : std::sqrt(LogHistogram::upper_us(i - 1) * LogHistogram::upper_us(i));
      r.latency.add(std::chrono::microseconds(static_cast<long long>(mid)), static_cast<std::uint64_t>(n));
    }
    ++i;
  }
  for (const auto& kv : outs->get_object()) {
    if (!kv.value().is_int64() && !kv.value().is_uint64()) return bad("outcome counts must be integers");
    const auto n = kv.value().to_number<std::int64_t>();
    if (n < 0) return bad("outcome counts must not be negative");
    int idx;
    if (kv.key() == "success") {
      idx = 0;
    } else if (auto cls = parse_error_class(kv.key())) {
      idx = outcome_index(false, *cls);
    } else {
      return bad("unknown outcome '" + std::string(kv.key()) + "'");
    }
    r.outcomes[static_cast<size_t>(idx)] = static_cast<std::uint64_t>(n);
  }
  return r;
}

}  // namespace tollgate::shadow
