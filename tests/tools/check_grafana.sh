#!/usr/bin/env bash
# Checks that every PromQL expression of the Grafana dashboard parses (promtool
# check rules) and names only metrics tollgate exposes (docs/observability.md).
set -euo pipefail
dash=${1:?dashboard json}
docs=${2:?observability doc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "groups:"
  echo "  - name: grafana"
  echo "    rules:"
  n=0
  grep -o '"expr": "[^"]*\(\\"[^"]*\)*"' "$dash" | sed 's/^"expr": "//; s/"$//; s/\\"/"/g; s/\$__rate_interval/5m/g' |
    while IFS= read -r expr; do
      n=$((n + 1))
      printf '      - record: grafana:expr_%d\n        expr: %s\n' "$n" "'${expr//\'/\'\'}'"
    done
} >"$tmp/rules.yml"
promtool check rules "$tmp/rules.yml" >/dev/null
for m in $(grep -o 'tollgate_[a-z_]*' "$dash" | sed 's/_bucket$//' | sort -u); do
  grep -q "\`$m\`" "$docs" || { echo "dashboard uses $m, which docs/observability.md does not list"; exit 1; }
done
echo "ok"
