#include "app/queue_wiring.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <optional>

#include "queue/message.h"

namespace tollgate::app {

namespace asio = boost::asio;

namespace {

queue::Broker::Dispatch dispatcher(http::Workers& workers, api::ApiHandler& api) {
  auto next = std::make_shared<std::atomic<unsigned>>(0);
  return [&workers, &api, next](HttpRequest req, std::function<void(queue::Broker::Answer)> done) {
    // Round-robin over the workers, as SO_REUSEPORT spreads HTTP connections.
    const int w = static_cast<int>(next->fetch_add(1) % static_cast<unsigned>(workers.size()));
    asio::co_spawn(
        workers.context(w),
        [&api, w, req = std::move(req), done = std::move(done)]() mutable -> asio::awaitable<void> {
          http::RequestContext ctx;
          ctx.worker = w;
          ctx.peer = "queue";
          auto r = co_await api.handle(std::move(req), ctx);
          done(queue::Broker::Answer{r.response.status, std::move(r.response.body)});
        },
        asio::detached);
  };
}

}  // namespace

QueueDoor::QueueDoor(const config::QueuesConfig& cfg, http::Workers& workers, api::ApiHandler& api,
                     metrics::Registry* metrics)
    : workers_(workers), broker_(cfg, dispatcher(workers, api), metrics) {}

asio::awaitable<jobs::ReplySink::Outcome> QueueDoor::deliver(std::string url, std::string body) {
  auto target = queue::parse_reply_url(url);
  if (!target) co_return Outcome{false, "not sent: not a queue reply address"};
  // The broker's thread confirms the publish and posts the outcome back to this
  // coroutine's worker, where a timer (only ever touched here) wakes it.
  struct Wait {
    explicit Wait(const asio::any_io_executor& ex) : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    std::optional<Outcome> outcome;
  };
  const auto executor = co_await asio::this_coro::executor;
  auto wait = std::make_shared<Wait>(executor);
  broker_.publish(std::move(target->first), std::move(target->second), std::move(body),
                  [executor, wait](bool confirmed, std::string outcome) {
                    asio::post(executor, [wait, out = Outcome{confirmed, std::move(outcome)}]() mutable {
                      wait->outcome = std::move(out);
                      wait->timer.cancel();
                    });
                  });
  while (!wait->outcome) co_await wait->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::move(*wait->outcome);
}

}  // namespace tollgate::app
