#include "cluster/shared_limits.h"

#include <openssl/sha.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "core/encoding.h"
#include "core/random.h"

namespace tollgate::cluster {

namespace asio = boost::asio;

namespace {

constexpr int kFailuresToOpen = 2;
constexpr auto kOpenFor = std::chrono::seconds(1);

// KEYS: one per limit. ARGV: slot id, slot ttl (ms), n, then per limit: kind, a, b.
//   r (rate): a = interval µs, b = tolerance µs     c (concurrency): a = slots
//   q (quota): a = units, b = ttl s
// Returns {1, 0, 0, u1..un} when every limit admits (and takes what each
// grants), else {0, index of the limit that said no, wait µs, u1..un}; ui is a
// quota's count after this call (-1 for other kinds, or not read).
constexpr const char* kAcquire = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = ARGV[1]
local ttl = tonumber(ARGV[2]) * 1000
local n = tonumber(ARGV[3])
local out = {0, 0, 0}
for i = 1, n do out[3 + i] = -1 end
for i = 1, n do
  local kind, a, b = ARGV[1 + 3 * i], tonumber(ARGV[2 + 3 * i]), tonumber(ARGV[3 + 3 * i])
  if kind == 'r' then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    if now < tat - b then out[2] = i; out[3] = tat - b - now; return out end
  elseif kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    if redis.call('ZCARD', KEYS[i]) >= a then out[2] = i; return out end
  elseif kind == 'q' then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    out[3 + i] = used
    if used >= a then out[2] = i; return out end
  end
end
for i = 1, n do
  local kind, a, b = ARGV[1 + 3 * i], tonumber(ARGV[2 + 3 * i]), tonumber(ARGV[3 + 3 * i])
  if kind == 'r' then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    local nxt = math.max(tat, now) + a
    redis.call('SET', KEYS[i], string.format('%.0f', nxt), 'PX', math.floor((nxt - now + b) / 1000) + 1000)
  elseif kind == 'c' then
    redis.call('ZADD', KEYS[i], now + ttl, slot)
    redis.call('PEXPIRE', KEYS[i], math.floor(ttl / 1000) + 1000)
  elseif kind == 'q' then
    out[3 + i] = redis.call('INCR', KEYS[i])
    redis.call('EXPIRE', KEYS[i], b)
  end
end
out[1] = 1
return out
)lua";

// KEYS: one per limit held. ARGV: slot id, delivered (1/0), then per limit: kind, a.
// Frees slots; when not delivered, gives back rate tokens and quota units.
constexpr const char* kRelease = R"lua(
local slot = ARGV[1]
local delivered = ARGV[2] == '1'
for i = 1, #KEYS do
  local kind, a = ARGV[1 + 2 * i], tonumber(ARGV[2 + 2 * i])
  if kind == 'c' then
    redis.call('ZREM', KEYS[i], slot)
  elseif not delivered and kind == 'r' then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    if tat > 0 then redis.call('SET', KEYS[i], string.format('%.0f', tat - a), 'KEEPTTL') end
  elseif not delivered and kind == 'q' then
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
  end
end
return 1
)lua";

std::string sha1_hex(std::string_view s) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

const std::string& acquire_sha() {
  static const std::string sha = sha1_hex(kAcquire);
  return sha;
}
const std::string& release_sha() {
  static const std::string sha = sha1_hex(kRelease);
  return sha;
}

char kind_code(SharedLimit::Kind k) {
  switch (k) {
    case SharedLimit::Kind::kRate: return 'r';
    case SharedLimit::Kind::kConcurrency: return 'c';
    case SharedLimit::Kind::kQuota: return 'q';
  }
  return 'r';
}

}  // namespace

SharedLimits::SharedLimits(std::shared_ptr<RedisClient> redis, std::string prefix)
    : redis_(std::move(redis)), prefix_(std::move(prefix)) {}

bool SharedLimits::admit_call(SteadyTime now) {
  std::lock_guard lock(mu_);
  if (!open_.load()) return true;
  if (now < open_until_ || probing_) return false;
  probing_ = true;  // one probe at a time while open
  return true;
}

void SharedLimits::on_outcome(bool ok, SteadyTime now) {
  std::lock_guard lock(mu_);
  probing_ = false;
  if (ok) {
    consecutive_failures_ = 0;
    open_ = false;
    return;
  }
  failures_total_.fetch_add(1);
  if (++consecutive_failures_ >= kFailuresToOpen || open_.load()) {
    open_ = true;
    open_until_ = now + kOpenFor;
  }
}

asio::awaitable<Result<RedisReply>> SharedLimits::eval(const std::string& script, const std::string& sha,
                                                       std::vector<std::string> keys, std::vector<std::string> args) {
  std::vector<std::string> cmd{"EVALSHA", sha, std::to_string(keys.size())};
  for (auto& k : keys) cmd.push_back(std::move(k));
  for (auto& a : args) cmd.push_back(std::move(a));
  auto r = co_await redis_->command(cmd);
  if (r && r->type == RedisReply::Type::kError && r->str.starts_with("NOSCRIPT")) {
    cmd[0] = "EVAL";
    cmd[1] = script;
    r = co_await redis_->command(std::move(cmd));
  }
  co_return r;
}

asio::awaitable<Result<Grant>> SharedLimits::acquire(std::vector<SharedLimit> limits, Millis slot_ttl) {
  Grant g;
  if (limits.empty()) {
    g.granted = true;
    co_return g;
  }
  const SteadyTime now = std::chrono::steady_clock::now();
  if (!admit_call(now)) {
    co_return Error::make(ErrorClass::kUnavailable, "shared limits are unavailable (redis breaker open)");
  }
  g.slot = new_nonce().substr(0, 16);
  std::vector<std::string> keys, args{g.slot, std::to_string(slot_ttl.count()), std::to_string(limits.size())};
  for (const auto& l : limits) {
    keys.push_back(prefix_ + l.key);
    args.emplace_back(1, kind_code(l.kind));
    switch (l.kind) {
      case SharedLimit::Kind::kRate:
        args.push_back(std::to_string(l.interval_us));
        args.push_back(std::to_string(l.tolerance_us));
        break;
      case SharedLimit::Kind::kConcurrency:
        args.push_back(std::to_string(l.max));
        args.push_back("0");
        break;
      case SharedLimit::Kind::kQuota:
        args.push_back(std::to_string(l.max));
        args.push_back(std::to_string(l.ttl_s));
        break;
    }
  }
  auto r = co_await eval(kAcquire, acquire_sha(), std::move(keys), std::move(args));
  const bool usable = r && r->type == RedisReply::Type::kArray && r->elements.size() == 3 + limits.size();
  on_outcome(usable, std::chrono::steady_clock::now());
  if (!usable) {
    Error e = Error::make(ErrorClass::kUnavailable, "shared limits are unavailable");
    e.detail = r ? (r->type == RedisReply::Type::kError ? r->str : "unexpected reply") : r.error().message;
    co_return e;
  }
  for (size_t i = 0; i < limits.size(); ++i) g.quota_used.push_back(r->elements[3 + i].integer);
  g.granted = r->elements[0].integer == 1;
  if (!g.granted) {
    g.denied_by = static_cast<int>(r->elements[1].integer) - 1;
    g.wait = std::chrono::ceil<Millis>(std::chrono::microseconds(r->elements[2].integer));
    co_return g;
  }
  g.held = std::move(limits);
  co_return g;
}

void SharedLimits::release(const Grant& grant, bool delivered) {
  if (!grant.granted || grant.held.empty()) return;
  bool any = !delivered;
  std::vector<std::string> keys, args{grant.slot, delivered ? "1" : "0"};
  for (const auto& l : grant.held) {
    if (l.kind == SharedLimit::Kind::kConcurrency) any = true;
    keys.push_back(prefix_ + l.key);
    args.emplace_back(1, kind_code(l.kind));
    args.push_back(std::to_string(l.kind == SharedLimit::Kind::kRate ? l.interval_us : 0));
  }
  if (!any) return;  // delivered and no slot to free: nothing to do
  // The release runs on its own; if Redis is away the slot expires by itself.
  auto self_redis = redis_;
  std::vector<std::string> cmd{"EVALSHA", release_sha(), std::to_string(keys.size())};
  for (auto& k : keys) cmd.push_back(std::move(k));
  for (auto& a : args) cmd.push_back(std::move(a));
  // A detached coroutine needs an executor: the caller's is unknown here, so the
  // command is posted through the client, which completes on its own thread.
  auto run = [](std::shared_ptr<RedisClient> redis, std::vector<std::string> cmd) -> asio::awaitable<void> {
    auto r = co_await redis->command(cmd);
    if (r && r->type == RedisReply::Type::kError && r->str.starts_with("NOSCRIPT")) {
      cmd[0] = "EVAL";
      cmd[1] = kRelease;
      (void)co_await redis->command(std::move(cmd));
    }
  };
  asio::co_spawn(redis_->executor(), run(self_redis, std::move(cmd)), asio::detached);
}

}  // namespace tollgate::cluster
