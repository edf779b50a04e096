#pragma once
// AsioTimers: the real Timers (core/timers.h), Asio steady timers on the awaiting
// coroutine's executor. Stateless; one instance serves every thread.

#include "core/timers.h"

namespace tollgate::http {

class AsioTimers final : public Timers {
 public:
  boost::asio::awaitable<bool> wait_until(SteadyTime t, CancelToken* wake = nullptr) override;
  static AsioTimers& instance();
};

}  // namespace tollgate::http
