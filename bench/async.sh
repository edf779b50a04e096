#!/usr/bin/env bash
# Async benchmark: durable accepts per second with every provider down (each call
# tries, fails, and is queued: sync-to-async fallback), and with Prefer:
# respond-async; then the provider recovers and the backlog drains. Store: SQLite,
# WAL, synchronous=FULL (an fsync per group commit, before any 202 is sent).
# Figures go to bench/out/async_*.json.
set -euo pipefail
build=${1:-build-bench}
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
secs=${BENCH_ASYNC_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-32}
tmp=$(mktemp -d /tmp/tollgate-async.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
wait_port_file() { for _ in $(seq 1 200); do [[ -s "$1" ]] && return; sleep 0.05; done; echo "timeout waiting for $1" >&2; exit 1; }
field() { sed "s/.*\"$2\": *\([0-9.]*\).*/\1/" "$1"; }

"$build/src/sim/tollgate-sim" --listen 127.0.0.1:0 --workers 1 --ready-file "$tmp/sim.ready" >/dev/null 2>&1 &
pids+=($!)
wait_port_file "$tmp/sim.ready"
sim=$(field "$tmp/sim.ready" port)
sed "s|@SIM@|http://127.0.0.1:$sim|g; s|@STORE@|$tmp/tollgate.db|" bench/tollgate.yaml >"$tmp/tollgate.yaml"
cat >>"$tmp/tollgate.yaml" <<YAML
admin:
  listen: 127.0.0.1:0
  token: bench-admin-token-0123456789
YAML
"$build/src/app/tollgate" serve --config "$tmp/tollgate.yaml" --ready-file "$tmp/tg.ready" >"$tmp/tg.log" 2>&1 &
pids+=($!)
wait_port_file "$tmp/tg.ready"
tg=$(field "$tmp/tg.ready" port)
admin=$(field "$tmp/tg.ready" admin_port)
queued() { curl -s "http://127.0.0.1:$admin/admin/jobs/counts" -H 'Authorization: Bearer bench-admin-token-0123456789' |
           sed 's/.*"queued":\([0-9]*\).*/\1/'; }

body='{"to":"+8613800000000","template":"LOGIN_CODE","params":{"code":"4321"}}'
curl -s "http://127.0.0.1:$sim/_sim/behavior" -d '{"faults":[{"kind":"http_503"}]}' >/dev/null

accepts() {  # name extra-headers
  BENCH_BODY=$body BENCH_AUTH="Bearer bench-key" BENCH_HEADERS="$2" wrk -t1 -c"$conns" -d"${secs}s" -s bench/post.lua \
    "http://127.0.0.1:$tg/v1/sms/send" | grep '^BENCH_JSON' | cut -d' ' -f2- >"$out/async_$1.json"
  echo "{\"scenario\": \"async_$1\", \"fsync\": \"full, one per group commit\", $(cut -c2- "$out/async_$1.json")" >"$out/async_$1.json"
  cat "$out/async_$1.json"
}
echo "== durable accepts, every provider down, ${secs}s, $conns connections (store: SQLite WAL, synchronous=FULL) =="
accepts fallback ""
accepts respond_async "Prefer: respond-async"
backlog=$(queued)

echo "== drain after recovery (jobs.drain_rps 2000, jobs.concurrency 64): backlog $backlog jobs =="
curl -s -X POST "http://127.0.0.1:$sim/_sim/reset" >/dev/null
start=$(date +%s.%N)
limit=15
while :; do
  now=$(date +%s.%N)
  left=$(queued)
  elapsed=$(awk -v a="$start" -v b="$now" 'BEGIN{print b-a}')
  if [[ "$left" -eq 0 ]] || awk -v e="$elapsed" -v l="$limit" 'BEGIN{exit !(e>=l)}'; then break; fi
  sleep 0.25
done
drained=$((backlog - left))
rate=$(awk -v d="$drained" -v e="$elapsed" 'BEGIN{printf "%.0f", d/e}')
delivered=$(curl -s "http://127.0.0.1:$sim/_sim/stats" | sed 's/.*"delivered":\([0-9]*\).*/\1/')
echo "{\"scenario\": \"async_drain\", \"backlog\": $backlog, \"drained\": $drained, \"seconds\": $elapsed, \"jobs_per_s\": $rate, \"delivered\": $delivered}" \
  | tee "$out/async_drain.json"
