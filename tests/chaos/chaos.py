#!/usr/bin/env python3
"""chaos.py - the logferry chaos run: faults at random while lines are written, then every
written line is looked up at the brokers.

A writer appends numbered lines to several files at a steady rate; the agent ships them to
mock-kafka and/or a rabbitmq-server node, read live by kcat / a pika consumer. For
--duration seconds the driver picks events at random (lfchaos/events.py: SIGKILL, SIGTERM,
SIGHUP with a changed config, rotations, broker outages, the PipeBench case, a full
state_dir), then stops the writer, waits (bounded) for the outputs to catch up, stops the
agent and prints
  chaos: seed=S events=E written=N delivered=N lost=0 duplicates=D
per output, with per-event-class counts. Exit 1 on a lost line, a duplicate not explained
by a SIGKILL, more duplicates after one kill than lines it left past its checkpoint (or
--dup-bound), or a failed step.
The seed (printed first) reproduces the sequence of events: --seed S.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lfchaos import ledger  # noqa: E402
from lfchaos.agent import Agent  # noqa: E402
from lfchaos.brokers import MockKafka, Rabbit  # noqa: E402
from lfchaos.consumers import KafkaConsumer, RabbitConsumer  # noqa: E402
from lfchaos.events import EVENTS  # noqa: E402
from lfchaos.proc import LineChild, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=None, help="reproduce a run (default: random)")
    p.add_argument("--duration", type=float, default=150, help="seconds of faults")
    p.add_argument("--outputs", default="kafka,rabbitmq", help="kafka, rabbitmq or both")
    p.add_argument("--files", type=int, default=4)
    p.add_argument("--rate", type=int, default=100, help="lines/s per file")
    p.add_argument("--line-bytes", type=int, default=120)
    p.add_argument("--checkpoint-interval-ms", type=int, default=1000)
    p.add_argument("--memory-limit-kib", type=int, default=512)
    p.add_argument("--shutdown-timeout", type=int, default=10, help="seconds")
    p.add_argument("--dup-bound", type=int, default=None,
                   help="also cap the duplicates per SIGKILL at N (default: only the measured"
                   " bound, the lines not checkpointed at the kill; docs/chaos.md)")
    p.add_argument("--only", default=None, help="comma list of event classes to draw from")
    p.add_argument("--drain-timeout", type=float, default=120)
    p.add_argument("--logferry", required=True)
    p.add_argument("--plugin-dir", default=None,
                   help="default: the agent's own (the build tree's plugins/)")
    p.add_argument("--mock-kafka")
    p.add_argument("--kcat", default="kcat")
    p.add_argument("--logrotate", default="/usr/sbin/logrotate")
    p.add_argument("--rabbitmq-launcher")
    p.add_argument("--rabbitmq-ports", default="5730-5739")
    p.add_argument("--tmpfs-size", default="64m")
    p.add_argument("--keep", action="store_true", help="keep the run directory")
    return p.parse_args()


class Run:
    """State shared by the events: components, random source, bookkeeping."""

    def __init__(self, a, seed):
        self.a = a
        self.seed = seed
        self.rng = random.Random(seed)
        self.nfiles = a.files
        self.logrotate = a.logrotate
        self.run_dir = tempfile.mkdtemp(prefix="lf14c-chaos-", dir="/tmp")
        self.log_dir = os.path.join(self.run_dir, "logs")
        self.state_dir = os.path.join(self.run_dir, "state")
        os.makedirs(self.log_dir)
        os.makedirs(self.state_dir)
        self.t0 = time.monotonic()
        self.failures = []
        self.counts = {}
        self.skips = {}
        self.rotations = 0
        self.pending_deletes = []
        self.unsafe_until = 0.0
        self.kafka = self.rabbit = self.writer = self.agent = None
        self.consumers = []
        self.tmpfs, self.tmpfs_reason = self._mount_tmpfs()

    def _mount_tmpfs(self):
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % self.a.tmpfs_size,
                            "lf14c-state", self.state_dir], capture_output=True, text=True)
        if r.returncode != 0:
            return False, "cannot mount a tmpfs for state_dir: %s" % (r.stderr.strip() or r.returncode)
        return True, ""

    def log(self, msg):
        print("[%7.1fs] %s" % (time.monotonic() - self.t0, msg), flush=True)

    def fail(self, msg):
        self.log("FAIL: " + msg)
        self.failures.append(msg)

    def wait(self, pred, timeout):
        return wait_for(pred, timeout)


def start_components(run, a, outputs):
    out_cfg = {}
    if "kafka" in outputs:
        run.kafka = MockKafka(a.mock_kafka, run.log_dir, 3, "chaos", 6)
        out_cfg["kafka"] = run.kafka.bootstraps
        run.consumers.append(KafkaConsumer(a.kcat, run.kafka.bootstraps, "chaos", 6,
                                           os.path.join(run.log_dir, "kafka.out")))
    if "rabbitmq" in outputs:
        lo, hi = (int(x) for x in a.rabbitmq_ports.split("-"))
        run.rabbit = Rabbit(a.rabbitmq_launcher, lo, hi, 20000)
        run.log("starting rabbitmq-server %s on port %d" % (run.rabbit.node, run.rabbit.port))
        run.rabbit.start()
        out_cfg["rabbitmq"] = run.rabbit.url
        run.consumers.append(RabbitConsumer(sys.executable, os.path.join(HERE, "rmq_consume.py"),
                                            run.rabbit.url, "chaos", "chaos",
                                            os.path.join(run.log_dir, "rabbitmq.out")))
    run.writer = LineChild([sys.executable, os.path.join(HERE, "writer.py"), run.run_dir,
                            str(a.files), str(a.rate), str(a.line_bytes)],
                           os.path.join(run.log_dir, "writer.err"))
    run.writer.readline(10)
    settings = {"checkpoint_interval_ms": a.checkpoint_interval_ms,
                "memory_limit": "%dKiB" % a.memory_limit_kib,
                "shutdown_timeout_s": a.shutdown_timeout, "line_bytes": a.line_bytes}
    run.agent = Agent(a.logferry, a.plugin_dir, run.run_dir, run.state_dir, run.log_dir,
                      out_cfg, settings)
    run.agent.start()


def run_deletes(run):
    """Deletes rotated files whose time came, while the agent is up and holds them open."""
    now = time.monotonic()
    if not run.agent.running() or now - run.agent.started_at < 2:
        return
    keep = []
    for due, path in run.pending_deletes:
        if due <= now:
            os.unlink(path)
            run.unsafe_until = now + 8
        else:
            keep.append((due, path))
    run.pending_deletes = keep


def chaos_loop(run, a, outputs):
    table = {n: e for n, e in EVENTS.items() if e[2] is None or e[2] in outputs}
    if a.only:
        table = {n: e for n, e in table.items() if n in a.only.split(",")}
    names = sorted(table)
    weights = [table[n][1] for n in names]
    end = time.monotonic() + a.duration
    while time.monotonic() < end and not run.failures:
        run_deletes(run)
        name = run.rng.choices(names, weights)[0]
        inc = run.agent.inc
        skipped = table[name][0](run)
        if skipped:
            run.skips[name] = run.skips.get(name, 0) + 1
            run.log("%s skipped: %s" % (name, skipped))
        else:
            run.counts[name] = run.counts.get(name, 0) + 1
            run.log("%s (agent i%d -> i%d)" % (name, inc, run.agent.inc))
        time.sleep(run.rng.uniform(0.5, 2.5))


def all_in(run, written):
    """True when every consumer has at least one copy of every written line."""
    total = sum(written)
    for c in run.consumers:
        c.poll()
        if len({(d.file, d.seq) for d in c.deliveries}) < total:
            return False
    return True


def finish(run, a):
    """Stops writing, waits for the outputs to deliver everything, stops the agent."""
    for _, path in run.pending_deletes:
        os.unlink(path)
    run.pending_deletes = []
    written = [int(x) for x in run.writer.command("stop").strip("[] ").split(",")]
    run.log("writer stopped: %d lines" % sum(written))
    if not run.agent.running():
        run.fail("agent i%d not running at the end (rc %s)" % (run.agent.inc, run.agent.proc.returncode))
        run.agent.start()
    if not wait_for(lambda: all_in(run, written), a.drain_timeout, step=1):
        run.log("outputs did not deliver every line within %.0f s" % a.drain_timeout)
    rc = run.agent.term()
    if rc != 0:
        run.fail("final SIGTERM: agent i%d exited with %s" % (run.agent.inc, rc))
    time.sleep(2)  # the consumers' last fetch: bounded, after the agent is gone
    for c in run.consumers:
        c.poll()
    return written


def report(run, a, written):
    exits = {inc: how for inc, how, _ in run.agent.exits}
    inflight = run.agent.kill_inflight
    events = sum(run.counts.values())
    ok = not run.failures
    for c in run.consumers:
        resends = run.agent.logged_resends(c.name)
        r = ledger.account(c, written, exits, resends)
        dups = r.copies - r.delivered
        print("chaos: output=%s seed=%d events=%d written=%d delivered=%d lost=%d duplicates=%d"
              % (r.name, run.seed, events, sum(written), r.delivered, len(r.lost), dups))
        worst = max(r.per_kill.values(), default=0)
        print("  after SIGKILL: %d duplicates over %d kills (max %d per kill%s);"
              " unexplained: %d; consumer re-reads dropped: %d; unknown: %d"
              % (sum(r.per_kill.values()), len(inflight), worst,
                 ", cap %d" % a.dup_bound if a.dup_bound is not None else "",
                 len(r.unexplained), r.consumer_rereads, r.unknown))
        bound = {i: n[r.name] for i, n in inflight.items()}
        print("  per kill, duplicates / in flight at the kill (lines not checkpointed + spooled): "
              + ", ".join("i%d %d/%d" % (i, r.per_kill.get(i, 0), n)
                          for i, n in sorted(bound.items())))
        over = [i for i, n in r.per_kill.items()
                if n > bound.get(i, 0) or (a.dup_bound is not None and n > a.dup_bound)]
        if r.resent:
            print("  sent again after a failed connection, as the agent logged (sent, possibly"
                  " stored, unacknowledged): %d duplicates (%s; logged: %s)" % (
                      sum(r.resent.values()), dict(r.resent),
                      {i: n for i, n in resends.items() if n}))
        if r.resent_over:
            ok = False
            print("  MORE duplicates than the agent logged as possibly sent twice in i%s"
                  % r.resent_over)
        if r.lost:
            ok = False
            print("  LOST %d: %s" % (len(r.lost), ledger.ranges(r.lost)))
        if r.unexplained:
            ok = False
            print("  DUPLICATES not after a SIGKILL: %d, e.g. %s" % (
                len(r.unexplained), ", ".join("f=%d s=%d from i%s" % (l[0], l[1], "/i".join(
                    map(str, incs))) for l, incs in r.unexplained[:5])))
        if over:
            ok = False
            print("  DUPLICATES over the bound after kill(s) of i%s" % over)
        if r.unknown:
            ok = False
    print("  events: " + ", ".join("%s=%d" % kv for kv in sorted(run.counts.items())))
    if run.skips:
        print("  skipped: " + ", ".join("%s=%d" % kv for kv in sorted(run.skips.items())))
    if not run.tmpfs:
        print("  disk-full: SKIPPED (%s)" % run.tmpfs_reason)
    print("  reload supported by the agent: %s" % (run.agent.reload_support()
          if run.counts.get("sighup") else "not exercised (no sighup drawn)"))
    for f in run.failures:
        print("  failure: " + f)
    print("chaos: seed=%d %s" % (run.seed, "PASS" if ok else "FAIL"))
    with open(os.path.join(run.log_dir, "summary.json"), "w") as f:
        json.dump({"seed": run.seed, "written": written, "exits": run.agent.exits,
                   "kill_inflight": run.agent.kill_inflight, "events": run.counts,
                   "skipped": run.skips, "failures": run.failures, "ok": ok}, f)
    return ok


def cleanup(run, keep):
    if run.agent and run.agent.running():
        run.agent.proc.kill()
        run.agent.proc.wait()
    for c in run.consumers:
        c.stop()
    if run.writer and run.writer.p.poll() is None:
        run.writer.terminate()
    if run.kafka:
        run.kafka.close()
    if run.rabbit:
        run.rabbit.close()
    if run.tmpfs:
        subprocess.run(["umount", run.state_dir])
    if keep:
        print("run directory kept: %s" % run.run_dir)
    else:
        shutil.rmtree(run.run_dir, ignore_errors=True)


def main():
    a = parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 2**31)
    outputs = set(a.outputs.split(","))
    print("chaos: seed=%d duration=%.0fs outputs=%s files=%d rate=%d/s/file"
          " (reproduce: --seed %d)" % (seed, a.duration, a.outputs, a.files, a.rate, seed),
          flush=True)
    run = Run(a, seed)
    ok = False
    try:
        start_components(run, a, outputs)
        run.log("agent i1 running; chaos for %.0f s" % a.duration)
        chaos_loop(run, a, outputs)
        written = finish(run, a)
        ok = report(run, a, written)
    except Exception as e:
        run.fail("%s: %s" % (type(e).__name__, e))
        import traceback
        traceback.print_exc()
    finally:
        cleanup(run, a.keep or not ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
