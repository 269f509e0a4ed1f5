#!/usr/bin/env python3
"""writer.py - the application under the chaos run: appends numbered lines to log files.

Each of N files gets RATE lines/s, each line exactly LINE_BYTES long and carrying its
unique id (file index, sequence number from 0):  "chaos f=03 s=000001234 xxxx...\n".
Lines go out with O_APPEND writes of whole lines, so a reader never sees a torn line.

Commands on stdin, one per line, each answered "ok ..." on stdout once done:
  pause I          stop writing file I (e.g. around a copytruncate)
  resume I         write file I again (catching up the lines due meanwhile)
  detach I MS      the file was rotated away: keep writing the old descriptor for MS ms
                   (the application has not noticed yet), then reopen the path (O_CREAT)
  stop             stop writing; answer "ok {json counts}" with the lines per file
"""
import json
import os
import select
import sys
import time


class LogFile:
    """One log file written at a steady rate; owns its descriptor."""

    def __init__(self, path, index, rate, line_bytes, t0):
        self.path, self.index, self.rate = path, index, rate
        self.line_bytes = line_bytes
        self.seq = 0
        self.t0 = t0
        self.paused = False
        self.reopen_at = None
        self.fd = self._open()

    def _open(self):
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def line(self, seq):
        head = "chaos f=%02d s=%09d " % (self.index, seq)
        return head + "x" * (self.line_bytes - len(head) - 1) + "\n"

    def pump(self, now):
        """Writes the lines due by now (rate * elapsed), at most 1 s worth at once."""
        if self.reopen_at is not None and now >= self.reopen_at:
            os.close(self.fd)
            self.fd = self._open()
            self.reopen_at = None
        if self.paused:
            return
        due = int((now - self.t0) * self.rate)
        n = min(due - self.seq, max(1, self.rate))
        if n <= 0:
            return
        buf = "".join(self.line(self.seq + i) for i in range(n)).encode()
        os.write(self.fd, buf)
        self.seq += n


def handle(cmd, files, now):
    """Runs one command; returns the answer line, or None to stop."""
    parts = cmd.split()
    if not parts:
        return ""
    if parts[0] == "stop":
        return None
    f = files[int(parts[1])]
    if parts[0] == "pause":
        f.paused = True
    elif parts[0] == "resume":
        f.paused = False
    elif parts[0] == "detach":
        f.reopen_at = now + int(parts[2]) / 1000.0
    else:
        return "error: unknown command " + parts[0]
    return "ok %s %d" % (parts[0], f.seq)


def main():
    d, nfiles, rate, line_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    t0 = time.monotonic()
    files = [LogFile(os.path.join(d, "app-%d.log" % i), i, rate, line_bytes, t0)
             for i in range(nfiles)]
    print("ok started", flush=True)
    pending = b""
    while True:
        r, _, _ = select.select([sys.stdin], [], [], 0.01)
        now = time.monotonic()
        if r:
            chunk = os.read(sys.stdin.fileno(), 4096)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                cmd, pending = pending.split(b"\n", 1)
                answer = handle(cmd.decode(), files, now)
                if answer is None:
                    print("ok " + json.dumps([f.seq for f in files]), flush=True)
                    return 0
                if answer:
                    print(answer, flush=True)
        for f in files:
            f.pump(now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
