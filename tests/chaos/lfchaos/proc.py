"""proc - small process helpers for the chaos suite: a line-protocol child, free ports.

A LineChild is a subprocess spoken to with one command line and answered with one line
("ok ..." / "error: ..."), read with a deadline so a wedged child fails the run instead of
hanging it.
"""
import os
import select
import socket
import subprocess
import time


class ChildError(Exception):
    pass


class LineChild:
    """A subprocess with a line protocol on stdin/stdout; owns the process."""

    def __init__(self, argv, stderr_path, env=None):
        self.err = open(stderr_path, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, env=env)
        self.buf = b""

    def readline(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise ChildError("no answer from %s within %.0fs" % (self.p.args[0], timeout))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise ChildError("%s exited (rc %s)" % (self.p.args[0], self.p.poll()))
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def command(self, cmd, timeout=30):
        self.p.stdin.write((cmd + "\n").encode())
        self.p.stdin.flush()
        answer = self.readline(timeout)
        if not answer.startswith("ok"):
            raise ChildError("%s: %r -> %s" % (self.p.args[0], cmd, answer))
        return answer[2:].strip()

    def terminate(self, timeout=20):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.close()


def free_port(lo=None, hi=None):
    """A loopback TCP port nobody listens on: from [lo, hi] when given, else the kernel's."""
    candidates = range(lo, hi + 1) if lo else [0]
    for port in candidates:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise ChildError("no free port in %s..%s" % (lo, hi))


def wait_for(pred, timeout, step=0.1):
    """Polls pred() until true or timeout (a bounded wait on an observable event)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())
