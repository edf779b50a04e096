#!/usr/bin/env bash
# Load benchmark: the same POST load (wrk) against
#   direct    tollgate-sim itself (the baseline provider cost),
#   haproxy   HAProxy forwarding to tollgate-sim (what a plain proxy costs),
#   tollgate  tollgate -> tollgate-sim, json dialect (JSON parse, validation,
#             template, bearer signer, response mapping),
#   tollgate_hmac  the same through the form dialect (form encoding + HMAC-SHA256),
#   tollgate_norecord  tollgate without recording synchronous calls in the store,
#   tollgate_debug     debug traffic on that gateway: the pipeline without the provider hop,
#   paced_*   HAProxy, nginx and tollgate offered the same load below capacity (32
#             connections, BENCH_PACE_MS think time before each request, default 2),
# all in one run, printing req/s, p50/p99 and CPU microseconds per request of each
# process, and the ratios. Figures go to bench/out/<scenario>.json.
#
# Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32),
# BENCH_CALLERS (the largest load row and the idle callers, default 9900),
# BENCH_LOAD_SECONDS (per load row, default 5),
# BENCH_SKIP_PACED=1, BENCH_SKIP_LOAD=1, BENCH_SKIP_IDLE=1, BENCH_SKIP_ASYNC=1, BENCH_SKIP_FAILOVER=1, BENCH_SKIP_CLUSTER=1, BENCH_SKIP_QUEUE=1 (skip those parts),
# BENCH_QUEUE_REQUESTS (queue bench, default 20000),
# BENCH_PHASE (failover phase, default 6 s), BENCH_CLUSTER_SECONDS (default 5).
set -euo pipefail
build=${1:-build-bench}
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
# Figures of an earlier run would pass for this one's in the summary.
rm -f "$out"/*.json "$out"/*.txt
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-32}
tmp=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }  # in the kernel (system calls, the TCP stack)
wait_port_file() { for _ in $(seq 1 200); do [[ -s "$1" ]] && { sed 's/[^0-9]*\([0-9]*\).*/\1/' "$1"; return; }; sleep 0.05; done; echo "timeout waiting for $1" >&2; exit 1; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
              echo $((20000 + RANDOM % 20000)); }

"$build/src/sim/tollgate-sim" --listen 127.0.0.1:0 --workers 1 --ready-file "$tmp/sim.ready" >/dev/null 2>&1 &
sim_pid=$!; pids+=($sim_pid)
sim_port=$(wait_port_file "$tmp/sim.ready")

export TOLLGATE_BENCH_SIM="http://127.0.0.1:$sim_port"
sed "s|@SIM@|http://127.0.0.1:$sim_port|g; s|@STORE@|$tmp/tollgate.db|" bench/tollgate.yaml >"$tmp/tollgate.yaml"
"$build/src/app/tollgate" serve --config "$tmp/tollgate.yaml" --ready-file "$tmp/tg.ready" >"$tmp/tg.log" 2>&1 &
tg_pid=$!; pids+=($tg_pid)
tg_port=$(wait_port_file "$tmp/tg.ready")
# The same, without recording synchronous calls in the store (store.record_sync_calls).
sed "s|@STORE@|$tmp/tollgate2.db|; s|  sync: full|  sync: full\n  record_sync_calls: false|" "$tmp/tollgate.yaml" \
  | sed "s|$tmp/tollgate.db|$tmp/tollgate2.db|" >"$tmp/tollgate2.yaml"
"$build/src/app/tollgate" serve --config "$tmp/tollgate2.yaml" --ready-file "$tmp/tg2.ready" >"$tmp/tg2.log" 2>&1 &
tg2_pid=$!; pids+=($tg2_pid)
tg2_port=$(wait_port_file "$tmp/tg2.ready")

hap_port=$(free_port)
cat >"$tmp/haproxy.cfg" <<CFG
global
  nbthread 2
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:$hap_port
  default_backend be
backend be
  server sim 127.0.0.1:$sim_port
CFG
haproxy -f "$tmp/haproxy.cfg" -db >/dev/null 2>&1 &
hap_pid=$!; pids+=($hap_pid)
# nginx as a second peer: one worker, keep-alive to the sim, no access log (as HAProxy).
ngx_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<CFG
worker_processes 1;
daemon off;
master_process on;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
worker_rlimit_nofile 40000;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream sim { server 127.0.0.1:$sim_port; keepalive 64; }
  server {
    listen 127.0.0.1:$ngx_port;
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CFG
nginx -c "$tmp/nginx.conf" -p "$tmp/nginx" >/dev/null 2>&1 &
ngx_pid=$!; pids+=($ngx_pid)
sleep 0.3
# nginx's CPU is its worker's (the master only supervises).
ngx_worker=$(pgrep -P "$ngx_pid" | head -1)

sim_body='{"mobile":"+8613800000000","template_code":"LOGIN_CODE","template_params":{"code":"4321"},"out_id":"bench"}'
call_body='{"to":"+8613800000000","template":"LOGIN_CODE","params":{"code":"4321"}}'

# run NAME URL BODY AUTH PID... : one wrk run; CPU of each listed process.
# RUN_CONNS and RUN_SECONDS override the connections and the duration.
run() {
  local name=$1 url=$2 body=$3 auth=$4; shift 4
  local before=() before_sys=() p c=${RUN_CONNS:-$conns} d=${RUN_SECONDS:-$secs}
  # warm up connections and pools
  BENCH_BODY=$body BENCH_AUTH=$auth wrk -t1 -c"$c" -d1s -s bench/post.lua "$url" >/dev/null 2>&1
  for p in "$@"; do before+=("$(cpu_ticks "$p")"); before_sys+=("$(sys_ticks "$p")"); done
  local result
  result=$(BENCH_BODY=$body BENCH_AUTH=$auth wrk -t1 -c"$c" -d"${d}s" -s bench/post.lua "$url" | grep '^BENCH_JSON' | cut -d' ' -f2-)
  local requests i=0 cpu=""
  requests=$(echo "$result" | sed 's/.*"requests": \([0-9]*\).*/\1/')
  for p in "$@"; do
    local used=$(( $(cpu_ticks "$p") - before[i] )) used_sys=$(( $(sys_ticks "$p") - before_sys[i] ))
    local label=haproxy
    [[ $p == "$sim_pid" ]] && label=sim
    [[ $p == "${ngx_worker:-}" ]] && label=nginx
    [[ $p == "$tg_pid" || $p == "$tg2_pid" ]] && label=tollgate
    cpu+=$(awk -v t="$used" -v s="$used_sys" -v hz="$tick" -v n="$requests" -v l="$label" \
      'BEGIN{printf ", \"cpu_us_per_req_%s\": %.2f, \"cpu_sys_us_per_req_%s\": %.2f", l, (t/hz)*1e6/n, l, (s/hz)*1e6/n}')
    i=$((i+1))
  done
  echo "{\"scenario\": \"$name\", \"connections\": $c, ${result#\{}" | sed "s/}\$/$cpu}/" >"$out/$name.json"
  cat "$out/$name.json"
}

echo "== tollgate benchmark: ${secs}s per scenario, $conns connections, $(nproc) cores =="
run direct "http://127.0.0.1:$sim_port/json/v1/sms/send" "$sim_body" "Bearer sim-token" "$sim_pid"
run haproxy "http://127.0.0.1:$hap_port/json/v1/sms/send" "$sim_body" "Bearer sim-token" "$hap_pid" "$sim_pid"
if [[ -n "${ngx_worker:-}" ]]; then
  run nginx "http://127.0.0.1:$ngx_port/json/v1/sms/send" "$sim_body" "Bearer sim-token" "$ngx_worker" "$sim_pid"
else
  echo "nginx did not start: $(cat "$tmp/nginx/error.log" 2>/dev/null)" >&2
fi
run tollgate "http://127.0.0.1:$tg_port/v1/sms/send" "$call_body" "Bearer bench-key" "$tg_pid" "$sim_pid"
run tollgate_hmac "http://127.0.0.1:$tg_port/v1/sms/hmac" "$call_body" "Bearer bench-key" "$tg_pid" "$sim_pid"
run tollgate_norecord "http://127.0.0.1:$tg2_port/v1/sms/send" "$call_body" "Bearer bench-key" "$tg2_pid" "$sim_pid"
# Debug traffic: the whole pipeline without the provider hop (never sent).
export BENCH_HEADERS="X-Tollgate-Traffic: debug"
run tollgate_debug "http://127.0.0.1:$tg2_port/v1/sms/send" "$call_body" "Bearer bench-key" "$tg2_pid" "$sim_pid"
unset BENCH_HEADERS

# The same offered load for each proxy, below every one's capacity: 32
# connections, each waiting BENCH_PACE_MS (2 ms) between an answer and its next
# request. The rows above run each proxy flat out, where latency follows its
# capacity (a call waits behind the others queued on the two cores); these
# compare latency at equal work.
if [[ -z "${BENCH_SKIP_PACED:-}" ]]; then
  export BENCH_DELAY_MS=${BENCH_PACE_MS:-2}
  run paced_haproxy "http://127.0.0.1:$hap_port/json/v1/sms/send" "$sim_body" "Bearer sim-token" "$hap_pid" "$sim_pid"
  if [[ -n "${ngx_worker:-}" ]]; then
    run paced_nginx "http://127.0.0.1:$ngx_port/json/v1/sms/send" "$sim_body" "Bearer sim-token" "$ngx_worker" "$sim_pid"
  fi
  run paced_tollgate "http://127.0.0.1:$tg_port/v1/sms/send" "$call_body" "Bearer bench-key" "$tg_pid" "$sim_pid"
  unset BENCH_DELAY_MS
fi

field() { sed "s/.*\"$2\": \([0-9.]*\).*/\1/" "$out/$1.json"; }
echo
echo "== ratios (same run) =="
awk -v tg="$(field tollgate cpu_us_per_req_tollgate)" -v th="$(field tollgate_hmac cpu_us_per_req_tollgate)" \
    -v tn="$(field tollgate_norecord cpu_us_per_req_tollgate)" -v td="$(field tollgate_debug cpu_us_per_req_tollgate)" \
    -v sd="$(field tollgate_debug cpu_us_per_req_sim)" \
    -v hp="$(field haproxy cpu_us_per_req_haproxy)" -v sim="$(field direct cpu_us_per_req_sim)" \
    -v ng="$( [[ -s $out/nginx.json ]] && field nginx cpu_us_per_req_nginx || echo 0)" \
    -v rn="$( [[ -s $out/nginx.json ]] && field nginx rps || echo 0)" \
    -v rt="$(field tollgate rps)" -v rh="$(field haproxy rps)" -v rd="$(field direct rps)" 'BEGIN{
  printf "CPU per request: tollgate %.1f us, tollgate+hmac %.1f us, tollgate without recording %.1f us, haproxy %.1f us, sim %.1f us\n", tg, th, tn, hp, sim
  printf "tollgate CPU / haproxy CPU        = %.2f\n", tg / hp
  printf "tollgate (no record) / haproxy    = %.2f\n", tn / hp
  printf "tollgate+hmac CPU / haproxy CPU   = %.2f\n", th / hp
  printf "debug traffic (never sent): tollgate %.1f us per call = %.2f of a live call without recording; sim %.2f us\n", td, td / tn, sd
  printf "req/s: direct %.0f, haproxy %.0f (%.2f of direct), tollgate %.0f (%.2f of direct)\n", rd, rh, rh/rd, rt, rt/rd
  if (ng > 0) {
    printf "nginx: %.1f us per request, %.0f req/s (%.2f of direct); tollgate CPU / nginx CPU = %.2f\n", ng, rn, rn/rd, tg / ng
  }
}' | tee "$out/ratios.txt"

# Idle footprint: $callers keep-alive callers, each after one call, then silent.
# Before the load rows, whose thousands of connections would leave freed memory
# behind for the idle callers to reuse unseen.
callers=${BENCH_CALLERS:-9900}  # HAProxy's own connection limit here is just under 10,000 (ulimit -n 20,000)
if [[ -z "${BENCH_SKIP_IDLE:-}" ]]; then
  echo
  echo "== memory per idle keep-alive caller ($callers callers) =="
  python3 bench/idle.py haproxy "$hap_port" /json/v1/sms/send "$sim_body" "Bearer sim-token" "$hap_pid" "$callers" "$out/idle_haproxy.json"
  if [[ -n "${ngx_worker:-}" ]]; then
    python3 bench/idle.py nginx "$ngx_port" /json/v1/sms/send "$sim_body" "Bearer sim-token" "$ngx_pid" "$callers" "$out/idle_nginx.json"
  fi
  python3 bench/idle.py tollgate "$tg_port" /v1/sms/send "$call_body" "Bearer bench-key" "$tg_pid" "$callers" "$out/idle_tollgate.json"
fi

# Latency and CPU per call against load: the same call at 1 to $callers
# connections, each connection a caller with a request always in flight.
if [[ -z "${BENCH_SKIP_LOAD:-}" ]]; then
  echo
  echo "== latency and CPU per call against load (${BENCH_LOAD_SECONDS:-5}s per row) =="
  for c in 1 8 32 128 1024 "$callers"; do
    echo "-- $c connections"
    export RUN_CONNS=$c RUN_SECONDS=${BENCH_LOAD_SECONDS:-5}
    run "load_haproxy_$c" "http://127.0.0.1:$hap_port/json/v1/sms/send" "$sim_body" "Bearer sim-token" "$hap_pid" "$sim_pid"
    if [[ -n "${ngx_worker:-}" ]]; then
      run "load_nginx_$c" "http://127.0.0.1:$ngx_port/json/v1/sms/send" "$sim_body" "Bearer sim-token" "$ngx_worker" "$sim_pid"
    fi
    run "load_tollgate_$c" "http://127.0.0.1:$tg_port/v1/sms/send" "$call_body" "Bearer bench-key" "$tg_pid" "$sim_pid"
    unset RUN_CONNS RUN_SECONDS
  done
fi

[[ -n "${BENCH_SKIP_ASYNC:-}" ]] || bash bench/async.sh "$build"
[[ -n "${BENCH_SKIP_FAILOVER:-}" ]] || bash bench/failover.sh "$build"
[[ -n "${BENCH_SKIP_QUEUE:-}" ]] || "$build/bench/tollgate-queue-bench" "$build" "${BENCH_QUEUE_REQUESTS:-20000}" "$conns"
[[ -n "${BENCH_SKIP_CLUSTER:-}" ]] || bash bench/cluster.sh "$build"
# One table at the end: each figure against its peer in this run, and the goal.
python3 bench/summary.py "$out" | tee "$out/summary.txt" || true
