#!/usr/bin/env bash
# Failover benchmark: the same outages of provider A (healthy -> hard down ->
# recovered -> hang -> recovered, BENCH_PHASE seconds each) under the same load, first through tollgate
# (breakers, priority failover), then through HAProxy 2.6 with retries, redispatch
# and active health checks (A primary, B backup), in one run. Figures go to
# bench/out/failover_<gateway>.json; a summary table is printed.
set -euo pipefail
build=${1:-build-bench}
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
phase=${BENCH_PHASE:-6}
conns=${BENCH_FAILOVER_CONNECTIONS:-8}
tmp=$(mktemp -d /tmp/tollgate-failover.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ -n "${BENCH_KEEP_LOG:-}" ]] && cp "$tmp/tg.log" "$BENCH_KEEP_LOG"; rm -rf "$tmp"; }
trap cleanup EXIT

field() { sed "s/.*\"$2\": *\([0-9]*\).*/\1/" "$1"; }
wait_file() { for _ in $(seq 1 200); do [[ -s "$1" ]] && return; sleep 0.05; done; echo "timeout waiting for $1" >&2; exit 1; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
              echo $((20000 + RANDOM % 20000)); }

# Not in a $(...) subshell: the sim's pid must reach this shell's cleanup list
# (it did not, and both sims outlived the bench).
start_sim() {  # name -> sets sim_port
  "$build/src/sim/tollgate-sim" --listen 127.0.0.1:0 --workers 1 --ready-file "$tmp/$1.ready" >/dev/null 2>&1 &
  pids+=($!)
  wait_file "$tmp/$1.ready"
  sim_port=$(field "$tmp/$1.ready" port)
}

body_call='{"to":"+8613800000000","template":"LOGIN_CODE","params":{"code":"4321"}}'
body_sim='{"mobile":"+8613800000000","template_code":"LOGIN_CODE","out_id":"bench"}'

# --- tollgate ---------------------------------------------------------------------
start_sim a; a=$sim_port
start_sim b; b=$sim_port
sed "s|@SIM_A@|http://127.0.0.1:$a|; s|@SIM_B@|http://127.0.0.1:$b|" bench/failover.yaml >"$tmp/tollgate.yaml"
"$build/src/app/tollgate" serve --config "$tmp/tollgate.yaml" --ready-file "$tmp/tg.ready" >"$tmp/tg.log" 2>&1 &
tg=$!; pids+=($tg)
wait_file "$tmp/tg.ready"
echo "== failover through tollgate (A: 127.0.0.1:$a, B: 127.0.0.1:$b), ${phase}s per phase, $conns connections =="
"$build/bench/tollgate-failover-bench" --label tollgate --port "$(field "$tmp/tg.ready" port)" --auth "Bearer bench-key" \
  --body "$body_call" --sim-a "$a" --sim-b "$b" --connections "$conns" --phase "$phase" --out "$out/failover_tollgate.json"
kill "$tg"; wait "$tg" 2>/dev/null || true

# --- HAProxy ------------------------------------------------------------------------
hp=$(free_port)
cat >"$tmp/haproxy.cfg" <<CFG
global
  nbthread 2
defaults
  mode http
  timeout connect 300ms
  timeout client 30s
  timeout server 1500ms
  timeout check 1500ms
  retries 2
  option redispatch
  retry-on all-retryable-errors
  http-reuse always
frontend fe
  bind 127.0.0.1:$hp
  default_backend be
backend be
  # The same check as tollgate's (GET /health, which the simulator fails
  # exactly as it fails calls), so the two runs' check counts compare.
  option httpchk
  http-check send meth GET uri /health ver HTTP/1.1 hdr Host sim
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
  server a 127.0.0.1:$a check
  server b 127.0.0.1:$b check backup
CFG
haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
pids+=($!)
sleep 1.5  # first health checks
echo "== the same outage through HAProxy (retries 2, redispatch, health checks every 500 ms, B as backup) =="
"$build/bench/tollgate-failover-bench" --label haproxy --port "$hp" --path /json/v1/sms/send --auth "Bearer sim-token" \
  --body "$body_sim" --sim-a "$a" --sim-b "$b" --connections "$conns" --phase "$phase" --out "$out/failover_haproxy.json"

