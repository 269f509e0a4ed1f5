#!/usr/bin/env python3
"""test_ledger.py - unit tests of the chaos run's accounting (lfchaos/ledger.py, ckpt.py):
the verdicts the run relies on, each shown able to fail on a made-up delivery list."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lfchaos import ckpt, ledger  # noqa: E402
from lfchaos.consumers import Delivery  # noqa: E402


class FakeConsumer:
    def __init__(self, name, deliveries):
        self.name = name
        self.deliveries = [Delivery(*d) for d in deliveries]
        self.consumer_rereads = self.garbage = 0


def account(deliveries, written, exits, resends=None, name="kafka"):
    return ledger.account(FakeConsumer(name, deliveries), written, exits, resends or {})


class LedgerTest(unittest.TestCase):
    def test_all_once(self):
        r = account([(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1)], [2, 1], {1: "final"})
        self.assertEqual((r.delivered, r.copies, r.lost, r.unexplained), (3, 3, [], []))

    def test_missing_line_is_lost(self):
        r = account([(0, 0, 1, 1), (0, 2, 1, 1)], [3], {1: "final"})
        self.assertEqual(r.lost, [(0, 1)])

    def test_line_beyond_written_is_unknown(self):
        r = account([(0, 0, 1, 1), (0, 5, 1, 1)], [1], {1: "final"})
        self.assertEqual(r.unknown, 1)

    def test_duplicate_across_kill_is_counted_against_it(self):
        r = account([(0, 0, 1, 1), (0, 0, 2, 2)], [1], {1: "kill", 2: "final"})
        self.assertEqual((dict(r.per_kill), r.unexplained), ({1: 1}, []))

    def test_duplicate_across_term_is_unexplained(self):
        r = account([(0, 0, 1, 1), (0, 0, 2, 2)], [1], {1: "term", 2: "final"})
        self.assertEqual(len(r.unexplained), 1)

    def test_duplicate_within_one_process_is_unexplained(self):
        r = account([(0, 0, 2, 2), (0, 0, 2, 2)], [1], {1: "kill", 2: "final"})
        self.assertEqual(len(r.unexplained), 1)

    def test_spooled_by_killed_process_sent_twice_by_next_is_explained(self):
        # i1 spooled the line and was killed; i2 sent it from the spool and read it again
        r = account([(0, 0, 2, 1), (0, 0, 2, 2)], [1], {1: "kill", 2: "final"})
        self.assertEqual((dict(r.per_kill), r.unexplained), ({1: 1}, []))

    def test_logged_resend_is_allowed_up_to_the_logged_count(self):
        ds = [(0, 0, 1, 1), (0, 0, 1, 1), (0, 1, 1, 1), (0, 1, 1, 1)]
        r = account(ds, [2], {1: "final"}, {1: 2}, "rabbitmq")
        self.assertEqual((dict(r.resent), r.resent_over, r.unexplained), ({1: 2}, [], []))
        r = account(ds, [2], {1: "final"}, {1: 1}, "rabbitmq")
        self.assertEqual(r.resent_over, [1])

    def test_ranges(self):
        self.assertEqual(ledger.ranges([(0, 1), (0, 2), (0, 3), (1, 7)]), "f=0 s=1..3, f=1 s=7")


class CkptTest(unittest.TestCase):
    def test_uncheckpointed_lines(self):
        with tempfile.TemporaryDirectory() as d:
            state, logs = os.path.join(d, "state"), os.path.join(d, "logs")
            os.makedirs(os.path.join(state, "spool", "k"))
            os.makedirs(logs)
            for name, size in (("app-0.log", 1000), ("app-1.log", 500), ("app-0.log.r1", 300),
                               ("other.txt", 700)):
                with open(os.path.join(logs, name), "wb") as f:
                    f.write(b"x" * size)
            st0 = os.stat(os.path.join(logs, "app-0.log"))
            st1 = os.stat(os.path.join(logs, "app-0.log.r1"))
            with open(os.path.join(state, "checkpoints"), "w") as f:
                f.write("logferry-checkpoints 1\n")
                f.write("%d %d 0 0 800 %s/app-0.log\n" % (st0.st_dev, st0.st_ino, logs))
                f.write("%d %d 0 0 100 %s/app-0.log.r1\n" % (st1.st_dev, st1.st_ino, logs))
                f.write("end 2 0\n")
            # app-0: 200 past the offset; app-1: no entry, all 500; rotated: 200; other: none
            self.assertEqual(ckpt.uncheckpointed_lines(state, logs, "app-*.log", 100), 9)
            with open(os.path.join(state, "spool", "k", "seg-1.lfs"), "wb") as f:
                f.write(b"..chaos f=01 s=1..chaos f=02 s=9..")
            self.assertEqual(ckpt.spool_records(state, "k"), 2)
            self.assertEqual(ckpt.spool_records(state, "r"), 0)


if __name__ == "__main__":
    unittest.main()
