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
ptg, php = load("paced_tollgate"), load("paced_haproxy")
if ptg and php:
    # The same offered load for both, below either's capacity (think time per request).
    add("p99 µs at {} connections, paced ({:.0f} calls/s)".format(ptg["connections"], ptg["rps"]), ptg["p99_us"],
        "haproxy", php["p99_us"], 1.5, "{:.0f}")
if norec and hp:
    add("CPU µs per call (no recording)", norec["cpu_us_per_req_tollgate"], "haproxy", hp["cpu_us_per_req_haproxy"], 1.0)
    # Where it goes: the kernel's share (system calls, the TCP stack) and the
    # rest. Informational: a gateway's own work is the user-space part.
    ts, hs = norec.get("cpu_sys_us_per_req_tollgate"), hp.get("cpu_sys_us_per_req_haproxy")
    if ts is not None and hs:
        tu, hu = norec["cpu_us_per_req_tollgate"] - ts, hp["cpu_us_per_req_haproxy"] - hs
        rows.append(("  in the kernel", "{:.1f}".format(ts), "haproxy", "{:.1f}".format(hs),
                     "{:.2f}".format(ts / hs), "-", "-"))
        if hu > 0:
            rows.append(("  in user space", "{:.1f}".format(tu), "haproxy", "{:.1f}".format(hu),
                         "{:.2f}".format(tu / hu), "-", "-"))
if tg and ng:
    add("CPU µs per call (records calls)", tg["cpu_us_per_req_tollgate"], "nginx", ng["cpu_us_per_req_nginx"], 1.0)
    add("req/s", tg["rps"], "nginx", ng["rps"], 1.0, "{:.0f}", True)
ft, fh = load("failover_tollgate"), load("failover_haproxy")
if ft and fh:
    for phase in ("after_down", "after_hang"):
        a, b = ft[phase].get("recover_ms"), fh[phase].get("recover_ms")
        if a is not None and b is not None and a >= 0 and b > 0:
            add("recovery ms, " + phase.replace("_", " "), a, "haproxy", b, 1.0, "{:.0f}")
    # What the faster recovery cost the providers: checks both received, same GET /health.
    ca, cb = ft.get("health_checks"), fh.get("health_checks")
    if ca and cb:
        add("health checks the providers received", ca["a"] + ca["b"], "haproxy", cb["a"] + cb["b"], 1.0, "{:.0f}")
idle_tg, idle_hp = load("idle_tollgate"), load("idle_haproxy")
if idle_tg and idle_hp:
    # Goals in absolute terms (issue 14): 2 KiB per idle caller, 64 MiB for 10,000.
    per = idle_tg["kib_per_caller"]
    rows.append(("KiB per idle caller ({} callers)".format(idle_tg["callers"]), "{:.2f}".format(per), "haproxy",
                 "{:.2f}".format(idle_hp["kib_per_caller"]), "{:.2f}".format(per / idle_hp["kib_per_caller"]),
                 "≤ 2 KiB", "yes" if per <= 2.0 else "no"))
    total = idle_tg["rss_after_kib"] / 1024.0
    rows.append(("MiB in all with {} idle callers".format(idle_tg["callers"]), "{:.1f}".format(total), "haproxy",
                 "{:.1f}".format(idle_hp["rss_after_kib"] / 1024.0),
                 "{:.2f}".format(idle_tg["rss_after_kib"] / idle_hp["rss_after_kib"]), "≤ 64 MiB",
                 "yes" if total <= 64 else "no"))
load_rows = sorted({int(n.split("_")[-1][:-5]) for n in os.listdir(out) if n.startswith("load_tollgate_")})
if load_rows:
    hp32, tg32 = load("load_haproxy_32"), load("load_tollgate_32")
    most = load("load_tollgate_{}".format(load_rows[-1]))
    if tg32 and most and load_rows[-1] > 32:
        # Flat: no per-call work that grows with the number of callers.
        add("CPU µs per call at {} vs 32 connections".format(load_rows[-1]), most["cpu_us_per_req_tollgate"],
            "tollgate at 32", tg32["cpu_us_per_req_tollgate"], 1.25)
    hmost = load("load_haproxy_{}".format(load_rows[-1]))
    if hp32 and hmost and load_rows[-1] > 32:
        # The same figure for HAProxy against itself: what the machine adds at that many connections.
        ratio = hmost["cpu_us_per_req_haproxy"] / hp32["cpu_us_per_req_haproxy"]
        rows.append(("  haproxy's own, {} vs 32".format(load_rows[-1]), "{:.1f}".format(hmost["cpu_us_per_req_haproxy"]),
                     "haproxy at 32", "{:.1f}".format(hp32["cpu_us_per_req_haproxy"]), "{:.2f}".format(ratio), "-", "-"))
acc = load("async_respond_async")
if acc and tg:
    # Durable accepts (an fsync per group commit before any 202) against sync
    # calls through the same gateway, and issue 14's absolute 20,000/s.
    add("durable accepts/s (respond-async)", acc["rps"], "sync calls/s", tg["rps"], 0.8, "{:.0f}", True)
    rows.append(("durable accepts/s, absolute", "{:.0f}".format(acc["rps"]), "-", "-", "-", "≥ 20000",
                 "yes" if acc["rps"] >= 20000 else "no"))
q = load("queue")
if q:
    add("queue mode req/s", q["queue"]["rps"], "HTTP path", q["http"]["rps"], 0.5, "{:.0f}", True)


def load_table():
    """Latency and CPU per call against connections, every peer of the run."""
    peers = [p for p in ("haproxy", "nginx", "tollgate") if load("load_{}_{}".format(p, load_rows[0]))]
    head = ["connections"]
    for p in peers:
        head += [p + " p50 µs", "p99 µs", "max µs", "CPU µs/call"]
    head += ["p99 tollgate/haproxy", "CPU tollgate/haproxy"]
    table = [head]
    for c in load_rows:
        row = [str(c)]
        figures = {}
        for p in peers:
            r = load("load_{}_{}".format(p, c))
            if not r:
                row += ["-"] * 4
                continue
            cpu = r["cpu_us_per_req_" + p]
            figures[p] = (r["p99_us"], cpu)
            row += [str(r["p50_us"]), str(r["p99_us"]), str(r["max_us"]), "{:.1f}".format(cpu)]
        if "tollgate" in figures and "haproxy" in figures and figures["haproxy"][0] > 0:
            row += ["{:.2f}".format(figures["tollgate"][0] / figures["haproxy"][0]),
                    "{:.2f}".format(figures["tollgate"][1] / figures["haproxy"][1])]
        else:
            row += ["-", "-"]
        table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    print("== latency and CPU per call against load, this run ==")
    for r in table:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    print()


if load_rows:
    load_table()
if not rows:
    sys.exit(0)
head = ("figure", "tollgate", "against", "value", "ratio", "goal", "met")
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
print("== summary: tollgate against its peers, this run ==")
for r in [head] + rows:
    print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
