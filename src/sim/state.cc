#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "sim/dialects.h"

namespace tollgate::sim {

namespace {
constexpr std::size_t kArrivals = 1'000'000;  // arrival times kept for /_sim/stats
}  // namespace

SimState::SimState() {
  arrivals_ms_.reserve(kArrivals);
  refs_.reserve(kRemembered);
  answers_.reserve(kRemembered);
  nonces_.reserve(kRemembered);
}

void SimState::received(const std::string& dialect, const std::string& ref) {
  std::lock_guard lock(mu_);
  ++requests_;
  if (arrivals_ms_.size() < kArrivals) {
    arrivals_ms_.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count());
  }
  ++by_dialect_[dialect];
  if (!ref.empty()) {
    auto it = refs_.find(ref);
    if (it != refs_.end()) {
      ++it->second;
    } else if (refs_.size() < kRemembered) {
      refs_.emplace(ref, 1);
    }
  }
}

void SimState::remember_last(const HttpRequest& req) {
  std::lock_guard lock(mu_);
  last_.method = req.method;
  last_.path = req.path;
  last_.query = req.query;
  last_.headers = req.headers;
  last_.body = req.body;
}

std::string SimState::last_json() const {
  namespace json = boost::json;
  std::lock_guard lock(mu_);
  json::object headers;
  for (const auto& [k, v] : last_.headers) {
    std::string key = k;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[key] = v;
  }
  return json::serialize(json::object{{"method", last_.method},
                                      {"path", last_.path},
                                      {"query", last_.query},
                                      {"headers", std::move(headers)},
                                      {"body", last_.body}});
}

void SimState::outcome(const std::string& outcome) {
  std::lock_guard lock(mu_);
  ++outcomes_[outcome];
}

void SimState::health_check() {
  std::lock_guard lock(mu_);
  ++health_checks_;
}

bool SimState::fresh_nonce(const std::string& nonce) {
  std::lock_guard lock(mu_);
  if (nonces_.contains(nonce)) return false;
  if (nonces_.size() < kRemembered) nonces_.insert(nonce);  // bounded, never rehashed
  return true;
}

std::string SimState::remembered(const std::string& ref) {
  std::lock_guard lock(mu_);
  auto it = answers_.find(ref);
  return it == answers_.end() ? std::string() : it->second;
}

void SimState::remember(const std::string& ref, const std::string& id) {
  std::lock_guard lock(mu_);
  if (answers_.size() < kRemembered) answers_.emplace(ref, id);
}

std::uint32_t SimState::ref_count(const std::string& ref) const {
  std::lock_guard lock(mu_);
  auto it = refs_.find(ref);
  return it == refs_.end() ? 0 : it->second;
}

void SimState::connection(std::uint64_t id) {
  std::lock_guard lock(mu_);
  connections_.insert(id);
}

std::string SimState::stats_json() const {
  namespace json = boost::json;
  std::lock_guard lock(mu_);
  json::object out;
  out["requests"] = requests_;
  out["health_checks"] = health_checks_;
  // The most requests that arrived within any one second (a sliding window):
  // what a vendor's rate limit would see.
  std::uint64_t max_in_second = 0;
  for (size_t lo = 0, hi = 0; hi < arrivals_ms_.size(); ++hi) {
    while (arrivals_ms_[hi] - arrivals_ms_[lo] >= 1000) ++lo;
    max_in_second = std::max<std::uint64_t>(max_in_second, hi - lo + 1);
  }
  out["max_in_any_second"] = max_in_second;
  out["connections"] = connections_.size();
  json::object dialects, outcomes;
  for (const auto& [k, v] : by_dialect_) dialects[k] = v;
  for (const auto& [k, v] : outcomes_) outcomes[k] = v;
  out["by_dialect"] = std::move(dialects);
  out["outcomes"] = std::move(outcomes);
  std::uint64_t repeated = 0;
  json::array dups;
  for (const auto& [ref, n] : refs_) {
    if (n > 1) {
      ++repeated;
      if (dups.size() < 100) dups.push_back(json::value(ref));
    }
  }
  out["refs"] = refs_.size();
  out["refs_repeated"] = repeated;
  out["repeated_examples"] = std::move(dups);
  out["delivered"] = answers_.size();
  return json::serialize(out);
}

std::string SimState::delivered_json() const {
  namespace json = boost::json;
  std::lock_guard lock(mu_);
  json::array out;
  out.reserve(answers_.size());
  for (const auto& [ref, id] : answers_) out.push_back(json::value(ref));
  return json::serialize(json::object{{"delivered", std::move(out)}});
}

void SimState::reset() {
  std::lock_guard lock(mu_);
  requests_ = 0;
  health_checks_ = 0;
  arrivals_ms_.clear();
  by_dialect_.clear();
  outcomes_.clear();
  refs_.clear();
  answers_.clear();
  nonces_.clear();
  connections_.clear();
  store_.clear();
}

}  // namespace tollgate::sim
