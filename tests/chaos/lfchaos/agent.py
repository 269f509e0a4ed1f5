"""agent - the logferry process of a chaos run: its config, start, SIGTERM, SIGKILL, SIGHUP.

Every start is a new incarnation; the agent name is chaos-i<incarnation>, which the RabbitMQ
output sends as app_id, and the Kafka output sends a constant header chaos-sender with it,
so the ledger knows which process sent each copy of a line (host.name in the record is the
process that read it: not the same for records sent from the spool after a restart). A SIGHUP
rewrites the config with one harmless option toggled (kafka linger, or rabbitmq
max_in_flight, and a second file output added or removed) before signalling.
"""
import os
import re
import signal
import subprocess
import time
import urllib.request

from .ckpt import spool_records, uncheckpointed_lines
from .proc import free_port, wait_for


class Agent:
    def __init__(self, exe, plugin_dir, run_dir, state_dir, log_dir, outputs, settings):
        self.exe, self.plugin_dir = exe, plugin_dir
        self.run_dir, self.state_dir, self.log_dir = run_dir, state_dir, log_dir
        self.outputs = outputs  # dict: kafka -> bootstraps, rabbitmq -> url
        self.s = settings  # checkpoint_interval_ms, memory_limit, shutdown_timeout_s
        self.cfg = os.path.join(run_dir, "logferry.yaml")
        self.http_port = free_port()
        self.inc = 0
        self.proc = None
        self.variant = 0  # toggled by reload()
        self.started_at = 0.0
        self.exits = []  # (incarnation, how, rc)
        self.kill_inflight = {}  # killed incarnation -> lines written, not checkpointed

    def _config(self):
        s = self.s
        v = self.variant
        lines = [
            "agent: { name: chaos-i%d, state_dir: %s, %sshutdown_timeout: %ds,"
            " checkpoint_interval: %dms, memory_limit: %s, log_level: info,"
            " http: { listen: '127.0.0.1:%d' } }"
            % (self.inc, self.state_dir,
               "plugin_dir: %s, " % self.plugin_dir if self.plugin_dir else "",
               s["shutdown_timeout_s"],
               s["checkpoint_interval_ms"], s["memory_limit"], self.http_port),
            "inputs:",
            "  - { name: app, paths: [%s/app-*.log], start_at: beginning, rotate_wait: 2s,"
            " poll_interval: 250ms }" % self.run_dir,
            "outputs:",
        ]
        if "kafka" in self.outputs:
            lines.append("  - { name: k, plugin: kafka, brokers: [%s], topic: chaos,"
                         " key: '{{id}}', linger: %s, headers: { chaos-sender: chaos-i%d } }"
                         % (self.outputs["kafka"], "20ms" if v else "5ms", self.inc))
        if "rabbitmq" in self.outputs:
            lines.append("  - { name: r, plugin: rabbitmq, url: '%s', exchange: chaos,"
                         " routing_key: '{{type}}', reconnect_max_backoff: 2s,"
                         " max_in_flight: %d }"
                         % (self.outputs["rabbitmq"], 1024 if v else 2048))
        if v:
            lines.append("  - { name: copy, plugin: file, path: %s/copy.jsonl }" % self.log_dir)
        lines += [
            "buffer: { max_size: 48MiB, segment_size: 1MiB }",
            "breaker: { open_for: 1s, max_open_for: 4s, stall_timeout: 3s }",
        ]
        with open(self.cfg + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(self.cfg + ".tmp", self.cfg)

    def log_path(self, inc=None):
        return os.path.join(self.log_dir, "agent-i%d.log" % (self.inc if inc is None else inc))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.running()
        self.inc += 1
        self._config()
        with open(self.log_path(), "wb") as log:
            self.proc = subprocess.Popen([self.exe, "run", "-c", self.cfg], stdout=log,
                                         stderr=subprocess.STDOUT)
        self.started_at = time.monotonic()
        if not wait_for(lambda: self.metrics() is not None or not self.running(), 30):
            raise RuntimeError("agent i%d: no HTTP endpoint after 30 s" % self.inc)
        if not self.running():
            raise RuntimeError("agent i%d exited at start: rc %s (see %s)"
                               % (self.inc, self.proc.returncode, self.log_path()))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.exits.append((self.inc, "kill", self.proc.returncode))
        lines = uncheckpointed_lines(self.state_dir, self.run_dir, "app-*.log",
                                     self.s["line_bytes"])
        self.kill_inflight[self.inc] = {
            out: lines + spool_records(self.state_dir, name)
            for out, name in (("kafka", "k"), ("rabbitmq", "r")) if out in self.outputs}

    def term(self):
        """SIGTERM and wait for the exit; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(self.s["shutdown_timeout_s"] + 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "hung"
        self.exits.append((self.inc, "term", rc))
        return rc

    def reload(self):
        self.variant ^= 1
        self._config()
        self.proc.send_signal(signal.SIGHUP)

    def reload_support(self):
        """'yes' when the agent logged a reload, 'no' when it said it ignores SIGHUP."""
        said_no = said_yes = False
        for inc in range(1, self.inc + 1):
            try:
                with open(self.log_path(inc), errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            said_no |= "reload is not supported" in text
            said_yes |= bool(re.search(r"reload(ed)?\b(?!.*not supported)", text)) and \
                "reload is not supported" not in text
        return "yes" if said_yes else ("no" if said_no else "unknown")

    RESENT_RE = {
        # AMQP 0-9-1: a publish whose confirm the lost connection took is published again
        "rabbitmq": re.compile(r"(\d+) unconfirmed records? retried"),
        # Kafka: records handed back to the spool after being sent (librdkafka's
        # POSSIBLY_PERSISTED) when the breaker opens or the shutdown deadline passes
        "kafka": re.compile(r"(\d+) of them possibly stored already"),
    }

    def logged_resends(self, output):
        """{incarnation: records the agent said it may send twice} for an output."""
        out = {}
        for inc in range(1, self.inc + 1):
            try:
                with open(self.log_path(inc), errors="replace") as f:
                    out[inc] = sum(int(n) for n in self.RESENT_RE[output].findall(f.read()))
            except OSError:
                pass
        return out

    def metrics(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.http_port,
                                        timeout=2) as r:
                return r.read().decode()
        except OSError:
            return None

    def file_lag(self, path):
        """logferry_file_lag_bytes of path (None when unknown or the agent is down)."""
        m = self.metrics()
        if m is None:
            return None
        for line in m.splitlines():
            if line.startswith("logferry_file_lag_bytes{") and 'file="%s"' % path in line:
                return float(line.rsplit(" ", 1)[1])
        return None
