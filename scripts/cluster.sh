#!/usr/bin/env bash
# make cluster: the demo as a three-instance gateway. PostgreSQL (the shared job
# store) and Redis (shared limits, provider state) in a scratch directory, the
# demo's simulated vendors, three tollgate instances, and HAProxy in front on
# 127.0.0.1:8080 with the demo's contract (caller key demo-key, sms.send).
# Everything listens on 127.0.0.1 only; Ctrl-C stops it all and removes the
# scratch directory.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
sim="$build/src/sim/tollgate-sim"
gw="$build/src/app/tollgate"
state=$(mktemp -d /tmp/tollgate-cluster.XXXXXX)
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_PORT=5499 REDIS_PORT=6399

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$pgbin/pg_ctl -D $state/pg -m fast -w stop" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$state"
  echo; echo "cluster stopped"
}
trap cleanup INT TERM EXIT

# PostgreSQL will not run as root: as root, run it as the package's postgres user.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- sh -c "$1"; else sh -c "$1"; fi
}

wait_ready() {  # file pid name
  for _ in $(seq 1 200); do
    [[ -s "$1" ]] && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 failed to start:"; cat "$state/$3.log"; exit 1; }
    sleep 0.05
  done
  echo "$3 did not start in time"; exit 1
}

for port in 8080 8181 8182 8183 8191 8192 8193 9101 9102 9103 $PG_PORT $REDIS_PORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "port $port on 127.0.0.1 is already in use; stop whatever listens there and retry"; exit 1
  fi
done
[[ -n "$pgbin" ]] || { echo "PostgreSQL is not installed (scripts/install-deps.sh installs it)"; exit 1; }

echo "starting PostgreSQL and Redis in $state"
mkdir -p "$state/pg"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$state" "$state/pg" && chmod 755 "$state"
as_pg "$pgbin/initdb -D $state/pg -U postgres --auth=trust -E UTF8 --no-instructions" >"$state/initdb.log"
as_pg "$pgbin/pg_ctl -D $state/pg -l $state/pg/server.log -w -o \"-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$state/pg\" start" >/dev/null
psql -q "postgresql://postgres@127.0.0.1:$PG_PORT/postgres" -c "CREATE DATABASE tollgate" >/dev/null
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$state" >"$state/redis.log" 2>&1 &
pids+=($!)

"$sim" --listen 127.0.0.1:9101 --ready-file "$state/a.ready" >"$state/acme.log" 2>&1 & pids+=($!)
wait_ready "$state/a.ready" $! acme
"$sim" --listen 127.0.0.1:9102 --ready-file "$state/b.ready" >"$state/zeta.log" 2>&1 & pids+=($!)
wait_ready "$state/b.ready" $! zeta
for who in merchant platform; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$state/$who.pem" 2>/dev/null
  openssl pkey -in "$state/$who.pem" -pubout -out "$state/$who.pub"
done
"$sim" --listen 127.0.0.1:9103 --ready-file "$state/v.ready" \
  --pay-merchant-public-key "$state/merchant.pub" --pay-platform-private-key "$state/platform.pem" \
  >"$state/vendors.log" 2>&1 & pids+=($!)
wait_ready "$state/v.ready" $! vendors

# The demo's config, with the shared store and shared limits (docs/deploy.md).
sed -e '/^store:/,/^$/d' examples/demo.yaml >"$state/cluster.yaml"
cat >>"$state/cluster.yaml" <<YAML

store:
  driver: postgres
  url: postgresql://postgres@127.0.0.1:$PG_PORT/tollgate
shared:
  redis: {url: redis://127.0.0.1:$REDIS_PORT, timeout: 50ms}
  expected_instances: 3
YAML
# Included files are found relative to the config: point them at examples/.
sed -i -E "s|^  - ([a-z][a-z0-9/_-]*\.yaml)|  - $PWD/examples/\1|" "$state/cluster.yaml"
set -a; . examples/demo.env; set +a
export WXPAY_PRIVATE_KEY_FILE="$state/merchant.pem" WXPAY_PLATFORM_PUBLIC_KEY_FILE="$state/platform.pub"
for i in 1 2 3; do
  TOLLGATE_LISTEN=127.0.0.1:818$i TOLLGATE_ADMIN_LISTEN=127.0.0.1:819$i \
    "$gw" serve --config "$state/cluster.yaml" --ready-file "$state/tg$i.ready" >"$state/tollgate$i.log" 2>&1 &
  pids+=($!)
  eval "tg$i=$!"
  wait_ready "$state/tg$i.ready" $! "tollgate$i"
done

cat >"$state/haproxy.cfg" <<CFG
global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 35s
  retries 2
  option redispatch
  # Only a connection that never reached an instance is tried on another one:
  # a request an instance received may have been acted on.
  retry-on conn-failure
frontend gateway
  bind 127.0.0.1:8080
  default_backend tollgate
backend tollgate
  balance roundrobin
  option httpchk GET /healthz
  server tg1 127.0.0.1:8181 check inter 1s fall 2 rise 1
  server tg2 127.0.0.1:8182 check inter 1s fall 2 rise 1
  server tg3 127.0.0.1:8183 check inter 1s fall 2 rise 1
CFG
haproxy -f "$state/haproxy.cfg" -db >"$state/haproxy.log" 2>&1 & pids+=($!)
sleep 0.5

cat <<TXT

A three-instance tollgate is running behind HAProxy on http://127.0.0.1:8080 (caller
key: demo-key), every instance sharing a PostgreSQL store and a Redis (limits,
quotas, provider state), in front of the demo's simulated vendors (9101-9103).

  instance  API             admin (token demo-admin-token)   pid
  tg1       127.0.0.1:8181  127.0.0.1:8191                   $tg1
  tg2       127.0.0.1:8182  127.0.0.1:8192                   $tg2
  tg3       127.0.0.1:8183  127.0.0.1:8193                   $tg3

Send an SMS through the load balancer:
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' \\
    -d '{"to":"+8613800000000","template":"LOGIN_CODE","params":{"code":"4321"}}'

The cluster as any instance sees it (instances up, shared quotas, jobs by state):
  curl -s http://127.0.0.1:8192/admin/cluster -H 'Authorization: Bearer demo-admin-token'

An Idempotency-Key is one call cluster-wide: repeat it on another instance directly.
  curl -s http://127.0.0.1:8181/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'Idempotency-Key: k-1' -d '{"to":"+8613800000000","template":"T"}'
  curl -s http://127.0.0.1:8183/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'Idempotency-Key: k-1' -d '{"to":"+8613800000000","template":"T"}'

Break acme_sms; the first instance whose breaker opens tells the others:
  curl -s http://127.0.0.1:9101/_sim/behavior -d '{"faults":[{"kind":"http_503"}]}'
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null http://127.0.0.1:8181/v1/sms/send -H 'Authorization: Bearer demo-key' -d '{"to":"+8613800000000","template":"T"}'; done
  curl -s http://127.0.0.1:8193/admin/providers/acme_sms -H 'Authorization: Bearer demo-admin-token'
  curl -s -X POST http://127.0.0.1:9101/_sim/reset

Disable a provider on one instance: every instance stops using it, even after a restart:
  curl -s -X POST http://127.0.0.1:8191/admin/providers/zeta_sms/disable -H 'Authorization: Bearer demo-admin-token'
  curl -s -X POST http://127.0.0.1:8191/admin/providers/zeta_sms/enable -H 'Authorization: Bearer demo-admin-token'

Kill an instance (HAProxy stops sending to it within 2 s; its async jobs are taken
over by the others once their lease lapses):
  kill -9 $tg2
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'Prefer: respond-async' -d '{"to":"+8613800000000","template":"T"}'

Logs and data are in $state (removed on exit). Press Ctrl-C to stop.
TXT
wait -n "${pids[@]}" || true
echo "a cluster process exited; logs:"; tail -n 5 "$state"/*.log
# Keep the rest running after an instance was killed on purpose.
wait
