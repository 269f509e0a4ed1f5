"""ckpt - what a SIGKILLed agent leaves to its successor: lines not covered by its checkpoint.

Reads the checkpoint file in state_dir (format: agent/core/lf_ckpt.c, "<dev> <ino> <fp_len>
<fp_hash> <offset> <path>" per entry) right after the kill and counts, over the log files on
disk, the bytes the next process will read again: size - offset for a file it knows (all of
it when the file shrank: it starts again), the whole file for a file of the input's glob it
has no entry for. Every line has the same length, so bytes / line_bytes is the number of
records written but not checkpointed: an upper bound of what the killed process had read
and not checkpointed. Records in an output's spool count as done for the checkpoint, but
the spool may not have saved that some were sent: spool_records() counts the records in an
output's spool segments at the kill, which the next process may send again. The sum of the
two bounds the duplicates that kill can explain at that output.
"""
import fnmatch
import os

HEADER = "logferry-checkpoints 1"


def _find(state_dir):
    for root, _, names in os.walk(state_dir):
        for n in names:
            p = os.path.join(root, n)
            try:
                with open(p, errors="replace") as f:
                    if f.readline().strip() == HEADER:
                        return p
            except OSError:
                continue
    return None


def _entries(path):
    out = {}
    if path is None:
        return out
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.split(" ", 5)
            if len(parts) == 6 and parts[0].isdigit():
                out[(int(parts[0]), int(parts[1]))] = int(parts[4])
    return out


def uncheckpointed_lines(state_dir, log_dir, glob, line_bytes):
    """Lines on disk past the saved checkpoint (see the module comment)."""
    known = _entries(_find(state_dir))
    total = 0
    for name in os.listdir(log_dir):
        p = os.path.join(log_dir, name)
        try:
            st = os.stat(p)
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in known:
            off = known[key]
            total += st.st_size - off if st.st_size >= off else st.st_size
        elif fnmatch.fnmatch(name, glob):
            total += st.st_size
    return -(-total // line_bytes)


def spool_records(state_dir, output):
    """Records (lines of the run) held in state_dir/spool/OUTPUT's segment files."""
    d = os.path.join(state_dir, "spool", output)
    n = 0
    try:
        names = os.listdir(d)
    except OSError:
        return 0
    for name in names:
        try:
            with open(os.path.join(d, name), "rb") as f:
                n += f.read().count(b"chaos f=")
        except OSError:
            continue
    return n
