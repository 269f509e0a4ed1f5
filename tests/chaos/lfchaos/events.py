"""events - the fault classes of a chaos run. Each takes the Run and returns None when done
or a string saying why it was skipped; every event leaves things as it found them (agent
running, brokers up, disk free) so events can follow each other in any order.
"""
import errno
import os
import subprocess
import time


def _pause(run, lo, hi):
    time.sleep(run.rng.uniform(lo, hi))


def _restart_after(run, lo, hi):
    _pause(run, lo, hi)
    run.agent.start()


def _safe_to_stop(run):
    """Waits out the window in which a just-deleted file may still hold unread lines: an
    agent stopped then could not read them (nobody could: the file is gone)."""
    left = run.unsafe_until - time.monotonic()
    if left > 0:
        time.sleep(left)


def ev_kill(run):
    _safe_to_stop(run)
    run.agent.kill()
    _restart_after(run, 0.2, 2.0)


def ev_term(run):
    _safe_to_stop(run)
    rc = run.agent.term()
    if rc != 0:
        run.fail("SIGTERM: agent i%d exited with %s, expected 0" % (run.agent.inc, rc))
    _restart_after(run, 0.0, 2.0)


def ev_hup(run):
    run.agent.reload()
    _pause(run, 0.5, 1.5)
    if not run.agent.running():
        run.fail("SIGHUP: agent i%d exited (rc %s)" % (run.agent.inc, run.agent.proc.returncode))
        run.agent.start()


def _pick_file(run):
    i = run.rng.randrange(run.nfiles)
    return i, os.path.join(run.run_dir, "app-%d.log" % i)


def ev_rotate_rename(run):
    """mv app.log app.log.rN; create app.log; the application writes the old file for a
    moment; the rotated file is deleted a few seconds later."""
    i, path = _pick_file(run)
    run.rotations += 1
    rotated = "%s.r%d" % (path, run.rotations)
    os.rename(path, rotated)
    open(path, "a").close()
    run.writer.command("detach %d %d" % (i, run.rng.randint(200, 1500)))
    run.pending_deletes.append((time.monotonic() + run.rng.uniform(2, 6), rotated))


def _logrotate(run, path, directives):
    conf = os.path.join(run.run_dir, "logrotate.conf")
    with open(conf, "w") as f:
        f.write("%s {\n    %s\n    missingok\n    nocompress\n}\n"
                % (path, "\n    ".join(directives)))
    r = subprocess.run([run.logrotate, "-f", "-s", os.path.join(run.run_dir, "logrotate.state"),
                        conf], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        run.fail("logrotate failed: %s" % r.stderr.strip())


def ev_copytruncate(run):
    """Real logrotate copytruncate. The application pauses around it: lines written between
    logrotate's copy and its truncate exist only in the copy, which no tailer reads (the
    documented copytruncate loss window, not the agent's). The agent first reads the file to
    its end (lag 0), since what it has not read when the file is truncated is gone too."""
    i, path = _pick_file(run)
    if not run.agent.running():
        return "agent down"
    run.writer.command("pause %d" % i)
    try:
        if not run.wait(lambda: run.agent.file_lag(path) == 0, 15):
            return "agent did not catch up with %s within 15 s" % os.path.basename(path)
        _logrotate(run, path, ["copytruncate", "rotate 1"])
    finally:
        run.writer.command("resume %d" % i)
    return None


def ev_rotate_zero(run):
    """Real logrotate with create and rotate 0: the file is renamed and deleted at once,
    while the application still writes the old (now deleted) file for a moment."""
    i, path = _pick_file(run)
    if not run.agent.running() or time.monotonic() - run.agent.started_at < 2:
        return "agent not settled (it must hold the file open before it is deleted)"
    _logrotate(run, path, ["create", "rotate 0"])
    run.writer.command("detach %d %d" % (i, run.rng.randint(200, 1000)))
    run.unsafe_until = time.monotonic() + 8
    return None


def ev_kafka_all_down(run):
    run.kafka.down("all")
    _pause(run, 2, 10)
    run.kafka.up("all")


def ev_kafka_one_down(run):
    b = run.rng.randint(1, run.kafka.n)
    run.kafka.down(str(b))
    _pause(run, 2, 10)
    run.kafka.up(str(b))


def ev_pipebench_kafka(run):
    """Broker down -> lines written -> SIGTERM -> agent started again -> broker up."""
    _safe_to_stop(run)
    run.kafka.down("all")
    _pause(run, 2, 5)
    rc = run.agent.term()
    if rc != 0:
        run.fail("SIGTERM with Kafka down: agent i%d exited with %s" % (run.agent.inc, rc))
    run.agent.start()
    _pause(run, 1, 3)
    run.kafka.up("all")


def ev_rmq_restart(run):
    run.rabbit.stop()
    _pause(run, 1, 4)
    run.rabbit.start()


def ev_rmq_cut(run):
    if not run.rabbit.close_connections():
        run.fail("rabbitmqctl close_all_connections failed")


def ev_pipebench_rmq(run):
    """The PipeBench case with rabbitmq-server as the output."""
    _safe_to_stop(run)
    run.rabbit.stop()
    _pause(run, 2, 5)
    rc = run.agent.term()
    if rc != 0:
        run.fail("SIGTERM with RabbitMQ down: agent i%d exited with %s" % (run.agent.inc, rc))
    run.agent.start()
    _pause(run, 1, 3)
    run.rabbit.start()


def _fill(path):
    """Writes a file until the file system refuses (ENOSPC); returns the bytes written."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 4096, 512):
            block = b"\0" * chunk
            while True:
                try:
                    f.write(block)
                    n += chunk
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return n


def ev_disk_full(run):
    """state_dir's tmpfs filled to the last byte for a few seconds (checkpoints and spool
    cannot be written), half of the time during a Kafka outage (so the spool is needed)."""
    if not run.tmpfs:
        return "skipped: %s" % run.tmpfs_reason
    filler = os.path.join(run.state_dir, "chaos-filler")
    _fill(filler)
    outage = run.kafka is not None and run.rng.random() < 0.5
    if outage:
        run.kafka.down("all")
    _pause(run, 3, 8)
    if outage:
        run.kafka.up("all")
    os.unlink(filler)
    return None


# name -> (function, weight, needs): needs is None, 'kafka' or 'rabbitmq'
EVENTS = {
    "sigkill": (ev_kill, 3, None),
    "sigterm": (ev_term, 2, None),
    "sighup": (ev_hup, 2, None),
    "rotate-rename": (ev_rotate_rename, 2, None),
    "rotate-copytruncate": (ev_copytruncate, 2, None),
    "rotate-0": (ev_rotate_zero, 1, None),
    "kafka-all-down": (ev_kafka_all_down, 2, "kafka"),
    "kafka-broker-down": (ev_kafka_one_down, 2, "kafka"),
    "pipebench-kafka": (ev_pipebench_kafka, 1, "kafka"),
    "rabbitmq-restart": (ev_rmq_restart, 1, "rabbitmq"),
    "rabbitmq-cut": (ev_rmq_cut, 2, "rabbitmq"),
    "pipebench-rabbitmq": (ev_pipebench_rmq, 1, "rabbitmq"),
    "disk-full": (ev_disk_full, 1, None),
}
