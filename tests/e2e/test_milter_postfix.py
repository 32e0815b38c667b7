#!/usr/bin/python3
"""The demo's story, end to end, with a real private Postfix, the real bounceguard-milter and a
scripted remote MX (tests/e2e/lib/bgtest.py):

  1. alice@sender.test sends one message (submission, {daemon_name} ORIGINATING) to four
     recipients. The remote MX accepts ok@, refuses dead@ with "550 5.1.1 ... User unknown",
     full@ with "552 5.2.2 ... Mailbox full" and listed@ with "554 5.7.1 ... blocked using
     zen.spamhaus.org". The outbound message carries the milter's X-Bounceguard-Token.
  2. Postfix bounces the three failures to alice; the bounce passes the milter as BOUNCE and is
     learned: dead@ is suppressed at once; full@ (soft: a full mailbox may empty) and listed@
     (our reputation, not the recipient) are recorded but not suppressed. The bounce reaches
     alice unchanged but for the X-Bounceguard-Learned header.
  3. The re-send: Postfix answers RCPT TO:<dead@> with the milter's 550 5.1.1 at once; the other
     three are accepted and tried again at the MX, which never sees dead@ again.
  4. sendmail(1) to dead@ and ok@: dead@ is removed at end of message, ok@ is delivered.
Asserts Postfix's replies, what the MX received, and `bounceguard show --json`.
Usage: test_milter_postfix.py MILTER_BINARY CLI_BINARY   (root: postfix start needs it)
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import bgtest  # noqa: E402

MILTER, CLI = sys.argv[1], sys.argv[2]
RULES = [
    ("RCPT", "dead@example.test", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    ("RCPT", "full@example.test", "552 5.2.2 <{rcpt}>: Mailbox full"),
    ("RCPT", "listed@example.test",
     "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"),
]
RCPTS = ["ok@example.test", "dead@example.test", "full@example.test", "listed@example.test"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    with bgtest.temp_base("bg-milter-pf-") as base:
        conf = os.path.join(base, "bounceguard.toml")
        with open(os.path.join(base, "token.key"), "w") as fh:
            fh.write("e2e-token-key-0123456789abcdef\n")
        with open(conf, "w") as fh:
            fh.write('[store]\nuri = "sqlite:%s/bg.db"\n[milter]\nuser = ""\ntoken_key_file = "%s/token.key"\n'
                     'learned_header = true\n' % (base, base))
        port = bgtest.free_port()

        def cli(*args):
            p = subprocess.run([CLI, "--config", conf] + list(args), capture_output=True, text=True, timeout=30)
            check(p.returncode == 0, "bounceguard %s: %s" % (args, p.stderr))
            return p.stdout

        def show(addr):
            return json.loads(cli("show", "--json", addr))

        milter = bgtest.Process([MILTER, "--config", conf, "--listen", "inet:127.0.0.1:%d" % port, "--foreground"],
                                log_path=os.path.join(base, "milter.log"), ready_port=port)
        with bgtest.FakeMX(RULES) as mx, milter, \
                bgtest.PostfixInstance(os.path.join(base, "pf"), mx.port,
                                       main_cf=bgtest.milter_config("inet:127.0.0.1:%d" % port)) as pf:
            def milter_log():
                return milter.output()

            try:
                msg = bgtest.make_message("alice@sender.test", RCPTS, "first send", "hello")
                r = pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port)
                check(sorted(r["accepted"]) == sorted(RCPTS), "first send refused something: %r" % r)
                # 1. the MX got the message for ok@ (signed) and refused the other three
                txs = mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                check(txs[0]["rcpts"] == ["ok@example.test"], "MX accepted %r" % txs[0]["rcpts"])
                check(sorted(x for x, _ in txs[0]["rcpts_rejected"])
                      == ["dead@example.test", "full@example.test", "listed@example.test"], "MX refusals")
                check(b"X-Bounceguard-Token: v1 t=" in txs[0]["data"], "outbound mail not signed")
                # 2. the bounce came back to alice through the milter, which learned from it
                bounce = bgtest.wait_for(lambda: pf.bounces("alice@sender.test"), 20, what="the bounce")
                check(b"X-Bounceguard-Learned: " in bounce[0], "no X-Bounceguard-Learned on the bounce")
                log = bgtest.wait_for(lambda: (lambda t: t if "rcpt=<listed@example.test>" in t else None)(
                    milter_log()), 10, what="the milter's decisions")
                check(re.search(r"decision rcpt=<dead@example.test> category=user_unknown .*action=suppress "
                                r".*source=dsn-internal", log), "dead@ not learned:\n" + log)
                dead, full, listed = show("dead@example.test"), show("full@example.test"), show("listed@example.test")
                check(dead["suppressed"] is True and dead["category"] == "user_unknown", "dead@: %r" % dead)
                check(full["suppressed"] is False, "full mailbox suppressed: %r" % full)
                check(listed["suppressed"] is False, "blocklisted send suppressed: %r" % listed)
                check(re.search(r"rcpt=<full@example.test> category=mailbox_full .*action=count", log), "full@")
                check(re.search(r"rcpt=<listed@example.test> category=blocklisted blame=reputation", log), "listed@")
                # 3. the re-send: dead@ refused at RCPT by the milter, the others go out again
                mx.clear()
                r = pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port)
                code, text = r["rcpts"]["dead@example.test"]
                check(code == 550 and text.startswith("5.1.1 ") and "dead@example.test" in text,
                      "re-send to dead@: %r" % (r["rcpts"],))
                check(sorted(r["accepted"]) == ["full@example.test", "listed@example.test", "ok@example.test"],
                      "re-send accepted %r" % r["accepted"])
                pf.wait_log(r"milter-reject: RCPT from .*550 5\.1\.1 .*to=<dead@example.test>", 5)
                txs = mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                seen = set(txs[0]["rcpts"]) | {x for x, _ in txs[0]["rcpts_rejected"]}
                check("dead@example.test" not in seen, "the MX saw dead@ again")
                check(seen == {"ok@example.test", "full@example.test", "listed@example.test"}, "re-send: %r" % seen)
                # 4. sendmail(1): dead@ removed at end of message, ok@ delivered
                mx.clear()
                pf.sendmail("alice@sender.test", ["ok@example.test", "dead@example.test"],
                            bgtest.make_message("alice@sender.test", ["ok@example.test", "dead@example.test"],
                                                "via sendmail", "hello"))
                txs = mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                check(txs[0]["rcpts"] == ["ok@example.test"] and not txs[0]["rcpts_rejected"],
                      "sendmail(1) path: %r" % txs[0])
                check("rcpt removed (non-SMTP mail) refused to=<dead@example.test>" in milter_log(), "removal log")
                check(show("dead@example.test")["suppressed"] is True, "dead@ lifted")
            except Exception:
                sys.stderr.write("--- milter log:\n%s\n--- postfix log:\n%s\n" % (milter_log()[-4000:],
                                                                                 pf.log_tail(80)))
                raise
    print("PASS milter end to end with Postfix")


if __name__ == "__main__":
    main()
