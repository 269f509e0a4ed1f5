"""consumers - live readers of what reached the brokers, started before the agent.

Kafka: kcat, from the beginning of every partition, one line per message
"<partition> <offset> <value>"; the mock cluster keeps only a few MiB per partition, so it
reads while the run goes. RabbitMQ: rmq_consume.py (pika, manual acks). Both write to a
file; parse() turns it into deliveries (line id, sending agent incarnation), dropping
consumer-side re-reads: the same Kafka (partition, offset) twice, or an AMQP message the
broker marked redelivered whose record id this consumer already saw.
"""
import re
import subprocess
import threading
import time


LINE_RE = re.compile(rb'"message":"chaos f=(\d+) s=(\d+) ')
SENDER_RE = re.compile(rb'^chaos-i(\d+)$')
READER_RE = re.compile(rb'"host\.name":"chaos-i(\d+)"')
ID_RE = re.compile(rb'"id":"([0-9a-f]{32})"')


class Delivery:
    """One copy of a line: sent by process inc, read from its file by process reader."""

    __slots__ = ("file", "seq", "inc", "reader")

    def __init__(self, file, seq, inc, reader):
        self.file, self.seq, self.inc, self.reader = file, seq, inc, reader


def _parse_record(sender, body):
    """sender: the sending process's agent name, set when it sent the message (a Kafka header
    from its config, the AMQP app_id); host.name in the body is the process that read the
    line, which differs for records sent from the spool by a later process."""
    m = LINE_RE.search(body)
    h = SENDER_RE.match(sender)
    r = READER_RE.search(body)
    if not m or not h or not r:
        return None
    return Delivery(int(m.group(1)), int(m.group(2)), int(h.group(1)), int(r.group(1)))


class Consumer:
    """Base: a child process appending to self.path; parse() reads what is new."""

    name = "?"

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.deliveries = []
        self.consumer_rereads = 0
        self.garbage = 0
        self.proc = None

    def poll(self):
        """Parses the lines appended since the last call; returns the delivery count."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            self._parse_line(line)
        return len(self.deliveries)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class KafkaConsumer(Consumer):
    """One kcat per partition, each restarted at its next offset when it exits (kcat gives up
    when all brokers are down); a supervisor thread restarts them within half a second."""

    name = "kafka"

    def __init__(self, kcat, bootstraps, topic, partitions, path):
        super().__init__(path)
        self.kcat, self.bootstraps, self.topic = kcat, bootstraps, topic
        self.next = [0] * partitions  # next offset to ask for, per partition
        self.procs = [None] * partitions
        self.offsets = [0] * partitions  # parse position in each partition's file
        self.restarts = 0
        self.lock = threading.Lock()
        self.stopping = False
        for p in range(partitions):
            open(self._path(p), "wb").close()
            self._spawn(p)
        self.thread = threading.Thread(target=self._supervise, daemon=True)
        self.thread.start()

    def _path(self, p):
        return "%s.p%d" % (self.path, p)

    def _spawn(self, p):
        with open(self._path(p), "ab") as out, open(self.path + ".err", "ab") as err:
            self.procs[p] = subprocess.Popen(
                [self.kcat, "-C", "-b", self.bootstraps, "-t", self.topic, "-p", str(p),
                 "-o", str(self.next[p]), "-u", "-q", "-f", "%o %h %s\\n",
                 "-X", "reconnect.backoff.max.ms=1000"], stdout=out, stderr=err)

    def _supervise(self):
        while not self.stopping:
            time.sleep(0.5)
            with self.lock:
                for p, proc in enumerate(self.procs):
                    if proc.poll() is not None and not self.stopping:
                        self._read(p)
                        self.restarts += 1
                        self._spawn(p)

    def _read(self, p):
        with open(self._path(p), "rb") as f:
            f.seek(self.offsets[p])
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offsets[p] += end
        for line in data[:end].splitlines():
            off, _, rest = line.partition(b" ")
            headers, _, value = rest.partition(b" ")
            sender = b""
            for kv in headers.split(b","):
                if kv.startswith(b"chaos-sender="):
                    sender = kv[len(b"chaos-sender="):]
            if not off.isdigit():
                self.garbage += 1
                continue
            if int(off) < self.next[p]:
                self.consumer_rereads += 1
                continue
            self.next[p] = int(off) + 1
            d = _parse_record(sender, value)
            if d is None:
                self.garbage += 1
            else:
                self.deliveries.append(d)

    def poll(self):
        with self.lock:
            for p in range(len(self.procs)):
                self._read(p)
        return len(self.deliveries)

    def stop(self):
        self.stopping = True
        with self.lock:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait()


class RabbitConsumer(Consumer):
    name = "rabbitmq"

    def __init__(self, python, script, url, exchange, queue, path):
        super().__init__(path)
        self.seen_ids = set()
        open(path, "wb").close()
        self.err = open(path + ".err", "wb")
        self.proc = subprocess.Popen([python, script, url, exchange, queue, path],
                                     stdout=subprocess.PIPE, stderr=self.err)
        ready = self.proc.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError("rmq consumer did not start: %r" % ready)

    def _parse_line(self, line):
        redelivered, _, rest = line.partition(b"\t")
        sender, _, body = rest.partition(b"\t")
        m = ID_RE.search(body)
        rid = m.group(1) if m else None
        if redelivered == b"1" and rid in self.seen_ids:
            self.consumer_rereads += 1
            return
        self.seen_ids.add(rid)
        d = _parse_record(sender, body)
        if d is None:
            self.garbage += 1
        else:
            self.deliveries.append(d)
