"""ledger - the final accounting: every written line looked up at every output's consumer.

A line is lost when no copy of it arrived. Each copy names the process that read the line
(host.name) and the one that sent it (a spooled record may be sent by a later process). A
second copy is explained only by a SIGKILL between the processes involved in the two copies
(the killed process sent or spooled the line, its checkpoint or spool state on disk had not
caught up, the next process read or sent it again). Those count against the kill; any other
duplicate (within one process, or across a SIGTERM, a reload or an outage) is a failure,
with one exception: a
record sent, possibly stored by the broker, whose acknowledgement the failed connection took,
is sent again (AMQP: publish confirm lost, "N unconfirmed records retried"; Kafka: handed
back to the spool after being sent, "N of them possibly stored already"). Such a copy counts
against the count the sending process logged, and fails only beyond it.
Per kill, duplicates must stay within the bound (docs/chaos.md: records read but not yet
checkpointed).
"""
from collections import defaultdict


class OutputResult:
    def __init__(self, name):
        self.name = name
        self.delivered = 0  # distinct lines
        self.copies = 0
        self.lost = []
        self.unknown = 0
        self.per_kill = defaultdict(int)  # killed incarnation -> duplicates
        self.unexplained = []  # (line id, incarnations of its copies)
        self.resent = defaultdict(int)  # incarnation -> duplicates it logged it may send
        self.resent_over = []  # incarnations whose such duplicates exceed their log
        self.consumer_rereads = 0


def account(consumer, written, exits, logged_resends):
    """written: lines per file; exits: {incarnation: 'kill'|'term'|'final'};
    logged_resends: {incarnation: records it logged it may send twice} (this output)."""
    res = OutputResult(consumer.name)
    res.consumer_rereads = consumer.consumer_rereads + consumer.garbage
    copies = defaultdict(list)
    for d in consumer.deliveries:
        if d.file >= len(written) or d.seq >= written[d.file]:
            res.unknown += 1
            continue
        copies[(d.file, d.seq)].append((d.inc, d.reader))
    res.copies = sum(len(v) for v in copies.values())
    res.delivered = len(copies)
    for f, n in enumerate(written):
        for s in range(n):
            if (f, s) not in copies:
                res.lost.append((f, s))
    for lid, pairs in copies.items():
        pairs.sort()
        for (a, ra), (b, rb) in zip(pairs, pairs[1:]):
            lo, hi = min(a, b, ra, rb), max(a, b, ra, rb)
            kills = [i for i in range(lo, hi) if exits.get(i) == "kill"]
            if kills:
                res.per_kill[kills[-1]] += 1
            elif logged_resends.get(a, 0) > 0:
                res.resent[a] += 1
            else:
                res.unexplained.append((lid, tuple(i for i, _ in pairs)))
    res.resent_over = [i for i, n in res.resent.items() if n > logged_resends.get(i, 0)]
    return res


def ranges(ids, limit=8):
    """'f=1 s=10..19, f=2 s=5' for a sorted list of line ids (first few ranges)."""
    out, start, prev = [], None, None
    for lid in sorted(ids) + [None]:
        if start and lid and lid[0] == prev[0] and lid[1] == prev[1] + 1:
            prev = lid
            continue
        if start:
            out.append("f=%d s=%d" % start + ("..%d" % prev[1] if prev != start else ""))
        start = prev = lid
    more = " (+%d ranges)" % (len(out) - limit) if len(out) > limit else ""
    return ", ".join(out[:limit]) + more
