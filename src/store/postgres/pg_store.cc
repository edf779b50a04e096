#include "store/postgres/pg_store.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/select.h>

#include <algorithm>
#include <tuple>

#include "core/process.h"
#include "core/random.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/schema.h"

namespace tollgate::store {

namespace asio = boost::asio;
using pg::Connection;
using pg::Params;
using pg::PgResult;
using pg::Statement;

namespace {

constexpr auto kReconnectMin = std::chrono::milliseconds(100);
constexpr auto kReconnectMax = std::chrono::seconds(5);
// Fire-and-forget records may wait this long for company before a commit.
constexpr auto kRecordDelay = std::chrono::milliseconds(5);
// Records kept queued while the database is away; older ones are dropped.
constexpr size_t kMaxQueuedRecords = 10000;
// Records that end their wait for company at once: enough for one round trip.
constexpr size_t kRecordBatch = 64;

// A column list ("a, b, c") with each column prefixed ("t.a, t.b, t.c").
std::string prefixed(std::string_view all, const char* prefix) {
  if (!*prefix) return std::string(all);
  std::string out;
  while (!all.empty()) {
    const auto comma = all.find(", ");
    out += std::string(prefix) + std::string(all.substr(0, comma));
    if (comma == std::string_view::npos) break;
    out += ", ";
    all.remove_prefix(comma + 2);
  }
  return out;
}

std::string cols(const char* prefix = "") { return prefixed(pg::kColumns, prefix); }

// A PostgreSQL text[] literal: each element quoted, with " and \ escaped.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string placeholders(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += (i > 1 ? ", $" : "$") + std::to_string(i);
  return out;
}

const std::string kInsert = "INSERT INTO calls (" + cols() + ") VALUES (" + placeholders(25) +
                            ") ON CONFLICT DO NOTHING RETURNING id";
const std::string kUpsert = [] {
  std::string set;
  std::string_view all = pg::kColumns;
  int i = 0;
  while (!all.empty()) {
    const auto comma = all.find(", ");
    const std::string col(all.substr(0, comma));
    if (i++ > 0) set += (set.empty() ? "" : ", ") + col + " = EXCLUDED." + col;
    if (comma == std::string_view::npos) break;
    all.remove_prefix(comma + 2);
  }
  return "INSERT INTO calls (" + cols() + ") VALUES (" + placeholders(25) + ") ON CONFLICT (id) DO UPDATE SET " + set;
}();
const std::string kUpdate = [] {
  std::string set;
  std::string_view all = pg::kColumns;
  int i = 0;
  while (!all.empty()) {
    const auto comma = all.find(", ");
    const std::string col(all.substr(0, comma));
    ++i;
    if (i > 1) set += (set.empty() ? "" : ", ") + col + " = $" + std::to_string(i);
    if (comma == std::string_view::npos) break;
    all.remove_prefix(comma + 2);
  }
  return "UPDATE calls SET " + set + " WHERE id = $1";
}();

Statement stmt(std::string sql, Params p = {}) { return Statement{std::move(sql), std::move(p)}; }

std::int64_t affected(const PgResult& r) { return std::strtoll(PQcmdTuples(r.get()), nullptr, 10); }

std::vector<CallRecord> rows(const PgResult& r) {
  std::vector<CallRecord> out;
  const int n = PQntuples(r.get());
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(pg::read_record(r.get(), i));
  return out;
}

Error unreachable(const std::string& why) {
  Error e = Error::make(ErrorClass::kUnavailable, "the store is unreachable");
  e.detail = why;
  return e;
}

}  // namespace

// One queued operation: its statements run inside the batch's transaction; its
// result is read from theirs and delivered after the commit.
struct PgStore::OpBase {
  virtual ~OpBase() = default;
  std::vector<Statement> statements;
  bool urgent = true;        // someone waits: commit now
  bool wakes_runner = false; // may make jobs due: NOTIFY with the commit
  // Reads this op's results (all present and successful); false when the op
  // itself failed. May run follow-up reads on `c` (after the commit).
  virtual bool read(std::vector<PgResult>& results, Connection& c) = 0;
  virtual void fail(const Error& e) = 0;
  virtual void complete() = 0;
};

namespace {

template <typename T, typename Reader, typename Handler>
struct Op final : PgStore::OpBase {
  Op(Reader r, Handler h) : reader(std::move(r)), handler(std::move(h)) {}
  bool read(std::vector<PgResult>& results, Connection& c) override {
    result.emplace(reader(results, c));
    return result->ok();
  }
  void fail(const Error& e) override {
    result.emplace(e);
    complete();
  }
  void complete() override {
    Result<T> r = result ? std::move(*result) : Result<T>(Error::make(ErrorClass::kInternal, "no result"));
    auto ex = asio::get_associated_executor(handler);
    asio::post(ex, [h = std::move(handler), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
  }
  Reader reader;
  Handler handler;
  std::optional<Result<T>> result;
};

// Nobody waits: a plain synchronous call's record, recordings.
struct DetachedOp final : PgStore::OpBase {
  bool read(std::vector<PgResult>&, Connection&) override { return true; }
  void fail(const Error&) override {}
  void complete() override {}
};

}  // namespace

template <typename T, typename Reader>
asio::awaitable<Result<T>> PgStore::submit(Reader reader_and_statements) {
  auto statements = std::move(std::get<0>(reader_and_statements));
  auto reader = std::move(std::get<1>(reader_and_statements));
  const bool wakes = std::get<2>(reader_and_statements);
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<T>)>(
      [this, statements = std::move(statements), reader = std::move(reader), wakes](auto handler) mutable {
        auto op = std::make_unique<Op<T, decltype(reader), decltype(handler)>>(std::move(reader), std::move(handler));
        op->statements = std::move(statements);
        op->wakes_runner = wakes;
        enqueue(std::move(op));
      },
      asio::use_awaitable);
}

PgStore::PgStore(PgOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<PgStore>> PgStore::open(PgOptions options) {
  {
    auto conn = Connection::open(options.url);
    if (!conn) return conn.error();
    auto version = options.migrate ? pg::migrate(**conn) : pg::read_version(**conn);
    if (!version) return version.error();
  }
  auto store = std::unique_ptr<PgStore>(new PgStore(options));
  store->connected_ = true;  // the writer connects before its first batch
  store->writer_ = std::thread([s = store.get()] {
    set_thread_name("store-pg");
    s->run();
  });
  store->listener_ = std::thread([s = store.get()] {
    set_thread_name("store-pg-listen");
    s->listen();
  });
  return store;
}

Result<int> PgStore::check(const std::string& url) {
  auto conn = Connection::open(url);
  if (!conn) return conn.error();
  auto version = pg::read_version(**conn);
  if (!version) return version;
  if (*version > kPgSchemaVersion) {
    return Error::make(ErrorClass::kInternal, "the database schema is version " + std::to_string(*version) +
                                                  ", newer than this tollgate (" +
                                                  std::to_string(kPgSchemaVersion) + ")");
  }
  return version;
}

std::string PgStore::redact(const std::string& url) { return pg::redact_url(url); }

PgStore::~PgStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (listener_.joinable()) listener_.join();
}

PgStore::Stats PgStore::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.connected = connected_.load();
  return s;
}

void PgStore::set_wakeup(std::function<void()> wakeup) {
  std::lock_guard lock(mu_);
  wakeup_ = std::move(wakeup);
}

void PgStore::enqueue(std::unique_ptr<OpBase> op) {
  // Disconnected: whoever waits learns it at once (a retryable 503), instead of
  // waiting for a reconnect that may take seconds.
  if (!connected_.load() && op->urgent) {
    op->fail(unreachable("not connected"));
    return;
  }
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (!op->urgent && queue_.size() >= kMaxQueuedRecords) {
      ++stats_.dropped_records;
      return;
    }
    if (op->urgent) ++urgent_queued_;
    queue_.push_back(std::move(op));
    // A record alone starts the writer's wait for company; the next ones do not
    // wake it again (a futex wake per record under load), a waiter or a full
    // batch ends that wait early.
    wake = urgent_queued_ > 0 || queue_.size() == 1 || queue_.size() >= kRecordBatch;
  }
  if (wake) cv_.notify_one();
}

void PgStore::run() {
  std::unique_ptr<Connection> conn;
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kReconnectMin);
  auto next_connect = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<OpBase>> batch;
  for (;;) {
    bool any_urgent = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, conn && conn->ok() ? std::chrono::milliseconds(kReconnectMax) : backoff,
                   [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
      if (!queue_.empty() && !stopping_ && urgent_queued_ == 0) {
        cv_.wait_for(lock, kRecordDelay,
                     [&] { return stopping_ || urgent_queued_ > 0 || queue_.size() >= kRecordBatch; });
      }
      while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        if (queue_.front()->urgent) --urgent_queued_;
        any_urgent = any_urgent || queue_.front()->urgent;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    (void)any_urgent;
    if (!conn || !conn->ok()) {
      if (conn) connected_ = false;  // lost: fail fast until reconnected
      if (std::chrono::steady_clock::now() >= next_connect) {
        auto fresh = Connection::open(options_.url);
        if (fresh) {
          conn = std::move(*fresh);
          connected_ = true;
          backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kReconnectMin);
          std::lock_guard lock(mu_);
          ++stats_.reconnects;
        } else {
          connected_ = false;
          next_connect = std::chrono::steady_clock::now() + backoff;
          backoff = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(kReconnectMax), backoff * 2);
        }
      }
      if (!conn || !conn->ok()) {
        for (auto& op : batch) op->fail(unreachable(conn ? conn->last_error() : "reconnecting"));
        batch.clear();
        continue;
      }
    }
    if (batch.empty()) continue;

    // Group commit: one pipeline, one transaction, one round trip.
    std::vector<Statement> all;
    all.push_back(stmt("BEGIN"));
    bool wake = false;
    for (auto& op : batch) {
      wake = wake || op->wakes_runner;
      for (auto& s : op->statements) all.push_back(s);
    }
    if (wake) all.push_back(stmt("SELECT pg_notify('tollgate_jobs', '')"));
    all.push_back(stmt("COMMIT"));
    std::vector<PgResult> results;
    const bool delivered = conn->pipeline(all, results);
    bool all_ok = delivered;
    for (auto& r : results) {
      const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
      all_ok = all_ok && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
    }
    if (!delivered || !conn->ok()) {
      connected_ = conn->ok();
      for (auto& op : batch) op->fail(unreachable(conn->last_error()));
      batch.clear();
      continue;
    }
    {
      std::lock_guard lock(mu_);
      stats_.operations += batch.size();
      ++stats_.transactions;
    }
    if (all_ok) {
      size_t at = 1;
      for (auto& op : batch) {
        std::vector<PgResult> mine;
        for (size_t i = 0; i < op->statements.size(); ++i) mine.push_back(std::move(results[at++]));
        op->read(mine, *conn);
        op->complete();
      }
    } else {
      // Something failed, so nothing committed — but the pipeline's explicit
      // transaction is left aborted (the skipped COMMIT never ended it): roll it
      // back, then run each operation on its own.
      (void)conn->exec("ROLLBACK", "rollback");
      for (auto& op : batch) {
        std::vector<PgResult> mine;
        auto begun = conn->exec("BEGIN", "begin");
        if (!begun) {
          op->fail(begun.error());
          continue;
        }
        bool ok = true;
        for (const auto& s : op->statements) {
          if (!ok) break;
          auto r = conn->exec(s, "statement");
          if (!r) {
            op->fail(r.error());
            ok = false;
            break;
          }
          mine.push_back(std::move(*r));
        }
        if (!ok) {
          (void)conn->exec("ROLLBACK", "rollback");
          if (mine.size() == op->statements.size()) op->fail(unreachable(conn->last_error()));
          continue;
        }
        if (op->wakes_runner) (void)conn->exec("SELECT pg_notify('tollgate_jobs', '')", "notify");
        if (auto c = conn->exec("COMMIT", "commit"); !c) {
          op->fail(c.error());
          continue;
        }
        op->read(mine, *conn);
        op->complete();
      }
    }
    batch.clear();
    if (wake) {
      std::function<void()> wakeup;
      {
        std::lock_guard lock(mu_);
        wakeup = wakeup_;
      }
      if (wakeup) wakeup();  // this instance's own runner, without a round trip
    }
  }
}

void PgStore::listen() {
  std::unique_ptr<Connection> conn;
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kReconnectMin);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (!conn || !conn->ok()) {
      auto fresh = Connection::open(options_.url);
      if (fresh && (*fresh)->exec("LISTEN tollgate_jobs", "listen")) {
        conn = std::move(*fresh);
        backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kReconnectMin);
      } else {
        conn.reset();
        std::this_thread::sleep_for(backoff);
        backoff = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(kReconnectMax), backoff * 2);
        continue;
      }
    }
    const int fd = PQsocket(conn->raw());
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    timeval tv{0, 200000};  // look at stopping_ five times a second
    if (select(fd + 1, &fds, nullptr, nullptr, &tv) < 0) continue;
    if (!PQconsumeInput(conn->raw())) {
      conn.reset();
      continue;
    }
    bool notified = false;
    while (PGnotify* n = PQnotifies(conn->raw())) {
      notified = true;
      PQfreemem(n);
    }
    if (notified) {
      std::function<void()> wakeup;
      {
        std::lock_guard lock(mu_);
        wakeup = wakeup_;
      }
      if (wakeup) wakeup();
    }
  }
}

// --- operations -------------------------------------------------------------

namespace {

template <typename Reader>
auto with(std::vector<Statement> s, Reader r, bool wakes = false) {
  return std::make_tuple(std::move(s), std::move(r), wakes);
}

}  // namespace

asio::awaitable<Result<InsertResult>> PgStore::insert(CallRecord rec) {
  const bool queued = rec.async && rec.state == CallState::kQueued;
  Statement s = stmt(kInsert, pg::record_params(rec));
  return submit<InsertResult>(with(
      {std::move(s)},
      [rec](std::vector<PgResult>& r, Connection& c) -> Result<InsertResult> {
        if (PQntuples(r[0].get()) == 1) return InsertResult{true, std::nullopt};
        // The caller's key is taken (ids never collide): the record that holds it.
        auto found = c.exec(Statement{"SELECT " + cols() + " FROM calls WHERE caller = $1 AND idem_key = $2",
                                      Params().add(rec.caller).add(rec.idempotency_key)},
                            "reading the record holding an idempotency key");
        if (!found) return found.error();
        auto list = rows(*found);
        if (list.empty()) return Error::make(ErrorClass::kInternal, "insert conflicted but no record holds the key");
        return InsertResult{false, std::move(list.front())};
      },
      queued));
}

asio::awaitable<Result<std::vector<InsertResult>>> PgStore::insert_many(std::vector<CallRecord> recs) {
  std::vector<Statement> ss;
  for (const auto& r : recs) ss.push_back(stmt(kInsert, pg::record_params(r)));
  return submit<std::vector<InsertResult>>(with(
      std::move(ss),
      [recs = std::move(recs)](std::vector<PgResult>& r, Connection& c) -> Result<std::vector<InsertResult>> {
        std::vector<InsertResult> out;
        for (size_t i = 0; i < recs.size(); ++i) {
          if (PQntuples(r[i].get()) == 1) {
            out.push_back(InsertResult{true, std::nullopt});
            continue;
          }
          auto found = c.exec(Statement{"SELECT " + cols() + " FROM calls WHERE caller = $1 AND idem_key = $2",
                                        Params().add(recs[i].caller).add(recs[i].idempotency_key)},
                              "reading the record holding an idempotency key");
          if (!found) return found.error();
          auto list = rows(*found);
          if (list.empty()) return Error::make(ErrorClass::kInternal, "insert conflicted but no record holds the key");
          out.push_back(InsertResult{false, std::move(list.front())});
        }
        return out;
      },
      true));
}

asio::awaitable<Result<void>> PgStore::update(CallRecord rec) {
  const bool queued = rec.async && rec.state == CallState::kQueued;
  return submit<void>(with(
      {stmt(kUpdate, pg::record_params(rec))},
      [id = rec.id](std::vector<PgResult>& r, Connection&) -> Result<void> {
        if (affected(r[0]) != 1) return Error::make(ErrorClass::kNotFound, "no record " + id);
        return ok();
      },
      queued));
}

asio::awaitable<Result<void>> PgStore::update_leased(CallRecord rec, std::string owner) {
  const bool queued = rec.async && rec.state == CallState::kQueued;
  Params p = pg::record_params(rec);
  p.add(owner);
  return submit<void>(with(
      {stmt(kUpdate + " AND lease_owner = $26 AND state = 1", std::move(p))},
      [id = rec.id, owner](std::vector<PgResult>& r, Connection&) -> Result<void> {
        if (affected(r[0]) != 1) return Error::make(ErrorClass::kConflict, "job " + id + " is no longer leased to " + owner);
        return ok();
      },
      queued));
}

void PgStore::record(CallRecord rec) {
  auto op = std::make_unique<DetachedOp>();
  op->urgent = false;
  op->statements.push_back(stmt(kUpsert, pg::record_params(rec)));
  if (!connected_.load()) {
    std::lock_guard lock(mu_);
    ++stats_.dropped_records;
    return;
  }
  enqueue(std::move(op));
}

asio::awaitable<Result<std::optional<CallRecord>>> PgStore::get(std::string id) {
  return submit<std::optional<CallRecord>>(
      with({stmt("SELECT " + cols() + " FROM calls WHERE id = $1", Params().add(id))},
           [](std::vector<PgResult>& r, Connection&) -> Result<std::optional<CallRecord>> {
             auto list = rows(r[0]);
             if (list.empty()) return std::optional<CallRecord>();
             return std::optional<CallRecord>(std::move(list.front()));
           }));
}

asio::awaitable<Result<std::vector<CallRecord>>> PgStore::claim(std::int64_t now_ms, int limit, std::string owner,
                                                                 std::int64_t lease_until_ms, ClaimFilter filter) {
  // Lapsed leases first (their process died), then due jobs; rows another
  // instance is claiming right now are skipped, never waited for. With a filter,
  // $5 names the capabilities; their due jobs are read through
  // calls_due_capability (migration 3), never past another capability's backlog.
  const bool any = filter.among.empty();
  const std::string of = any ? "" : "AND capability = ANY($5::text[]) ";
  const std::string sql =
      "WITH expired AS (SELECT id, lease_owner AS old_owner FROM calls WHERE async AND state = 1 "
      "AND lease_until_ms < $1 " + of + "ORDER BY lease_until_ms LIMIT $2 FOR UPDATE SKIP LOCKED), "
      "due AS (SELECT id, ''::text AS old_owner FROM calls WHERE async AND state = 0 AND not_before_ms <= $1 " + of +
      "ORDER BY not_before_ms LIMIT $2 FOR UPDATE SKIP LOCKED), "
      "picked AS (SELECT id, old_owner, true AS resumed FROM expired UNION ALL "
      "(SELECT id, old_owner, false FROM due LIMIT greatest(0, $2 - (SELECT count(*) FROM expired)))) "
      "UPDATE calls c SET state = 1, lease_owner = $3, lease_until_ms = $4, runs = c.runs + 1, updated_ms = $1 "
      "FROM picked WHERE c.id = picked.id RETURNING " +
      cols("c.") + ", picked.resumed, picked.old_owner";
  Params params;
  params.add(now_ms).add(static_cast<std::int64_t>(limit)).add(owner).add(lease_until_ms);
  if (!any) params.add(text_array(filter.among));
  return submit<std::vector<CallRecord>>(
      with({stmt(sql, params)},
           [](std::vector<PgResult>& r, Connection&) -> Result<std::vector<CallRecord>> {
             std::vector<CallRecord> out;
             const int n = PQntuples(r[0].get());
             for (int i = 0; i < n; ++i) {
               CallRecord rec = pg::read_record(r[0].get(), i);
               rec.resumed = std::string_view(PQgetvalue(r[0].get(), i, 25)) == "t";
               if (rec.resumed) rec.resumed_from = PQgetvalue(r[0].get(), i, 26);
               out.push_back(std::move(rec));
             }
             // Taken-over jobs first, as the SQLite store returns them.
             std::stable_partition(out.begin(), out.end(), [](const CallRecord& c) { return c.resumed; });
             return out;
           }));
}

asio::awaitable<Result<int>> PgStore::renew_leases(std::vector<std::string> ids, std::string owner,
                                                   std::int64_t lease_until_ms) {
  return submit<int>(with({stmt("UPDATE calls SET lease_until_ms = $3 WHERE id = ANY($1::text[]) AND "
                                "lease_owner = $2 AND state = 1",
                                Params().add(text_array(ids)).add(owner).add(lease_until_ms))},
                          [](std::vector<PgResult>& r, Connection&) -> Result<int> {
                            return static_cast<int>(affected(r[0]));
                          }));
}

asio::awaitable<Result<std::vector<CallRecord>>> PgStore::claim_callbacks(std::int64_t now_ms, int limit,
                                                                           std::string owner,
                                                                           std::int64_t lease_until_ms) {
  (void)owner;
  const std::string sql =
      "WITH due AS (SELECT id FROM calls WHERE callback_state = 1 AND callback_next_ms <= $1 AND "
      "(lease_owner = '' OR lease_until_ms < $1 OR state <> 1) ORDER BY callback_next_ms LIMIT $2 "
      "FOR UPDATE SKIP LOCKED) UPDATE calls c SET callback_next_ms = $3 FROM due WHERE c.id = due.id RETURNING " +
      cols("c.");
  return submit<std::vector<CallRecord>>(
      with({stmt(sql, Params().add(now_ms).add(static_cast<std::int64_t>(limit)).add(lease_until_ms))},
           [](std::vector<PgResult>& r, Connection&) -> Result<std::vector<CallRecord>> { return rows(r[0]); }));
}

asio::awaitable<Result<std::vector<CallRecord>>> PgStore::list(CallState state, int limit) {
  return submit<std::vector<CallRecord>>(
      with({stmt("SELECT " + cols() + " FROM calls WHERE async AND state = $1 ORDER BY not_before_ms DESC LIMIT $2",
                 Params().add(static_cast<std::int64_t>(state)).add(static_cast<std::int64_t>(limit)))},
           [](std::vector<PgResult>& r, Connection&) -> Result<std::vector<CallRecord>> { return rows(r[0]); }));
}

asio::awaitable<Result<int>> PgStore::replay(std::string id, std::int64_t now_ms) {
  const std::string set =
      "UPDATE calls SET state = 0, not_before_ms = $1, updated_ms = $1, runs = 0, lease_owner = '', "
      "lease_until_ms = 0 WHERE async AND state = 4";
  Statement s = id.empty() ? stmt(set, Params().add(now_ms)) : stmt(set + " AND id = $2", Params().add(now_ms).add(id));
  return submit<int>(with(
      {std::move(s)}, [](std::vector<PgResult>& r, Connection&) -> Result<int> { return static_cast<int>(affected(r[0])); },
      true));
}

asio::awaitable<Result<StateCounts>> PgStore::counts() {
  return submit<StateCounts>(
      with({stmt("SELECT state, count(*) FROM calls WHERE async AND state IN (0, 1, 4) GROUP BY state"),
            stmt("SELECT count(*) FROM calls WHERE callback_state = 1")},
           [](std::vector<PgResult>& r, Connection&) -> Result<StateCounts> {
             StateCounts c;
             for (int i = 0; i < PQntuples(r[0].get()); ++i) {
               const int state = std::atoi(PQgetvalue(r[0].get(), i, 0));
               const std::int64_t n = std::strtoll(PQgetvalue(r[0].get(), i, 1), nullptr, 10);
               if (state == 0) c.queued = n;
               if (state == 1) c.running = n;
               if (state == 4) c.dead = n;
             }
             c.callbacks_pending = std::strtoll(PQgetvalue(r[1].get(), 0, 0), nullptr, 10);
             return c;
           }));
}

asio::awaitable<Result<int>> PgStore::fail_orphaned_sync_calls(std::string owner, std::int64_t now_ms) {
  // Several instances share the table: only calls whose lease has lapsed are
  // orphans (a live instance's keyed calls hold a lease until their deadline).
  return submit<int>(with(
      {stmt("UPDATE calls SET state = 3, updated_ms = $2, error = '{\"code\":\"outcome_unknown\",\"message\":\"tollgate "
            "stopped while the call was in progress; its outcome is unknown\",\"retryable\":false}' "
            "WHERE NOT async AND state = 1 AND lease_owner <> $1 AND lease_until_ms < $2",
            Params().add(owner).add(now_ms))},
      [](std::vector<PgResult>& r, Connection&) -> Result<int> { return static_cast<int>(affected(r[0])); }));
}

void PgStore::save_recordings(std::vector<std::pair<std::string, std::string>> items) {
  auto op = std::make_unique<DetachedOp>();
  op->urgent = false;
  for (auto& [key, data] : items) {
    op->statements.push_back(stmt("INSERT INTO recordings (key, data) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE "
                                  "SET data = EXCLUDED.data",
                                  Params().add(key).add(data)));
  }
  if (!op->statements.empty() && connected_.load()) enqueue(std::move(op));
}

asio::awaitable<Result<std::vector<std::pair<std::string, std::string>>>> PgStore::load_recordings() {
  return submit<std::vector<std::pair<std::string, std::string>>>(
      with({stmt("SELECT key, data FROM recordings")},
           [](std::vector<PgResult>& r, Connection&) -> Result<std::vector<std::pair<std::string, std::string>>> {
             std::vector<std::pair<std::string, std::string>> out;
             for (int i = 0; i < PQntuples(r[0].get()); ++i) {
               out.emplace_back(PQgetvalue(r[0].get(), i, 0), PQgetvalue(r[0].get(), i, 1));
             }
             return out;
           }));
}

asio::awaitable<Result<void>> PgStore::purge(std::int64_t keys_before_ms, std::int64_t records_before_ms) {
  // Bounded steps, so a large backlog is purged over several rounds instead of
  // in one long transaction; autovacuum reclaims the dead rows (docs/deploy.md).
  return submit<void>(with(
      {stmt("UPDATE calls SET idem_key = NULL WHERE id IN (SELECT id FROM calls WHERE idem_key IS NOT NULL AND "
            "created_ms < $1 LIMIT 10000)",
            Params().add(keys_before_ms)),
       stmt("DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE id < $1 AND state IN (2, 3) AND "
            "callback_state <> 1 LIMIT 10000)",
            Params().add(call_id_floor(static_cast<std::uint64_t>(std::max<std::int64_t>(0, records_before_ms))))),
       stmt("DELETE FROM sends WHERE (provider, message_id) IN (SELECT provider, message_id FROM sends WHERE "
            "sent_ms < $1 LIMIT 10000)",
            Params().add(records_before_ms)),
       stmt("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_ms < $1 AND forward <> 1 LIMIT 10000)",
            Params().add(records_before_ms))},
      [](std::vector<PgResult>&, Connection&) -> Result<void> { return ok(); }));
}

// --- Events (store/event_store.h) --------------------------------------------------------

namespace {

constexpr const char* kEventCols =
    "id, provider, message_id, dedupe_key, kind, delivery, doc, received_ms, state, hold_until_ms, call_id, "
    "capability, caller, callback_url, forward, forward_tries, forward_next_ms, forward_log";

std::string event_cols(const char* prefix) { return prefixed(kEventCols, prefix); }

std::int64_t int_at(const PGresult* r, int row, int col) { return std::strtoll(PQgetvalue(r, row, col), nullptr, 10); }

std::vector<EventRecord> event_rows(const PgResult& res) {
  std::vector<EventRecord> out;
  const PGresult* r = res.get();
  for (int i = 0; i < PQntuples(r); ++i) {
    EventRecord e;
    e.id = PQgetvalue(r, i, 0);
    e.provider = PQgetvalue(r, i, 1);
    e.message_id = PQgetvalue(r, i, 2);
    e.dedupe_key = PQgetvalue(r, i, 3);
    e.kind = PQgetvalue(r, i, 4);
    e.delivery = static_cast<DeliveryOutcome>(int_at(r, i, 5));
    e.doc_json = PQgetvalue(r, i, 6);
    e.received_ms = int_at(r, i, 7);
    e.state = static_cast<EventState>(int_at(r, i, 8));
    e.hold_until_ms = int_at(r, i, 9);
    e.call_id = PQgetvalue(r, i, 10);
    e.capability = PQgetvalue(r, i, 11);
    e.caller = PQgetvalue(r, i, 12);
    e.callback_url = PQgetvalue(r, i, 13);
    e.forward = static_cast<ForwardState>(int_at(r, i, 14));
    e.forward_tries = static_cast<int>(int_at(r, i, 15));
    e.forward_next_ms = int_at(r, i, 16);
    e.forward_log_json = PQgetvalue(r, i, 17);
    out.push_back(std::move(e));
  }
  return out;
}

// Held events of the sends they name (all, or those of one send): attached,
// forwarding due when the send has a callback, the send's delivery outcome
// taken from the latest of them.
const std::string kAttachHeld =
    "WITH attached AS (UPDATE events e SET state = 1, hold_until_ms = 0, call_id = s.call_id, "
    "capability = s.capability, caller = s.caller, callback_url = s.callback_url, "
    "forward = CASE WHEN s.callback_url <> '' THEN 1 ELSE 0 END, "
    "forward_next_ms = CASE WHEN s.callback_url <> '' THEN e.received_ms ELSE 0 END "
    "FROM sends s WHERE e.state = 0 AND s.provider = e.provider AND s.message_id = e.message_id";
const std::string kAttachHeldTail =
    " RETURNING e.provider, e.message_id, e.delivery, e.received_ms), "
    "latest AS (SELECT DISTINCT ON (provider, message_id) provider, message_id, delivery FROM attached "
    "WHERE delivery <> 0 ORDER BY provider, message_id, received_ms DESC) "
    "UPDATE sends s SET delivery = latest.delivery FROM latest "
    "WHERE s.provider = latest.provider AND s.message_id = latest.message_id";

}  // namespace

void PgStore::record_send(SendRecord send) {
  auto op = std::make_unique<DetachedOp>();
  op->urgent = false;
  op->statements.push_back(stmt("INSERT INTO sends (provider, message_id, call_id, capability, caller, callback_url, "
                                "sent_ms, delivery) VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT DO NOTHING",
                                Params()
                                    .add(send.provider)
                                    .add(send.message_id)
                                    .add(send.call_id)
                                    .add(send.capability)
                                    .add(send.caller)
                                    .add(send.callback_url)
                                    .add(send.sent_ms)));
  op->statements.push_back(stmt(kAttachHeld + " AND e.provider = $1 AND e.message_id = $2" + kAttachHeldTail,
                                Params().add(send.provider).add(send.message_id)));
  if (!connected_.load()) {
    std::lock_guard lock(mu_);
    ++stats_.dropped_records;
    return;
  }
  enqueue(std::move(op));
}

asio::awaitable<Result<std::vector<EventInsert>>> PgStore::insert_events(std::vector<EventRecord> events,
                                                                         int max_held) {
  std::vector<Statement> ss;
  for (const auto& e : events) {
    // Attached at once when its send is known, held otherwise; nothing when its
    // dedupe key is taken (a repeat).
    ss.push_back(stmt(
        "WITH s AS (SELECT call_id, capability, caller, callback_url FROM sends WHERE provider = $2 AND "
        "message_id = $3) INSERT INTO events (" +
            std::string(kEventCols) +
            ") SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::smallint, $7::text, $8::bigint, "
            "CASE WHEN s.call_id IS NULL THEN 0 ELSE 1 END, CASE WHEN s.call_id IS NULL THEN $9::bigint ELSE 0 END, "
            "COALESCE(s.call_id, ''), COALESCE(s.capability, ''), COALESCE(s.caller, ''), "
            "COALESCE(s.callback_url, ''), CASE WHEN COALESCE(s.callback_url, '') <> '' THEN 1 ELSE 0 END, 0, "
            "CASE WHEN COALESCE(s.callback_url, '') <> '' THEN $8::bigint ELSE 0 END, '[]' "
            "FROM (SELECT 1) one LEFT JOIN s ON true ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, state",
        Params()
            .add(e.id)
            .add(e.provider)
            .add(e.message_id)
            .add(e.dedupe_key)
            .add(e.kind)
            .add(static_cast<std::int64_t>(e.delivery))
            .add(e.doc_json)
            .add(e.received_ms)
            .add(e.hold_until_ms)));
    if (e.delivery != DeliveryOutcome::kNone) {
      ss.push_back(stmt("UPDATE sends SET delivery = $3::smallint WHERE provider = $1 AND message_id = $2 AND "
                        "EXISTS (SELECT 1 FROM events WHERE id = $4 AND state = 1)",
                        Params()
                            .add(e.provider)
                            .add(e.message_id)
                            .add(static_cast<std::int64_t>(e.delivery))
                            .add(e.id)));
    }
  }
  ss.push_back(stmt("SELECT tollgate_check_held($1)", Params().add(static_cast<std::int64_t>(max_held))));
  return submit<std::vector<EventInsert>>(with(
      std::move(ss),
      [events = std::move(events)](std::vector<PgResult>& r, Connection& c) -> Result<std::vector<EventInsert>> {
        std::vector<EventInsert> out;
        size_t at = 0;
        for (const auto& e : events) {
          const PGresult* ins = r[at++].get();
          if (e.delivery != DeliveryOutcome::kNone) ++at;
          if (PQntuples(ins) == 1) {
            out.push_back(EventInsert{true, int_at(ins, 0, 1) == 1, PQgetvalue(ins, 0, 0)});
            continue;
          }
          // A repeat: the event stored before (committed: read it now).
          auto found = c.exec(Statement{"SELECT id, state FROM events WHERE dedupe_key = $1", Params().add(e.dedupe_key)},
                              "reading a repeated event");
          if (!found) return found.error();
          if (PQntuples(found->get()) == 0) return Error::make(ErrorClass::kInternal, "a repeated event vanished");
          out.push_back(EventInsert{false, int_at(found->get(), 0, 1) == 1, PQgetvalue(found->get(), 0, 0)});
        }
        return out;
      }));
}

asio::awaitable<Result<std::vector<EventRecord>>> PgStore::events_for_call(std::string call_id) {
  return submit<std::vector<EventRecord>>(
      with({stmt("SELECT " + std::string(kEventCols) + " FROM events WHERE call_id = $1 ORDER BY received_ms, id",
                 Params().add(call_id))},
           [](std::vector<PgResult>& r, Connection&) -> Result<std::vector<EventRecord>> { return event_rows(r[0]); }));
}

asio::awaitable<Result<std::vector<EventRecord>>> PgStore::claim_event_forwards(std::int64_t now_ms, int limit,
                                                                              std::int64_t lease_until_ms) {
  const std::string sql =
      "WITH due AS (SELECT id FROM events WHERE forward = 1 AND forward_next_ms <= $1 ORDER BY forward_next_ms "
      "LIMIT $2 FOR UPDATE SKIP LOCKED) UPDATE events e SET forward_next_ms = $3 FROM due WHERE e.id = due.id "
      "RETURNING " + event_cols("e.");
  return submit<std::vector<EventRecord>>(
      with({stmt(sql, Params().add(now_ms).add(static_cast<std::int64_t>(limit)).add(lease_until_ms))},
           [](std::vector<PgResult>& r, Connection&) -> Result<std::vector<EventRecord>> { return event_rows(r[0]); }));
}

asio::awaitable<Result<void>> PgStore::update_event_forward(EventRecord event) {
  return submit<void>(with(
      {stmt("UPDATE events SET forward = $2, forward_tries = $3, forward_next_ms = $4, forward_log = $5 WHERE id = $1",
            Params()
                .add(event.id)
                .add(static_cast<std::int64_t>(event.forward))
                .add(static_cast<std::int64_t>(event.forward_tries))
                .add(event.forward_next_ms)
                .add(event.forward_log_json))},
      [id = event.id](std::vector<PgResult>& r, Connection&) -> Result<void> {
        if (affected(r[0]) != 1) return Error::make(ErrorClass::kNotFound, "no event " + id);
        return ok();
      }));
}

asio::awaitable<Result<int>> PgStore::sweep_events(std::int64_t now_ms) {
  // A send and its early event stored at once by two instances each saw the
  // other missing: attach such pairs now, then expire what waited too long.
  return submit<int>(with({stmt(kAttachHeld + kAttachHeldTail),
                           stmt("UPDATE events SET state = 2 WHERE state = 0 AND hold_until_ms < $1",
                                Params().add(now_ms))},
                          [](std::vector<PgResult>& r, Connection&) -> Result<int> {
                            return static_cast<int>(affected(r[1]));
                          }));
}

asio::awaitable<Result<std::vector<DeliveryCount>>> PgStore::delivery_counts(std::int64_t from_ms,
                                                                           std::int64_t to_ms) {
  return submit<std::vector<DeliveryCount>>(with(
      {stmt("SELECT provider, capability, count(*), count(*) FILTER (WHERE delivery = 1), "
            "count(*) FILTER (WHERE delivery = 2) FROM sends WHERE sent_ms >= $1 AND sent_ms <= $2 "
            "GROUP BY provider, capability",
            Params().add(from_ms).add(to_ms))},
      [](std::vector<PgResult>& r, Connection&) -> Result<std::vector<DeliveryCount>> {
        std::vector<DeliveryCount> out;
        const PGresult* res = r[0].get();
        for (int i = 0; i < PQntuples(res); ++i) {
          out.push_back(DeliveryCount{PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), int_at(res, i, 2),
                                      int_at(res, i, 3), int_at(res, i, 4)});
        }
        return out;
      }));
}

asio::awaitable<Result<std::int64_t>> PgStore::held_events() {
  return submit<std::int64_t>(with({stmt("SELECT count(*) FROM events WHERE state = 0")},
                                   [](std::vector<PgResult>& r, Connection&) -> Result<std::int64_t> {
                                     return int_at(r[0].get(), 0, 0);
                                   }));
}

}  // namespace tollgate::store
