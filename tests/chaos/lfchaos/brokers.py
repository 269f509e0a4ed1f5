"""brokers - the real brokers of a chaos run: mock-kafka (librdkafka's mock cluster as a
loopback process, tests/tools/mock-kafka) and a private rabbitmq-server node
(tests/lib/rabbitmq.sh). Each can be taken down and brought back up by the events.
"""
import fcntl
import os
import subprocess
import tempfile

from .proc import LineChild, free_port


class MockKafka:
    """mock-kafka with BROKERS brokers and one topic; down/up all or one broker."""

    def __init__(self, exe, workdir, brokers, topic, partitions):
        self.n = brokers
        self.topic = topic
        self.child = LineChild([exe, "-b", str(brokers), "-t",
                                "%s:%d:%d" % (topic, partitions, brokers)],
                               os.path.join(workdir, "mock-kafka.err"))
        self.bootstraps = self.child.readline(30)
        self.down_set = set()

    def down(self, which):
        self.child.command("down %s" % which)
        self.down_set |= set(range(1, self.n + 1)) if which == "all" else {int(which)}

    def up(self, which):
        self.child.command("up %s" % which)
        self.down_set -= set(range(1, self.n + 1)) if which == "all" else {int(which)}

    def hwm(self):
        return int(self.child.command("hwm %s" % self.topic))

    def close(self):
        self.child.terminate()


class Rabbit:
    """A private rabbitmq-server node on 127.0.0.1 (ports from the run's range)."""

    def __init__(self, launcher, port_lo, port_hi, dist_offset):
        self.launcher = launcher
        self.dir = tempfile.mkdtemp(prefix="lf14c-rmq-", dir="/tmp")
        self.lock = None
        self.port = self._claim_port(port_lo, port_hi, dist_offset)
        self.dist = self.port + dist_offset
        self.node = "lf14c%d@localhost" % self.port
        self.up_now = False
        self.url = "amqp://guest:guest@127.0.0.1:%d/%%2f" % self.port

    def _claim_port(self, lo, hi, dist_offset):
        """A port of [lo, hi] that is free and that no other run holds: each run keeps a lock
        on /tmp/lf14c-rmq-port-PORT.lock while it lives, since its node's port looks free
        while the node is stopped by an event."""
        for port in range(lo, hi + 1):
            f = open("/tmp/lf14c-rmq-port-%d.lock" % port, "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            try:
                free_port(port, port)
                free_port(port + dist_offset, port + dist_offset)
            except Exception:
                f.close()
                continue
            self.lock = f
            return port
        raise RuntimeError("no free RabbitMQ port in %d..%d" % (lo, hi))

    def _run(self, *args, timeout=120):
        return subprocess.run([self.launcher] + list(args), capture_output=True, text=True,
                              timeout=timeout)

    def start(self):
        r = self._run("start", self.dir, self.node, str(self.port), str(self.dist), "90")
        if r.returncode != 0:
            raise RuntimeError("rabbitmq start failed: %s" % r.stderr.strip())
        self.up_now = True

    def stop(self):
        self._run("stop", self.dir, self.node, "60")
        self.up_now = False

    def close_connections(self):
        r = self._run("ctl", self.dir, self.node, "close_all_connections", "chaos cut",
                      timeout=60)
        return r.returncode == 0

    def close(self):
        if self.up_now:
            self.stop()
        subprocess.run(["rm", "-rf", self.dir])
        if self.lock:
            self.lock.close()
