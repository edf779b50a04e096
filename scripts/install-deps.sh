#!/usr/bin/env bash
# Installs the Debian packages tollgate needs to build, test, run the demo and the
# benchmarks — only those missing. Safe to run repeatedly.
#   scripts/install-deps.sh          build + test + demo
#   scripts/install-deps.sh --bench  also wrk and haproxy
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev   # Boost 1.81 (not libboost-dev: that is 1.74)
  libssl-dev openssl
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev
  libgtest-dev libgmock-dev
  curl
  tinyproxy                                # a real HTTP CONNECT proxy for the proxy tests
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk haproxy libbenchmark-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
