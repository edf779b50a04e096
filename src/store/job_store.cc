#include "store/job_store.h"

#include <algorithm>
#include <array>

namespace tollgate::store {
namespace {
constexpr std::array<std::string_view, 5> kStates = {"queued", "running", "succeeded", "failed", "dead"};
constexpr std::array<std::string_view, 4> kCallbackStates = {"", "pending", "delivered", "failed"};
}  // namespace

std::string_view to_string(CallState s) { return kStates[static_cast<size_t>(s)]; }

std::optional<CallState> parse_call_state(std::string_view s) {
  for (size_t i = 0; i < kStates.size(); ++i) {
    if (kStates[i] == s) return static_cast<CallState>(i);
  }
  return std::nullopt;
}

bool is_terminal(CallState s) {
  return s == CallState::kSucceeded || s == CallState::kFailed || s == CallState::kDead;
}

std::string_view to_string(CallbackState s) { return kCallbackStates[static_cast<size_t>(s)]; }

bool ClaimFilter::allows(const std::string& capability) const {
  return among.empty() || std::find(among.begin(), among.end(), capability) != among.end();
}

}  // namespace tollgate::store
