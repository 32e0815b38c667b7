#!/usr/bin/python3
"""End-to-end test of `bounceguard ingest-log --follow` against a real private Postfix.

A private Postfix logs to BASE/log/postfix.log (maillog_file, no syslog) and relays everything to
a scripted fake MX that refuses one recipient with "550 5.1.1 ... User unknown". No milter and no
policy service is attached: the only way bounceguard can learn is the log. With ingest-log
--follow running, the refused recipient must be suppressed (checked with `bounceguard show
--json`) within one second of Postfix writing its status=bounced line; the accepted recipient is
not. Then ingest-log is stopped (SIGTERM: it saves its position) and started again, more mail is
sent, and every rejection is recorded exactly once (no line lost, none counted twice).
Run: /usr/bin/python3 THIS_FILE PATH/TO/bounceguard   (needs root: postfix start)
"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import bgtest  # noqa: E402

BOUNCEGUARD = None
DEAD = "dead@example.test"
DEAD2 = "dead2@example.test"
GOOD = "ok@example.test"
UNKNOWN = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"


class IngestLogFollow(unittest.TestCase):
    def setUp(self):
        self.stack = []

    def bg(self, *args):
        return subprocess.run([BOUNCEGUARD, "--config", self.conf, "--store", self.store] + list(args),
                              capture_output=True, text=True, timeout=20)

    def show(self, address):
        r = self.bg("show", "--json", address)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def follower(self, base, log_path, name):
        return bgtest.Process([BOUNCEGUARD, "--config", self.conf, "--store", self.store, "ingest-log",
                               "--follow", "--stats", "--state", os.path.join(base, "position"), log_path],
                              log_path=os.path.join(base, name))

    def wait_bounced_line(self, pf, rcpt, since):
        """Wait (polling every 10 ms) for Postfix's status=bounced line for rcpt; return the time
        it was seen."""
        pattern = r"to=<%s>,.*status=bounced" % rcpt.replace(".", r"\.")
        bgtest.wait_for(lambda: pf.log_findall(pattern, since=since), 15, interval=0.01,
                        what="the status=bounced line for %s" % rcpt)
        return time.monotonic()

    def test_follow_learns_from_the_log_without_a_milter(self):
        with bgtest.temp_base("bg-e2e-ingest-log-") as base:
            self.conf = os.path.join(base, "bounceguard.toml")
            with open(self.conf, "w") as f:
                f.write('[log]\ntarget = "stderr"\nlevel = "info"\n\n[maillog]\npoll_interval_ms = 50\n')
            self.store = "sqlite:" + os.path.join(base, "bounceguard.db")
            mx = bgtest.FakeMX(rules=[("RCPT", "dead*@example.test", UNKNOWN)])
            with mx, bgtest.PostfixInstance(os.path.join(base, "pf"), relay_port=mx.port) as pf:
                self.assertNotIn("milter", pf.postconf("-n", "smtpd_milters", "non_smtpd_milters"))
                ingest = self.follower(base, pf.log_path, "ingest-1.log")
                with ingest:
                    msg = bgtest.make_message("alice@sender.test", [DEAD, GOOD], "hello", "one\n")
                    since = pf.log_offset()
                    sent = pf.smtp_send("alice@sender.test", [DEAD, GOOD], msg)
                    self.assertEqual(sorted(sent["accepted"]), sorted([DEAD, GOOD]), sent)
                    seen = self.wait_bounced_line(pf, DEAD, since)
                    state = bgtest.wait_for(lambda: (lambda s: s if s["suppressed"] else None)(self.show(DEAD)),
                                            5, interval=0.02, what="%s suppressed" % DEAD)
                    elapsed = time.monotonic() - seen
                    print("suppressed %.3f s after the log line" % elapsed, file=sys.stderr)
                    self.assertLess(elapsed, 1.0)
                    self.assertEqual(state["category"], "user_unknown")
                    ev = state["evidence"]
                    self.assertEqual(len(ev), 1, ev)
                    self.assertEqual(ev[0]["source"], "maillog")
                    self.assertEqual(ev[0]["status"], "5.1.1")
                    self.assertEqual(ev[0]["sender"], "alice@sender.test")
                    self.assertTrue(ev[0]["queue_id"])
                    bgtest.wait_for(lambda: mx.rcpts_delivered() >= {GOOD}, 10, what="ok@ delivered")
                    self.assertFalse(self.show(GOOD)["suppressed"])
                    time.sleep(0.3)  # let it read the rest of the transaction's lines
                ingest_out = ingest.output()
                self.assertRegex(ingest_out, r"read=\d+ recognised=\d+ recorded=\d+ skipped=\d+")

                # Stopped: mail goes on and is logged meanwhile; a restart picks up where it left.
                since = pf.log_offset()
                msg = bgtest.make_message("bob@sender.test", [DEAD2], "again", "two\n")
                pf.smtp_send("bob@sender.test", [DEAD2], msg)
                self.wait_bounced_line(pf, DEAD2, since)
                with self.follower(base, pf.log_path, "ingest-2.log"):
                    bgtest.wait_for(lambda: self.show(DEAD2)["suppressed"], 5, interval=0.05,
                                    what="%s suppressed after the restart" % DEAD2)
                    time.sleep(0.3)
                # Exactly once: the first rejection was not read again after the restart.
                self.assertEqual(len(self.show(DEAD)["evidence"]), 1)
                self.assertEqual(len(self.show(DEAD2)["evidence"]), 1)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_ingest_log.py PATH/TO/bounceguard")
    BOUNCEGUARD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
