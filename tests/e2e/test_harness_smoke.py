#!/usr/bin/python3
"""Smoke test of the end-to-end harness (tests/e2e/lib/bgtest.py) against a real private Postfix.

A fake MX refuses one recipient with "550 5.1.1 ... User unknown" and accepts another. One message
goes in by SMTP, one by sendmail(1). Asserts: the MX got the good recipients and refused the bad
one; Postfix logged status=bounced for it; the bounce (a multipart/report DSN naming it with
status 5.1.1) came back into each sender's mailbox under BASE; the queue drains. Then a 450 is
retried and delivered once the MX accepts; with TRY_ONCE (set_main_cf + reload) it comes back at
once as an expired DSN (4.2.1); a policy service (policy_config, Process) refuses a recipient at
RCPT; a milter that is down (milter_config) gives 451 4.7.1; stop() leaves no process behind.
The fake MX is also checked by itself with smtplib. Needs root (postfix start).
Run: /usr/bin/python3 THIS_FILE  (BG_E2E_KEEP=1 keeps the instance's directory)
"""
import email
import os
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import bgtest  # noqa: E402

BAD = "unknown@example.test"
UNKNOWN = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"


# A minimal policy service (stdlib), started with bgtest.Process: refuses blocked@example.test.
POLICY_SERVER = r"""
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        req = {}
        for raw in self.rfile:
            line = raw.decode().rstrip("\n")
            if line:
                k, _, v = line.partition("="); req[k] = v; continue
            bad = req.get("recipient") == "blocked@example.test"
            act = "550 5.1.1 previously hard-bounced" if bad else "DUNNO"
            self.wfile.write(("action=%s\n\n" % act).encode()); req = {}
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True; daemon_threads = True
print("policy ready", flush=True)
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


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
        policy_port = bgtest.free_port()
        with bgtest.temp_base() as base, \
                bgtest.FakeMX([("RCPT", BAD, UNKNOWN)]) as mx, \
                bgtest.Process(["/usr/bin/python3", "-c", POLICY_SERVER, policy_port],
                               log_path=os.path.join(base, "policy.log"),
                               ready_port=policy_port) as policy, \
                bgtest.PostfixInstance(os.path.join(base, "pf"), relay_port=mx.port,
                                       main_cf=bgtest.policy_config(
                                           "inet:127.0.0.1:%d" % policy_port)) as pf:
            t_up = time.monotonic() - t0
            self.assertTrue(policy.alive())
            self.assertEqual(pf.check_output, "")      # the configuration is postfix check-clean

            # 0. the policy hook: a refused recipient at RCPT TO, on both listeners; the rest goes
            r = pf.smtp_send("alice@sender.test", ["blocked@example.test", "ok0@example.test"],
                             bgtest.make_message("alice@sender.test", ["ok0@example.test"],
                                                 "policy", "zero\n"),
                             port=pf.submission_port)
            self.assertEqual(r["rcpts"]["blocked@example.test"],
                             (550, "5.1.1 <blocked@example.test>: Recipient address rejected: "
                                   "previously hard-bounced"))
            self.assertEqual(r["accepted"], ["ok0@example.test"])
            self.assertEqual(r["data"][0], 250)
            pf.wait_log(r"postfix/submission/smtpd\[\d+\]: NOQUEUE: reject: RCPT from "
                        r"localhost\[127\.0\.0\.1\]: 550 5\.1\.1 <blocked@example\.test>", 5)
            r = pf.smtp_send("alice@sender.test", ["blocked@example.test"], b"Subject: x\r\n\r\nx\r\n")
            self.assertEqual(r["rcpts"]["blocked@example.test"][0], 550)
            self.assertIsNone(r["data"])
            mx.wait_for(lambda txs: "ok0@example.test" in mx.rcpts_delivered(), 10)
            pf.wait_queue_empty(10)
            mx.clear()

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
            self.assertEqual(len(pf.log_findall(r"status=bounced \(host")), 2)
            bounced = [d for d in pf.deliveries() if d["status"] == "bounced" and d["to"] == BAD]
            self.assertEqual(len(bounced), 2, pf.deliveries())
            self.assertEqual(bounced[0]["program"], "postfix/smtp")
            self.assertEqual(bounced[0]["dsn"], "5.1.1")
            self.assertEqual(bounced[0]["reply"], UNKNOWN.replace("{rcpt}", BAD))
            self.assertIn(r["queue_id"], {d["queue_id"] for d in bounced})

            pf.wait_queue_empty(10)
            self.assertTrue(pf.queue_empty())

            # 3. a 4xx is deferred and retried quickly; the retry succeeds once the MX accepts
            mx.set_rules([("RCPT", "later@example.test", "450 4.2.1 <{rcpt}>: Mailbox busy")])
            mark = pf.log_offset()
            r = pf.smtp_send("carol@sender.test", ["later@example.test"],
                             bgtest.make_message("carol@sender.test", ["later@example.test"],
                                                 "retry", "three\n"))
            self.assertEqual(r["data"][0], 250, r)
            pf.wait_log(r"to=<later@example\.test>, .*dsn=4\.2\.1, status=deferred", 10, mark)
            self.assertFalse(pf.queue_empty())
            mx.set_rules([])
            pf.wait_log(r"to=<later@example\.test>, .*status=sent", 10, mark)
            pf.wait_queue_empty(10)
            self.assertIn("later@example.test", mx.rcpts_delivered())
            self.assertEqual(pf.bounces("carol@sender.test"), [])

            # 4. try once (set_main_cf + reload): a 4xx comes back at once as an expired DSN
            pf.set_main_cf(bgtest.TRY_ONCE)
            pf.reload()
            self.assertEqual(pf.postconf("-h", "maximal_queue_lifetime").strip(), "0")
            mx.set_rules([("RCPT", "later@example.test", "450 4.2.1 <{rcpt}>: Mailbox busy")])
            p = pf.sendmail("dave@sender.test", ["later@example.test"],
                            bgtest.make_message("dave@sender.test", ["later@example.test"],
                                                "try once", "four\n"))
            self.assertEqual(p.returncode, 0, p.stderr)
            pf.wait_log(r"from=<dave@sender\.test>, status=expired, returned to sender", 10, mark)
            raws = bgtest.wait_for(lambda: pf.bounces("dave@sender.test"), 10, what="dave's DSN")
            self.assertEqual(dsn_reports(raws[0]), [("later@example.test", "failed", "4.2.1")])
            pf.wait_queue_empty(10)
            # no warning from any Postfix program over the whole run
            self.assertEqual(pf.problems(), [])

            # 5. milter_config is a valid configuration, and a milter that is down fails loudly
            #    with a 4xx (milter_default_action = tempfail), never an accept or a 5xx
            pf.set_main_cf(bgtest.milter_config("inet:127.0.0.1:%d" % bgtest.free_port()))
            pf.reload()
            r = pf.smtp_send("erin@sender.test", ["x@example.test"], b"Subject: m\r\n\r\nm\r\n")
            self.assertEqual(r["mail"], (451, "4.7.1 Service unavailable - try again later"), r)
            master = pf._master_pid()
            self.assertTrue(master)
            kids = pf._descendants(master)
            self.assertTrue(kids)
            t_mail = time.monotonic() - t0 - t_up

        # after the with-block: instance stopped, nothing of it left running, MX closed
        self.assertFalse(any(pf._alive(p) for p in [master] + kids))
        self.assertFalse(policy.alive())
        self.assertFalse(bgtest.port_listening(policy_port))
        print("harness smoke: up %.2fs, mail+bounces %.2fs, total %.2fs"
              % (t_up, t_mail, time.monotonic() - t0), file=sys.stderr)


class FakeMXBehaviour(unittest.TestCase):
    """The fake MX by itself, driven with smtplib: rules per stage, multi-line replies, 421."""

    def test_rules(self):
        rules = [("MAIL", "spammer@*", "553 5.7.1 <{sender}>: Sender rejected"),
                 ("RCPT", "GMAIL@example.test",
                  "550 5.1.1 The email account does not exist.\n5.1.1 double-check"),
                 ("RCPT", "later@*", "421 4.7.0 Try again later"),
                 ("DATA", "spam@*", "554 5.7.1 Message rejected as spam")]
        with bgtest.FakeMX(rules) as mx:
            with smtplib.SMTP("127.0.0.1", mx.port, local_hostname="c.test", timeout=5) as s:
                self.assertEqual(s.ehlo()[0], 250)
                self.assertTrue(s.has_extn("pipelining") and s.has_extn("enhancedstatuscodes"))
                code, text = s.mail("spammer@bad.test")
                self.assertEqual((code, text), (553, b"5.7.1 <spammer@bad.test>: Sender rejected"))
                self.assertEqual(s.mail("a@sender.test")[0], 250)
                code, text = s.rcpt("gmail@example.test")
                self.assertEqual(code, 550)
                self.assertEqual(text, b"5.1.1 The email account does not exist.\n5.1.1 double-check")
                self.assertEqual(s.rcpt("ok@example.test")[0], 250)
                self.assertEqual(s.data(b"Subject: x\r\n\r\n.dot line\r\n")[0], 250)
                self.assertEqual(s.mail("")[0], 250)           # the null sender
                self.assertEqual(s.rcpt("spam@example.test")[0], 250)
                self.assertEqual(s.data(b"Subject: y\r\n\r\nbuy\r\n"),
                                 (554, b"5.7.1 Message rejected as spam"))
                self.assertEqual(s.mail("a@sender.test")[0], 250)
                self.assertEqual(s.rcpt("later@example.test")[0], 421)
                self.assertRaises(smtplib.SMTPServerDisconnected, s.noop)
            txs = mx.wait_for(lambda t: len(t) == 4 and t, 5)
            self.assertEqual(txs[0]["mail_reply"], "553 5.7.1 <spammer@bad.test>: Sender rejected")
            self.assertEqual(txs[1]["rcpts"], ["ok@example.test"])
            self.assertEqual(txs[1]["rcpts_rejected"][0][0], "gmail@example.test")
            self.assertTrue(txs[1]["accepted"])
            self.assertEqual(txs[1]["data"], b"Subject: x\r\n\r\n.dot line\r\n")
            self.assertEqual(txs[2]["mail_from"], "")
            self.assertFalse(txs[2]["accepted"])
            self.assertEqual(txs[2]["data_reply"], "554 5.7.1 Message rejected as spam")
            self.assertEqual(txs[3]["rcpts_rejected"], [("later@example.test",
                                                         "421 4.7.0 Try again later")])
            self.assertEqual(mx.messages(), [b"Subject: x\r\n\r\n.dot line\r\n"])

    def test_greeting_reject(self):
        with bgtest.FakeMX([("CONNECT", "*", "554 5.7.1 no service")]) as mx:
            s = smtplib.SMTP(timeout=5)
            self.assertEqual(s.connect("127.0.0.1", mx.port), (554, b"5.7.1 no service"))
            self.assertEqual(s.docmd("MAIL FROM:<a@b.test>")[0], 503)
            s.quit()
        self.assertRaises(ValueError, bgtest.FakeMX, [("BODY", "*", "250 ok")])
        self.assertRaises(ValueError, bgtest.FakeMX, [("RCPT", "*", "ok")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
