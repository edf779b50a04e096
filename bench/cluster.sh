#!/usr/bin/env bash
# Cluster benchmark, one run:
#   durable accepts/s (scheduled calls, so nothing drains meanwhile):
#     sqlite      one instance, SQLite WAL, synchronous=FULL
#     pg1         one instance, PostgreSQL (fsync on)
#     pg3         three instances on the same PostgreSQL, driven at once
#   the cost of shared limits: the same synchronous calls through one instance
#   whose provider has a rate limit, kept in memory (local) or on Redis (shared):
#   CPU per call of tollgate (and of Redis), p50/p99.
# PostgreSQL and Redis run in a scratch directory on loopback and are stopped at
# the end. Figures go to bench/out/cluster_*.json; ratios to bench/out/cluster_ratios.txt.
set -euo pipefail
build=${1:-build-bench}
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
secs=${BENCH_CLUSTER_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-32}
tmp=$(mktemp -d /tmp/tollgate-bcluster.XXXXXX)
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
tick=$(getconf CLK_TCK)
pids=()
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- sh -c "$1"; else sh -c "$1"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$pgbin/pg_ctl -D $tmp/pg -m fast -w stop" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port_file() { for _ in $(seq 1 400); do [[ -s "$1" ]] && { sed 's/[^0-9]*\([0-9]*\).*/\1/' "$1"; return; }; sleep 0.05; done; echo "timeout waiting for $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Scripts Redis has run (EVALSHA and EVAL calls: one per admission, one per
# release that gives something back), and read events on its client sockets (a
# pipelined batch of commands from concurrent calls arrives in one read).
redis_scripts() {
  redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' \
    | sed -n 's/^cmdstat_eval\(sha\)\{0,1\}:calls=\([0-9]*\).*/\2/p' | awk '{s+=$1} END {print s+0}'
}
redis_reads() { redis-cli -p "$redis_port" INFO stats | tr -d '\r' | sed -n 's/^total_reads_processed://p'; }

echo "== cluster benchmark: ${secs}s per scenario, $conns connections, $(nproc) cores =="
pg_port=$(free_port); redis_port=$(free_port)
mkdir -p "$tmp/pg"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$tmp" "$tmp/pg" && chmod 755 "$tmp"
as_pg "$pgbin/initdb -D $tmp/pg -U postgres --auth=trust -E UTF8 --no-instructions" >/dev/null
as_pg "$pgbin/pg_ctl -D $tmp/pg -l $tmp/pg/server.log -w -o \"-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$tmp/pg -c max_connections=100\" start" >/dev/null
pg_url="postgresql://postgres@127.0.0.1:$pg_port"
psql -q "$pg_url/postgres" -c "CREATE DATABASE one" -c "CREATE DATABASE three" >/dev/null
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >/dev/null 2>&1 &
redis_pid=$!; pids+=($redis_pid)

"$build/src/sim/tollgate-sim" --listen 127.0.0.1:0 --workers 1 --ready-file "$tmp/sim.ready" >/dev/null 2>&1 &
sim_pid=$!; pids+=($sim_pid)
sim_port=$(wait_port_file "$tmp/sim.ready")

# gateway NAME EXTRA_YAML [SED] : starts a tollgate on bench/tollgate.yaml, its
# store section replaced by EXTRA_YAML when given, SED applied; sets GW_PID, GW_PORT.
gateway() {
  sed "s|@SIM@|http://127.0.0.1:$sim_port|g; s|@STORE@|$tmp/$1.db|" bench/tollgate.yaml >"$tmp/$1.yaml"
  if [[ -n "$2" ]]; then
    sed -i '/^store:/,/^jobs:/{/^jobs:/!d}' "$tmp/$1.yaml"
    printf '%s\n' "$2" >>"$tmp/$1.yaml"
  fi
  if [[ -n "${3:-}" ]]; then sed -i "$3" "$tmp/$1.yaml"; fi
  "$build/src/app/tollgate" serve --config "$tmp/$1.yaml" --ready-file "$tmp/$1.ready" >"$tmp/$1.log" 2>&1 &
  GW_PID=$!; pids+=($GW_PID)
  GW_PORT=$(wait_port_file "$tmp/$1.ready")
}

body='{"to":"+8613800000000","template":"LOGIN_CODE","params":{"code":"4321"}}'
scheduled="Prefer: respond-async|X-Tollgate-Not-Before: 2030-01-01T00:00:00Z"

# accepts NAME PORT... : wrk against every port at once; the sum of their req/s.
accepts() {
  local name=$1; shift
  local i=0 loads=()
  for port in "$@"; do
    (BENCH_BODY=$body BENCH_AUTH="Bearer bench-key" BENCH_HEADERS=$scheduled wrk -t1 -c"$conns" -d"${secs}s" \
      -s bench/post.lua "http://127.0.0.1:$port/v1/sms/send" | grep '^BENCH_JSON' | cut -d' ' -f2- >"$tmp/acc_$name.$i") &
    loads+=($!)
    i=$((i+1))
  done
  wait "${loads[@]}"
  local total
  total=$(cat "$tmp"/acc_"$name".* | sed 's/.*"rps": \([0-9.]*\).*/\1/' | awk '{s+=$1} END {printf "%.0f", s}')
  local non2xx
  non2xx=$(cat "$tmp"/acc_"$name".* | sed 's/.*"non_2xx": \([0-9]*\).*/\1/' | awk '{s+=$1} END {print s}')
  echo "{\"scenario\": \"cluster_accepts_$name\", \"instances\": $#, \"accepts_per_s\": $total, \"non_2xx\": $non2xx}" \
    | tee "$out/cluster_accepts_$name.json"
}

gateway sqlite ""
accepts sqlite "$GW_PORT"
kill "$GW_PID"
gateway pg1 "store:
  driver: postgres
  url: $pg_url/one"
accepts pg1 "$GW_PORT"
kill "$GW_PID"
ports=()
for i in 1 2 3; do
  gateway "pg3_$i" "store:
  driver: postgres
  url: $pg_url/three"
  ports+=("$GW_PORT")
done
accepts pg3 "${ports[@]}"

# limits NAME EXTRA: synchronous calls through a rate-limited provider.
limits() {
  local name=$1
  gateway "lim_$name" "store:
  path: $tmp/lim_$name.db
  sync: full
  record_sync_calls: false
$2" 's|^  acme:|  acme:\n    limits: {rps: 1000000, burst: 1000}|'
  BENCH_BODY=$body BENCH_AUTH="Bearer bench-key" wrk -t1 -c"$conns" -d1s -s bench/post.lua "http://127.0.0.1:$GW_PORT/v1/sms/send" >/dev/null 2>&1
  local t0 r0
  t0=$(cpu_ticks "$GW_PID"); r0=$(cpu_ticks "$redis_pid"); s0=$(redis_scripts); rr0=$(redis_reads)
  local result
  result=$(BENCH_BODY=$body BENCH_AUTH="Bearer bench-key" wrk -t1 -c"$conns" -d"${secs}s" -s bench/post.lua \
    "http://127.0.0.1:$GW_PORT/v1/sms/send" | grep '^BENCH_JSON' | cut -d' ' -f2-)
  local n
  n=$(echo "$result" | sed 's/.*"requests": \([0-9]*\).*/\1/')
  local tg_us redis_us
  tg_us=$(awk -v t="$(( $(cpu_ticks "$GW_PID") - t0 ))" -v hz="$tick" -v n="$n" 'BEGIN{printf "%.2f", (t/hz)*1e6/n}')
  redis_us=$(awk -v t="$(( $(cpu_ticks "$redis_pid") - r0 ))" -v hz="$tick" -v n="$n" 'BEGIN{printf "%.2f", (t/hz)*1e6/n}')
  redis_scripts_per=$(awk -v c="$(( $(redis_scripts) - s0 ))" -v n="$n" 'BEGIN{printf "%.3f", c/n}')
  redis_reads_per=$(awk -v c="$(( $(redis_reads) - rr0 ))" -v n="$n" 'BEGIN{printf "%.3f", c/n}')
  echo "{\"scenario\": \"cluster_limits_$name\", ${result#\{}" \
    | sed "s/}\$/, \"cpu_us_per_req_tollgate\": $tg_us, \"cpu_us_per_req_redis\": $redis_us, \"redis_scripts_per_req\": $redis_scripts_per, \"redis_reads_per_req\": $redis_reads_per}/" \
    | tee "$out/cluster_limits_$name.json"
  kill "$GW_PID"
}
limits local ""
limits shared "shared:
  redis: {url: redis://127.0.0.1:$redis_port, timeout: 50ms}
  expected_instances: 1"

f() { sed "s/.*\"$2\": \([0-9.]*\).*/\1/" "$out/$1.json"; }
echo
echo "== cluster ratios (same run) =="
awk -v s="$(f cluster_accepts_sqlite accepts_per_s)" -v p1="$(f cluster_accepts_pg1 accepts_per_s)" \
    -v p3="$(f cluster_accepts_pg3 accepts_per_s)" \
    -v lc="$(f cluster_limits_local cpu_us_per_req_tollgate)" -v sc="$(f cluster_limits_shared cpu_us_per_req_tollgate)" \
    -v sr="$(f cluster_limits_shared cpu_us_per_req_redis)" -v rs="$(f cluster_limits_shared redis_scripts_per_req)" -v rr="$(f cluster_limits_shared redis_reads_per_req)" \
    -v l50="$(f cluster_limits_local p50_us)" -v s50="$(f cluster_limits_shared p50_us)" \
    -v l99="$(f cluster_limits_local p99_us)" -v s99="$(f cluster_limits_shared p99_us)" 'BEGIN{
  printf "durable accepts/s: sqlite (1 instance) %.0f, postgres 1 instance %.0f (%.2f of sqlite), postgres 3 instances %.0f (%.2f of sqlite)\n", s, p1, p1/s, p3, p3/s
  printf "shared limits: tollgate CPU %.1f us/call vs %.1f local (+%.1f us, %.2fx), redis %.1f us/call, %.2f scripts/call in %.2f socket reads/call; p50 %d vs %d us, p99 %d vs %d us\n", sc, lc, sc-lc, sc/lc, sr, rs, rr, s50, l50, s99, l99
}' | tee "$out/cluster_ratios.txt"
