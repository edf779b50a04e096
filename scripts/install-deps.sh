#!/usr/bin/env bash
# Installs the Debian packages tollgate needs to build, test, run the demo and the
# benchmarks — only those missing. Safe to run repeatedly.
#   scripts/install-deps.sh          build + test + demo
#   scripts/install-deps.sh --bench  also wrk and haproxy
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev  # Boost 1.81 (not libboost-dev: that is 1.74)
  libssl-dev openssl
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev
  libpq-dev postgresql-15                  # the PostgreSQL store; tests start their own server
  libhiredis-dev redis-server              # shared limits; tests start their own server
  libsystemd-dev systemd                   # sd_notify (Type=notify); systemd-analyze checks the unit
  librabbitmq-dev rabbitmq-server amqp-tools  # queue mode (rabbitmq-c); tests start their own broker
  dpkg-dev                                 # make package: CPack's DEB generator uses dpkg-shlibdeps
  haproxy                                  # make cluster puts it in front of three instances
  libgtest-dev libgmock-dev
  curl
  tinyproxy                                # a real HTTP CONNECT proxy for the proxy tests
  prometheus                               # promtool, to check /metrics
  chromium                                 # the dashboard's browser test (headless)
)
# Node.js drives the browser test; use the machine's if it has one.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
case "${1:-}" in
  --bench) packages+=(wrk libbenchmark-dev nginx) ;;
  --fuzz) packages+=(clang libclang-rt-14-dev) ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing: ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts packaged daemons it installs; tests start their own.
  for svc in prometheus tinyproxy haproxy postgresql redis-server nginx rabbitmq-server; do
    $sudo systemctl stop "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# Node packages of the tests, pinned in their package-lock.json: playwright-core
# for the browser test, Redocly CLI and Ajv for the API contract test.
root=$(cd "$(dirname "$0")/.." && pwd)
for dir in browser:playwright-core contract:ajv contract:@redocly/cli; do
  if [[ ! -d "$root/tests/${dir%%:*}/node_modules/${dir#*:}" ]]; then
    echo "installing the ${dir%%:*} test's node packages (npm ci in tests/${dir%%:*})"
    (cd "$root/tests/${dir%%:*}" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done
