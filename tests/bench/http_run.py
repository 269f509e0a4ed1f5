#!/usr/bin/env python3
"""http_run.py - runs one agent against the local _bulk server and times it.

    http_run.py -u SERVER_URL -n LINES [-T TIMEOUT_S] -- CMD ARGS...

The HTTP counterpart of lf-bench-run (pipeline/bench_run.c): starts CMD, then polls the
server's /_test/stats every 10 ms until "docs" (distinct _id) reaches LINES or TIMEOUT_S
passes. At that moment it reads the agent's utime+stime (/proc/PID/stat, all threads)
and VmHWM (/proc/PID/status), sends SIGTERM, waits at most 15 s, then SIGKILL. Prints
one line of key=value in lf-bench-run's format:
  wall_s first_s lines hwm cpu_user_s cpu_sys_s rss_kib exit timeout
(hwm is the distinct document count). Exit status 0 if all arrived.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request


def docs(url):
    try:
        with urllib.request.urlopen(url + "/_test/stats", timeout=2) as r:
            return json.loads(r.read())["docs"]
    except OSError:
        return -1


def proc_cpu_rss(pid):
    tck = os.sysconf("SC_CLK_TCK")
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    user, sys_ = int(fields[11]) / tck, int(fields[12]) / tck
    rss = -1
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                rss = int(ln.split()[1])
    return user, sys_, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-u", required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("-T", type=float, default=120)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    base = max(docs(a.u), 0)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd)
    first = done = -1.0
    seen = 0
    user = sys_ = -1.0
    rss = -1
    while time.monotonic() - t0 < a.T and p.poll() is None:
        d = docs(a.u)
        t = time.monotonic() - t0
        if d >= 0:
            seen = d - base
            if seen > 0 and first < 0:
                first = t
            if seen >= a.n:
                done = t
                user, sys_, rss = proc_cpu_rss(p.pid)
                break
        time.sleep(0.01)  # sampling interval of a bounded wait
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    code = p.returncode if p.returncode >= 0 else 128 - p.returncode
    print("wall_s=%.3f first_s=%.3f lines=%d hwm=%d cpu_user_s=%.2f cpu_sys_s=%.2f "
          "rss_kib=%d exit=%d timeout=%d" % (done, first, a.n, seen, user, sys_, rss, code,
                                            1 if done < 0 else 0))
    return 0 if done >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
