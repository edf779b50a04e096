#!/usr/bin/env bash
# Runs the demo in the foreground: simulated SMS vendors (tollgate-sim: two of our
# own dialects, and one speaking Aliyun, Tencent Cloud, Twilio and AWS SNS) and
# tollgate in front of them on 127.0.0.1:8080. Ctrl-C stops everything.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
sim="$build/src/sim/tollgate-sim"
gw="$build/src/app/tollgate"
state=$(mktemp -d /tmp/tollgate-demo.XXXXXX)

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
  echo; echo "demo stopped"
}
trap cleanup INT TERM EXIT

wait_ready() {  # file pid name
  for _ in $(seq 1 200); do
    [[ -s "$1" ]] && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 failed to start:"; cat "$state/$3.log"; exit 1; }
    sleep 0.05
  done
  echo "$3 did not start in time"; exit 1
}

for port in 8080 8081 8082 9101 9102 9103; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "port $port on 127.0.0.1 is already in use; stop whatever listens there and retry"; exit 1
  fi
done

# Every simulated vendor reports delivery to tollgate's inbound listener (8082).
inbound=http://127.0.0.1:8082/events
"$sim" --listen 127.0.0.1:9101 --ready-file "$state/a.ready" \
  --events "{\"json\": {\"url\": \"$inbound/acme_sms/status/demo-acme-events-token\", \"delay_ms\": 300}}" \
  >"$state/acme.log" 2>&1 & pids+=($!)
wait_ready "$state/a.ready" $! acme
"$sim" --listen 127.0.0.1:9102 --ready-file "$state/b.ready" >"$state/zeta.log" 2>&1 & pids+=($!)
wait_ready "$state/b.ready" $! zeta
# The payment channel's keys: the merchant signs requests, the channel its answers.
for who in merchant platform; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$state/$who.pem" 2>/dev/null
  openssl pkey -in "$state/$who.pem" -pubout -out "$state/$who.pub"
done
"$sim" --listen 127.0.0.1:9103 --ready-file "$state/v.ready" \
  --pay-merchant-public-key "$state/merchant.pub" --pay-platform-private-key "$state/platform.pem" \
  --events "{\"aliyun\": {\"url\": \"$inbound/aliyun_sms/report/demo-aliyun-events-token\", \"delay_ms\": 300},
             \"tencent\": {\"url\": \"$inbound/tencent_sms/status/demo-tencent-events-token\", \"delay_ms\": 300},
             \"twilio\": {\"url\": \"$inbound/twilio_sms/status\", \"delay_ms\": 300, \"intermediate\": true}}" \
  >"$state/vendors.log" 2>&1 & pids+=($!)
wait_ready "$state/v.ready" $! vendors
set -a; . examples/demo.env; set +a   # the presets' endpoints and credentials
export WXPAY_PRIVATE_KEY_FILE="$state/merchant.pem" WXPAY_PLATFORM_PUBLIC_KEY_FILE="$state/platform.pub"
TOLLGATE_STORE="$state/tollgate.db" \
  "$gw" serve --config examples/demo.yaml --ready-file "$state/tg.ready" >"$state/tollgate.log" 2>&1 & pids+=($!)
wait_ready "$state/tg.ready" $! tollgate

cat <<'TXT'

tollgate is running on http://127.0.0.1:8080 (caller key: demo-key; vendors' receipts
arrive on 127.0.0.1:8082), in front of
simulated SMS vendors: acme_sms (JSON + bearer token, 127.0.0.1:9101), zeta_sms
(form + HMAC signature, 127.0.0.1:9102), and aliyun_sms, tencent_sms, twilio_sms and
aws_sns_sms (the real vendors' APIs and signatures, 127.0.0.1:9103).

Send an SMS (acme_sms serves it):
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' \
    -d '{"to":"+8613800000000","template":"LOGIN_CODE","params":{"code":"4321"}}'

Bad input gets a clear error and reaches no provider:
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -d '{"to":"12345","template":"T"}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer wrong' -d '{}'

An unassigned number is the provider's verdict, mapped to invalid_request (422):
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -d '{"to":"+99912345678","template":"T"}'

Break acme_sms and watch calls fail over to zeta_sms. The answer's "attempts" shows
the failed attempt on acme_sms, then zeta_sms serving the call; after 5 failures in a
row acme_sms's circuit breaker opens and calls go straight to zeta_sms (no failed
attempt any more), except a probe now and then to see whether acme_sms is back:
  curl -s http://127.0.0.1:9101/_sim/behavior -d '{"faults":[{"kind":"http_503"}]}'
A hang is worse: a call waits for acme_sms's attempt timeout (1.5 s), then zeta_sms
serves it. After 5 such calls (or, under load, as soon as most calls in flight are past
800 ms) the breaker opens and callers stop waiting:
  curl -s http://127.0.0.1:9101/_sim/behavior -d '{"faults":[{"kind":"hang"}]}'
Heal it: the breaker half-opens, probes, closes, and traffic ramps back over 10 s:
  curl -s -X POST http://127.0.0.1:9101/_sim/reset
Break both: sms.send allows async fallback, so callers get 202 with an id instead of an
error, and tollgate sends the SMS once a provider recovers (GET the id to follow it):
  curl -s http://127.0.0.1:9101/_sim/behavior -d '{"faults":[{"kind":"http_503"}]}'
  curl -s http://127.0.0.1:9102/_sim/behavior -d '{"faults":[{"kind":"http_503"}]}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -d '{"to":"+8613800000000","template":"T"}'
  curl -s -X POST http://127.0.0.1:9101/_sim/reset; curl -s -X POST http://127.0.0.1:9102/_sim/reset
  curl -s http://127.0.0.1:8080/v1/requests/<id> -H 'Authorization: Bearer demo-key'
Ask for async explicitly, or schedule, or send with an idempotency key:
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'Prefer: respond-async' -d '{"to":"+8613800000000","template":"T"}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'X-Tollgate-Not-Before: 2030-01-01T09:00:00Z' -d '{"to":"+8613800000000","template":"T"}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'Idempotency-Key: order-42' -d '{"to":"+8613800000000","template":"T"}'
Jobs and dead letters on the admin API:
  curl -s http://127.0.0.1:8081/admin/jobs/counts -H 'Authorization: Bearer demo-admin-token'
What reached each vendor:
  curl -s http://127.0.0.1:9101/_sim/stats
Every vendor reports delivery back to tollgate (inbound listener on 8082,
docs/events.md): a call's receipts show in its status, and, with X-Tollgate-Callback,
are forwarded to the caller:
  curl -s http://127.0.0.1:8080/v1/requests/<id> -H 'Authorization: Bearer demo-key'
The failure SMS teams fear most — acme answers every send "OK" but half never arrive:
  curl -s http://127.0.0.1:9101/_sim/events -d '{"json":{"url":"http://127.0.0.1:8082/events/acme_sms/status/demo-acme-events-token","undelivered":0.5}}'
Send 40 or so, wait 5 s for their receipts to be due, and acme's breaker opens on its
delivery rate (tollgate_delivery_rate in /metrics, "delivered" on the dashboard):
  for i in $(seq 40); do curl -s -o /dev/null http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -d '{"to":"+8613800000000","template":"T"}'; done
  curl -s http://127.0.0.1:8081/admin/providers/acme_sms -H 'Authorization: Bearer demo-admin-token'
Real vendors' APIs, each with its own signature (checked by the sim on 9103), through
the presets in examples/providers/ (docs/providers.md); pin one with X-Tollgate-Provider:
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'X-Tollgate-Provider: aliyun_sms' -d '{"to":"+8613800000000","template":"SMS_1","params":{"code":"1234"}}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'X-Tollgate-Provider: tencent_sms' -d '{"to":"+8613800000000","template":"1110","params":{"code":"1234"}}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'X-Tollgate-Provider: twilio_sms' -d '{"to":"+14155550100","template":"HX0001","params":{"1":"1234"}}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'X-Tollgate-Provider: aws_sns_sms' -d '{"to":"+14155550100","template":"T","text":"Your code is 1234"}'
Beyond SMS (docs/capabilities.md): a WeChat login code works once; payment queries
are hedged across WeChat Pay's two domains and every answer's RSA signature is checked;
a refund number can only ever refund once; an identity mismatch is an answer:
  curl -s http://127.0.0.1:8080/v1/login/exchange_code -H 'Authorization: Bearer demo-key' -d '{"code":"081Kq4Ga1"}'
  curl -s http://127.0.0.1:8080/v1/payment/query -H 'Authorization: Bearer demo-key' -d '{"order_no":"T20261126001"}'
  curl -s http://127.0.0.1:8080/v1/payment/refund -H 'Authorization: Bearer demo-key' -d '{"order_no":"T20261126001","refund_no":"RF-1","amount":2500,"total":10000}'
  curl -s http://127.0.0.1:8080/v1/identity/verify -H 'Authorization: Bearer demo-key' -d '{"name":"张三","id_number":"110101199003074477"}'
Make a vendor answer with one of its own error codes, then send again:
  curl -s http://127.0.0.1:9103/_sim/behavior -d '{"faults":[{"kind":"vendor_error","code":"isv.BUSINESS_LIMIT_CONTROL","count":1}]}'
Test traffic never reaches a vendor: debug succeeds at once; stress is answered with
the latency and failure mix tollgate recorded from the live calls above:
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'X-Tollgate-Traffic: debug' -d '{"to":"+8613800000000","template":"T"}'
  curl -s http://127.0.0.1:8080/v1/sms/send -H 'Authorization: Bearer demo-key' -H 'X-Tollgate-Traffic: stress' -d '{"to":"+8613800000000","template":"T"}'
  curl -s http://127.0.0.1:8081/admin/recordings -H 'Authorization: Bearer demo-admin-token'

Watch it all live on the dashboard: http://127.0.0.1:8081/dashboard#token=demo-admin-token
Prometheus metrics: curl -s http://127.0.0.1:8081/metrics

The admin API (token: demo-admin-token) shows each provider's health, breaker, limits
and traffic share, and takes a provider out of rotation by hand:
  curl -s http://127.0.0.1:8081/admin/providers -H 'Authorization: Bearer demo-admin-token'
  curl -s -X POST http://127.0.0.1:8081/admin/providers/acme_sms/disable -H 'Authorization: Bearer demo-admin-token'
  curl -s -X POST http://127.0.0.1:8081/admin/providers/acme_sms/enable -H 'Authorization: Bearer demo-admin-token'

Press Ctrl-C to stop.
TXT
wait -n "${pids[@]}"
echo "a demo process exited unexpectedly; logs:"; tail -n 20 "$state"/*.log
