#!/usr/bin/env bash
# The Debian package, as an operator gets it: builds it from this build tree
# (cpack), checks its metadata, unpacks it into a scratch root (dpkg-deb -x),
# checks the systemd unit (systemd-analyze verify, and the exposure score of
# systemd-analyze security), makes the install-time secrets, runs the installed
# check-config on the installed config, then serves it against the packaged
# tollgate-sim and makes one call through the installed binary.
#   check_package.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
wait_port() {  # file key -> port
  for _ in $(seq 200); do
    if [[ -s $1 ]] && grep -q "\"$2\"" "$1"; then grep -o "\"$2\": *[0-9]*" "$1" | grep -o '[0-9]*$'; return; fi
    sleep 0.05
  done
  fail "no $2 in $1"
}

# 1. Build the package from what this tree built (no rebuild).
(cd "$tmp" && cpack -G DEB -B "$tmp/out" --config "$build/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1) ||
  { cat "$tmp/cpack.log"; fail "cpack"; }
deb=$(ls "$tmp"/out/tollgate_*.deb)
info=$(dpkg-deb -I "$deb")
grep -q "^ Package: tollgate$" <<<"$info" || fail "package name: $info"
grep -q "^ Depends: .*libsystemd0" <<<"$info" || fail "dependencies not computed: $info"
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
grep -qx /etc/tollgate/tollgate.yaml <<<"$conffiles" || fail "tollgate.yaml is not a conffile: $conffiles"
grep -qx /etc/tollgate/tollgate.env <<<"$conffiles" || fail "tollgate.env is not a conffile: $conffiles"
root=$tmp/root
dpkg-deb -x "$deb" "$root"
for f in usr/bin/tollgate usr/bin/tollgate-sim lib/systemd/system/tollgate.service etc/tollgate/tollgate.yaml \
         usr/share/tollgate/providers/aliyun-sms.yaml usr/share/doc/tollgate/operations.md; do
  [[ -e $root/$f ]] || fail "the package lacks /$f"
done
[[ $(stat -c %a "$root/etc/tollgate/tollgate.env") == 600 ]] || fail "tollgate.env is not 0600"

# 2. The unit: no warning from verify (its commands pointed at the unpacked
# binary, since verify checks they exist), and its exposure score.
unit=$root/lib/systemd/system/tollgate.service
grep -q '^Type=notify$' "$unit" || fail "the unit is not Type=notify"
sed "s|/usr/bin/tollgate|$root/usr/bin/tollgate|g; s|/etc/tollgate/|$root/etc/tollgate/|g" "$unit" >"$tmp/tollgate.service"
verify=$(cd "$tmp" && systemd-analyze verify --man=no ./tollgate.service 2>&1) || fail "systemd-analyze verify: $verify"
[[ -z $verify ]] || fail "systemd-analyze verify warned: $verify"
security=$(systemd-analyze security --offline=yes "$unit" 2>&1 | grep "Overall exposure level")
score=$(grep -o '[0-9]*\.[0-9]' <<<"$security" | head -1)
echo "systemd-analyze security: $security"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score is above 2.0"

# 3. Install-time secrets, then the installed check-config on the installed config.
env_file=$tmp/tollgate.env
cp "$root/etc/tollgate/tollgate.env" "$env_file"
made=$("$root/usr/lib/tollgate/make-secrets" "$env_file" "$root/usr/bin/tollgate")
key=$(grep -o "has the key [^ ]*" <<<"$made" | awk '{print $4}')
[[ -n $key ]] || fail "make-secrets printed no caller key: $made"
grep -Eq '^TOLLGATE_CALLER_KEY_SHA256=[0-9a-f]{64}$' "$env_file" || fail "no caller key hash in the env file"
grep -Eq '^TOLLGATE_ADMIN_TOKEN=.{16,}$' "$env_file" || fail "no admin token in the env file"
again=$("$root/usr/lib/tollgate/make-secrets" "$env_file" "$root/usr/bin/tollgate")
[[ -z $again ]] || fail "make-secrets replaced secrets already made: $again"
# A random key starts with "-" once in 64 (base64url): it must be hashed as a key, not
# read as an option (make-secrets once left the hash empty that way). The CLI takes
# "--" before such a key; and a run of fresh env files, each of which must get a hash.
dash=$("$root/usr/bin/tollgate" hash-key -- "-$key") || fail "hash-key -- -KEY failed"
[[ $dash == "$(printf %s "-$key" | sha256sum | cut -d' ' -f1)" ]] || fail "hash-key -- -KEY printed $dash"
for i in $(seq 1 128); do
  grep -v '^TOLLGATE_CALLER_KEY_SHA256=' "$root/etc/tollgate/tollgate.env" >"$tmp/scratch.env"
  echo 'TOLLGATE_CALLER_KEY_SHA256=' >>"$tmp/scratch.env"
  out=$("$root/usr/lib/tollgate/make-secrets" "$tmp/scratch.env" "$root/usr/bin/tollgate" 2>&1) ||
    fail "make-secrets failed: $out"
  grep -Eq '^TOLLGATE_CALLER_KEY_SHA256=[0-9a-f]{64}$' "$tmp/scratch.env" ||
    fail "make-secrets left no caller key hash ($(grep -o 'has the key [^ ]*' <<<"$out")): $out"
done
rm -f "$tmp/scratch.env"
run_installed() {  # the environment systemd would give: the env file, nothing else
  env -i PATH=/usr/bin:/bin STATE_DIRECTORY="$tmp/state" bash -c 'set -a; . "$1"; set +a; shift; exec "$@"' \
    _ "$env_file" "$@"
}
run_installed "$root/usr/bin/tollgate" check-config "$root/etc/tollgate/tollgate.yaml" >"$tmp/check.log" 2>&1 ||
  { cat "$tmp/check.log"; fail "check-config refused the installed config"; }
grep -q "OK" "$tmp/check.log" || fail "check-config: $(cat "$tmp/check.log")"

# 4. Serve the installed config against the packaged simulator; one call.
"$root/usr/bin/tollgate-sim" --listen 127.0.0.1:0 --ready-file "$tmp/sim.json" >"$tmp/sim.log" 2>&1 &
pids+=($!)
sim_port=$(wait_port "$tmp/sim.json" port)
mkdir -p "$tmp/state"
cat >>"$env_file" <<ENV
TOLLGATE_LISTEN=127.0.0.1:0
TOLLGATE_ADMIN_LISTEN=127.0.0.1:0
TOLLGATE_INBOUND_LISTEN=127.0.0.1:0
ALIYUN_SMS_URL=http://127.0.0.1:$sim_port
ALIYUN_ACCESS_KEY_ID=sim-key
ALIYUN_ACCESS_KEY_SECRET=sim-secret
ALIYUN_SMS_SIGN_NAME=Tollgate
ENV
# (env execs bash, which execs tollgate: $! is tollgate's pid.)
env -i PATH=/usr/bin:/bin STATE_DIRECTORY="$tmp/state" bash -c 'set -a; . "$1"; set +a; shift; exec "$@"' \
  _ "$env_file" "$root/usr/bin/tollgate" serve --config "$root/etc/tollgate/tollgate.yaml" \
  --ready-file "$tmp/ready.json" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
pids+=($serve_pid)
port=$(wait_port "$tmp/ready.json" port)
answer=$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"to":"+8613800000000","template":"SMS_123456789","params":{"code":"1234"}}' \
  "http://127.0.0.1:$port/v1/sms/send")
[[ $(tail -1 <<<"$answer") == 200 ]] || { cat "$tmp/serve.log"; fail "the call through the installed binary: $answer"; }
grep -q '"provider":"aliyun_sms"' <<<"$answer" || fail "not served by aliyun_sms: $answer"
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "tollgate did not exit cleanly on SIGTERM: $(tail -5 "$tmp/serve.log")"
[[ -f $tmp/state/tollgate.db ]] || fail "the store is not in the state directory"
! grep -q "$key" "$tmp/serve.log" || fail "the caller key reached the log"
echo "ok: $(basename "$deb") ($(du -h "$deb" | cut -f1)) installs, checks and serves"
