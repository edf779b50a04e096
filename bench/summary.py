#!/usr/bin/env python3
"""One table of what `make bench` measured, from bench/out/*.json of this run:
each figure for tollgate, the peer it is held against in the same run, the
ratio, and issue 14's goal. A bench that was skipped leaves its rows out."""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench/out"


def load(name):
    path = os.path.join(out, name + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


rows = []  # (figure, tollgate, peer name, peer value, ratio, goal)


def add(figure, ours, peer_name, peer, goal, fmt="{:.1f}", higher_is_better=False):
    if ours is None or peer is None or peer == 0:
        return
    ratio = ours / peer
    met = ratio >= goal if higher_is_better else ratio <= goal
    rows.append((figure, fmt.format(ours), peer_name, fmt.format(peer), "{:.2f}".format(ratio),
                 ("≥ " if higher_is_better else "≤ ") + "{:g}".format(goal), "yes" if met else "no"))


tg, hp, ng = load("tollgate"), load("haproxy"), load("nginx")
norec = load("tollgate_norecord")
if tg and hp:
    add("CPU µs per call (records calls)", tg["cpu_us_per_req_tollgate"], "haproxy", hp["cpu_us_per_req_haproxy"], 1.0)
    add("req/s", tg["rps"], "haproxy", hp["rps"], 1.0, "{:.0f}", True)
    add("p99 µs at {} connections".format(tg["connections"]), tg["p99_us"], "haproxy", hp["p99_us"], 1.5, "{:.0f}")
if norec and hp:
    add("CPU µs per call (no recording)", norec["cpu_us_per_req_tollgate"], "haproxy", hp["cpu_us_per_req_haproxy"], 1.0)
if tg and ng:
    add("CPU µs per call (records calls)", tg["cpu_us_per_req_tollgate"], "nginx", ng["cpu_us_per_req_nginx"], 1.0)
    add("req/s", tg["rps"], "nginx", ng["rps"], 1.0, "{:.0f}", True)
ft, fh = load("failover_tollgate"), load("failover_haproxy")
if ft and fh:
    for phase in ("after_down", "after_hang"):
        a, b = ft[phase].get("recover_ms"), fh[phase].get("recover_ms")
        if a is not None and b is not None and a >= 0 and b > 0:
            add("recovery ms, " + phase.replace("_", " "), a, "haproxy", b, 1.0, "{:.0f}")
q = load("queue")
if q:
    add("queue mode req/s", q["queue"]["rps"], "HTTP path", q["http"]["rps"], 0.5, "{:.0f}", True)

if not rows:
    sys.exit(0)
head = ("figure", "tollgate", "against", "value", "ratio", "goal", "met")
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
print("== summary: tollgate against its peers, this run ==")
for r in [head] + rows:
    print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
