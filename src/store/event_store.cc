#include "store/event_store.h"

#include <array>

namespace tollgate::store {

namespace {
constexpr std::array<std::string_view, 3> kEventStates = {"held", "attached", "expired"};
constexpr std::array<std::string_view, 4> kForwardStates = {"", "pending", "delivered", "failed"};
}  // namespace

std::string_view to_string(EventState s) { return kEventStates[static_cast<size_t>(s)]; }
std::string_view to_string(ForwardState s) { return kForwardStates[static_cast<size_t>(s)]; }

}  // namespace tollgate::store
