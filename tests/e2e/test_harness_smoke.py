#!/usr/bin/python3
"""Smoke test of the end-to-end harness (tests/e2e/lib/bgtest.py) against a real private Postfix.

A fake MX refuses one recipient with "550 5.1.1 ... User unknown" and accepts another. One message
goes in by SMTP, one by sendmail(1). Asserts: the MX got the good recipients and refused the bad
one; Postfix logged status=bounced for it; the bounce (a multipart/report DSN naming it with
status 5.1.1) came back into each sender's mailbox under BASE; the queue drains; stop() leaves no
process of the instance behind. Needs root (postfix start). Run: /usr/bin/python3 THIS_FILE
"""
import email
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import bgtest  # noqa: E402

BAD = "unknown@example.test"
UNKNOWN = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"


def dsn_reports(raw):
    """(Final-Recipient, Action, Status) of every recipient in a multipart/report DSN."""
    msg = email.message_from_bytes(raw)
    out = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        # the parser gives the per-message block first, then one block per recipient
        for block in part.get_payload():
            if block.get("Final-Recipient"):
                out.append((block["Final-Recipient"].split(";", 1)[1].strip().lower(),
                            block["Action"].strip().lower(), block["Status"].strip()))
    return out


class HarnessSmoke(unittest.TestCase):
    def test_bounce_cycle(self):
        t0 = time.monotonic()
        with bgtest.temp_base() as base, \
                bgtest.FakeMX([("RCPT", BAD, UNKNOWN)]) as mx, \
                bgtest.PostfixInstance(os.path.join(base, "pf"), relay_port=mx.port) as pf:
            t_up = time.monotonic() - t0

            # 1. SMTP: one good, one bad recipient; Postfix accepts both (it cannot know yet)
            r = pf.smtp_send("alice@sender.test", ["good@example.test", BAD],
                             bgtest.make_message("alice@sender.test",
                                                 ["good@example.test", BAD], "smtp", "one\n"))
            self.assertIsNone(r["error"])
            self.assertEqual(r["rcpts"]["good@example.test"][0], 250)
            self.assertEqual(r["rcpts"][BAD][0], 250)
            self.assertEqual(r["data"][0], 250, r)
            self.assertTrue(r["queue_id"])

            # 2. sendmail(1)
            p = pf.sendmail("bob@sender.test", ["good2@example.test", BAD],
                            bgtest.make_message("bob@sender.test",
                                                ["good2@example.test", BAD], "sendmail", "two\n"))
            self.assertEqual(p.returncode, 0, p.stderr)

            # the MX got exactly the good recipients and refused the bad one twice
            mx.wait_for(lambda txs: {"good@example.test", "good2@example.test"}
                        <= {x for t in txs if t["accepted"] for x in t["rcpts"]}, 10)
            self.assertNotIn(BAD, mx.rcpts_delivered())
            refused = [(rc, rep) for t in mx.transactions for rc, rep in t["rcpts_rejected"]]
            self.assertGreaterEqual(len(refused), 2, refused)
            self.assertTrue(all(rc == BAD and rep.startswith("550 5.1.1 <%s>" % BAD)
                                for rc, rep in refused), refused)

            # Postfix logged the hard bounce, for the SMTP message by its queue id
            pf.wait_log(r"postfix/smtp\[\d+\]: %s: to=<%s>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d,"
                        r".* dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said:"
                        r" 550 5\.1\.1 <%s>: Recipient address rejected: User unknown"
                        % (r["queue_id"], BAD, mx.port, BAD), 10)
            self.assertEqual(len(pf.wait_log(r"(?s)(to=<unknown@example\.test>.*status=bounced"
                                             r".*){2}", 10).group(0)) > 0, True)

            # the DSNs came back into the senders' mailboxes under BASE
            for sender in ("alice@sender.test", "bob@sender.test"):
                raws = bgtest.wait_for(lambda s=sender: pf.bounces(s), 10,
                                       what="a DSN in %s's mailbox" % sender)
                self.assertEqual(len(raws), 1)
                msg = email.message_from_bytes(raws[0])
                self.assertEqual(msg.get_content_type(), "multipart/report")
                self.assertEqual(msg.get_param("report-type"), "delivery-status")
                self.assertIn(sender, msg["To"])
                self.assertEqual(dsn_reports(raws[0]), [(BAD, "failed", "5.1.1")])
                self.assertTrue(pf.delivered(sender))
                self.assertTrue(raws[0].startswith(b"Return-Path: <>"), raws[0][:200])
            # no bounce went out to the MX, nothing else was delivered locally
            self.assertTrue(all(t["mail_from"] for t in mx.transactions))
            self.assertEqual(len(pf.delivered()), 2)

            pf.wait_queue_empty(10)
            self.assertTrue(pf.queue_empty())
            master = pf._master_pid()
            self.assertTrue(master)
            kids = pf._descendants(master)
            self.assertTrue(kids)
            t_mail = time.monotonic() - t0 - t_up

        # after the with-block: instance stopped, nothing of it left running, MX closed
        self.assertFalse(any(pf._alive(p) for p in [master] + kids))
        print("harness smoke: up %.2fs, mail+bounces %.2fs, total %.2fs"
              % (t_up, t_mail, time.monotonic() - t0), file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
