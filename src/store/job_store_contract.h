#pragma once
// Parts of the JobStore contract both implementations are held to
// (sqlite/sqlite_store_test.cc, postgres/pg_store_test.cc), on a fresh store.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/blocking.h"
#include "store/job_store.h"

namespace tollgate::store {

// A claim takes only the capabilities its filter names — queued jobs and lapsed
// leases alike, oldest due first across them — and a capability named with
// quotes and backslashes is matched as written.
inline void expect_claims_follow_the_filter(JobStore& store) {
  const std::string odd = R"(odd"cap\name)";
  auto job = [](const std::string& id, const std::string& capability, std::int64_t due) {
    CallRecord r;
    r.id = id;
    r.caller = "shop";
    r.capability = capability;
    r.async = true;
    r.params_json = "{}";
    r.body_hash = "h-" + id;
    r.created_ms = r.updated_ms = 50;
    r.not_before_ms = due;
    return r;
  };
  std::vector<CallRecord> jobs = {job("s1", "sms.send", 100), job("s2", "sms.send", 110), job("p1", "pay.query", 120),
                                  job("o1", odd, 130), job("p2", "pay.query", 140)};
  CallRecord orphan = job("s0", "sms.send", 90);
  orphan.state = CallState::kRunning;
  orphan.lease_owner = "host/1/dead";
  orphan.lease_until_ms = 150;
  jobs.push_back(orphan);
  for (auto& j : jobs) ASSERT_TRUE(run_blocking(store.insert(j)));
  auto ids = [](const Result<std::vector<CallRecord>>& got) {
    std::vector<std::string> out;
    if (got) {
      for (const auto& j : *got) out.push_back(j.id);
    }
    std::sort(out.begin(), out.end());  // PostgreSQL's RETURNING has no order
    return out;
  };

  // sms.send held: neither its queued jobs nor its lapsed lease. Of the others'
  // three jobs, the two due first.
  auto other = run_blocking(store.claim(1000, 2, "node", 9000, ClaimFilter{.among = {"pay.query", odd}}));
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(ids(other), (std::vector<std::string>{"o1", "p1"}));

  // A probe of sms.send: one job, the lapsed lease first.
  auto probe = run_blocking(store.claim(1000, 1, "node", 9000, ClaimFilter{.among = {"sms.send"}}));
  ASSERT_EQ(ids(probe), (std::vector<std::string>{"s0"}));
  EXPECT_TRUE((*probe)[0].resumed);
  EXPECT_EQ(ids(run_blocking(store.claim(1000, 5, "node", 9000, ClaimFilter{.among = {odd, "nothing.here"}}))),
            (std::vector<std::string>{}));
  EXPECT_EQ(ids(run_blocking(store.claim(1000, 5, "node", 9000, ClaimFilter{.among = {"pay.query"}}))),
            (std::vector<std::string>{"p2"}));
  // Nothing held: the rest.
  EXPECT_EQ(ids(run_blocking(store.claim(1000, 10, "node", 9000, ClaimFilter{}))),
            (std::vector<std::string>{"s1", "s2"}));
}

}  // namespace tollgate::store
