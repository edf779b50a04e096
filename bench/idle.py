#!/usr/bin/env python3
"""Idle footprint: what each idle keep-alive caller costs a proxy in memory.

  idle.py NAME PORT PATH BODY AUTH PID CALLERS OUT_JSON

Opens CALLERS connections to 127.0.0.1:PORT, sends one POST of BODY on each
(a real call, so every connection has been through the whole request path
once), reads every answer, and keeps them all open and silent. The resident
set of PID (and of its children, for nginx's worker) is read before the callers
connect and once every answer is in and the process has settled; the
difference divided by CALLERS is the cost of one idle caller. A warm-up round
of 256 callers (served, then closed) comes first, so that what serving calls
at that concurrency leaves behind is in the baseline. Connections
close when the script ends. Bounded: 120 s at most, then it gives up.
"""
import json
import os
import selectors
import socket
import sys
import time

name, port, path, body, auth, pid, callers, out = sys.argv[1:9]
port, pid, callers = int(port), int(pid), int(callers)
deadline = time.monotonic() + 120


def rss_kib(p):
    """VmRSS of p and of its direct children (nginx's worker), in KiB."""
    total = 0
    pids = [p]
    try:
        with open("/proc/{}/task/{}/children".format(p, p)) as f:
            pids += [int(c) for c in f.read().split()]
    except OSError:
        pass
    for q in pids:
        try:
            with open("/proc/{}/status".format(q)) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


request = ("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Authorization: {}\r\nContent-Length: {}\r\n\r\n{}").format(path, auth, len(body), body).encode()

sel = selectors.DefaultSelector()
socks = []
failed = 0
batch = 256  # connections in flight at once: the listen backlog takes them without drops


def answer_complete(buf):
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    length = 0
    for line in buf[:head_end].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    return len(buf) >= head_end + 4 + length


def open_callers(n):
    """n connections, one call answered on each, left open; returns them and the
    number answered with a 2xx."""
    global failed
    socks, pending, opened, ok = [], {}, 0, 0
    while (opened < n or pending) and time.monotonic() < deadline:
        while opened < n and len(pending) < batch:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(request)
            except OSError:
                failed += 1
                s.close()
                opened += 1
                continue
            s.setblocking(False)
            socks.append(s)
            pending[s] = b""
            sel.register(s, selectors.EVENT_READ)
            opened += 1
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                failed += 1
                sel.unregister(s)
                del pending[s]
                continue
            pending[s] += data
            if answer_complete(pending[s]):
                if pending[s].startswith(b"HTTP/1.1 2"):
                    ok += 1
                sel.unregister(s)
                del pending[s]
    return socks, ok


# Warm-up: one round of `batch` callers at once, then closed, so that what the
# process keeps after serving that many calls at a time (pools, allocator
# arenas, caches) is in the baseline and only the idle callers are measured.
warm, _ = open_callers(batch)
for s in warm:
    s.close()
time.sleep(1.0)
before = rss_kib(pid)
socks, status_ok = open_callers(callers)
time.sleep(2.0)  # let the process settle (timers, pools) before reading its footprint
after = rss_kib(pid)
alive = 0
for s in socks:  # a connection the server closed reads as EOF
    try:
        alive += 1 if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b"" else 0
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
result = {"scenario": name, "callers": callers, "open": alive, "answered_2xx": status_ok, "failed": failed,
          "rss_before_kib": before, "rss_after_kib": after,
          "kib_per_caller": round((after - before) / max(alive, 1), 2)}
with open(out, "w") as f:
    json.dump(result, f)
    f.write("\n")
print(json.dumps(result))
sys.stdout.flush()
time.sleep(float(os.environ.get("BENCH_IDLE_HOLD", "0")))  # to look at the process meanwhile
for s in socks:
    s.close()
