#!/usr/bin/python3
"""bounceguard-policyd with a real private Postfix (tests/e2e/lib/bgtest.py), with the
check_policy_service settings of conf/postfix/main.cf.policyd:

  1. enforce: one message to ok@ and dead@ (dead@ suppressed with `bounceguard add`). Postfix
     refuses RCPT TO:<dead@> with the daemon's "550 5.1.1 ... user_unknown" reply (behind its own
     "Recipient address rejected:" prefix); ok@ is accepted and delivered to the fake MX, which
     never sees dead@. The daemon logs the refusal once, with sender and client.
  2. observe mode (policy.mode = "observe", SIGHUP to the running daemon): both are accepted and
     delivered; Postfix logs the daemon's WARN and the daemon logs "would refuse" once.
  3. the daemon stopped: with default_action=DUNNO and try_limit=1 mail still flows at once,
     dead@ included (nothing checks it), and no 4xx is given.
  4. the spawn variant (conf/postfix/master.cf.policyd, as user nobody): master(8) runs
     `bounceguard-policyd --spawn` per smtpd connection; dead@ is refused again, ok@ delivered.
Usage: test_policyd_postfix.py POLICYD_BINARY CLI_BINARY   (root: postfix start needs it)
"""
import os
import pwd
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import bgtest  # noqa: E402

POLICYD, CLI = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
RCPTS = ["ok@example.test", "dead@example.test"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def write_config(path, base, port, observe=False):
    with open(path, "w") as fh:
        fh.write('[store]\nuri = "sqlite:%s/store/bg.db"\n[policyd]\nuser = ""\nlisten = ["inet:127.0.0.1:%d"]\n'
                 % (base, port))
        if observe:
            fh.write('[policy]\nmode = "observe"\n')


def main():
    with bgtest.temp_base("bg-policyd-pf-") as base:
        conf = os.path.join(base, "bounceguard.toml")
        port = bgtest.free_port()
        os.mkdir(os.path.join(base, "store"))
        write_config(conf, base, port)
        p = subprocess.run([CLI, "--config", conf, "add", "dead@example.test"], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode == 0, "bounceguard add: %s" % p.stderr)

        policyd = bgtest.Process([POLICYD, "--config", conf, "--foreground"],
                                 log_path=os.path.join(base, "policyd.log"), ready_port=port)
        # The lines of conf/postfix/main.cf.policyd (variant 1), on this test's port.
        main_cf = {"smtpd_recipient_restrictions":
                   "check_policy_service { inet:127.0.0.1:%d, timeout=5s, default_action=DUNNO, try_limit=1 }"
                   % port}
        # The spawn service of conf/postfix/master.cf.policyd, run as nobody (step 4).
        spawn = ("bounceguard-policy unix - n n - 0 spawn\n"
                 "    user=nobody argv=%s --spawn --config %s\n" % (POLICYD, conf))
        with bgtest.FakeMX([]) as mx, policyd, bgtest.PostfixInstance(os.path.join(base, "pf"), mx.port,
                                                                      main_cf=main_cf, master_cf_extra=spawn) as pf:
            try:
                check(pf.check_output == "" or "warning" not in pf.check_output,
                      "postfix check: %s" % pf.check_output)
                msg = bgtest.make_message("alice@sender.test", RCPTS, "policy test", "hello")
                # 1. enforce
                r = pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port)
                code, text = r["rcpts"]["dead@example.test"]
                check(code == 550 and text.startswith("5.1.1 <dead@example.test>: Recipient address rejected: ")
                      and "user_unknown" in text, "dead@: %r" % (r["rcpts"],))
                check(r["accepted"] == ["ok@example.test"], "accepted %r" % r["accepted"])
                txs = mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                check(txs[0]["rcpts"] == ["ok@example.test"], "MX got %r" % txs[0]["rcpts"])
                check(all("dead@example.test" not in t["rcpts"] + [x for x, _ in t["rcpts_rejected"]]
                          for t in mx.transactions), "the MX saw dead@")
                pf.wait_log(r"reject: RCPT from .*: 550 5\.1\.1 <dead@example\.test>: Recipient address rejected: "
                            r".*from=<alice@sender\.test> to=<dead@example\.test>", 5)
                bgtest.wait_for(lambda: "refused to=<dead@example.test>" in policyd.output(), 5,
                                what="the daemon's refusal line")
                log = policyd.output()
                check(log.count("refused to=<dead@example.test>") == 1, "refusal not logged once:\n" + log)
                check(re.search(r"refused to=<dead@example\.test> from=<alice@sender\.test> client=127\.0\.0\.1 "
                                r"entry=dead@example\.test category=user_unknown", log), "refusal line:\n" + log)

                # 2. observe mode, reloaded into the running daemon
                write_config(conf, base, port, observe=True)
                os.kill(policyd.pid, signal.SIGHUP)
                bgtest.wait_for(lambda: "configuration reloaded" in policyd.output(), 5, what="the reload")
                mx.clear()
                since = pf.log_offset()
                r = pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port)
                check(sorted(r["accepted"]) == sorted(RCPTS), "observe mode refused: %r" % (r["rcpts"],))
                txs = mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                check(sorted(txs[0]["rcpts"]) == sorted(RCPTS), "MX got %r" % txs[0]["rcpts"])
                pf.wait_log(r"warn: RCPT from .*: bounceguard would refuse: 550 5\.1\.1 .*to=<dead@example\.test>",
                            5, since=since)
                bgtest.wait_for(lambda: "would refuse (not enforced) to=<dead@example.test>" in policyd.output(), 5)
                check(policyd.output().count("would refuse (not enforced) to=<dead@example.test>") == 1,
                      "would-refuse not logged once")

                # 3. the daemon stopped: mail flows, nothing is refused or deferred
                check(policyd.stop() == 0, "policyd exit status %r" % policyd.returncode)
                check("stopped: 4 requests, 1 refused, 1 would-refuse" in policyd.output(), policyd.output()[-500:])
                mx.clear()
                t0 = time.monotonic()
                r = pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port)
                took = time.monotonic() - t0
                check(sorted(r["accepted"]) == sorted(RCPTS), "with the daemon down: %r" % (r["rcpts"],))
                check(took < 3, "the send took %.1f s with the daemon down" % took)
                txs = mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                check(sorted(txs[0]["rcpts"]) == sorted(RCPTS), "MX got %r" % txs[0]["rcpts"])

                # 4. the spawn variant, as nobody (who must be able to write the store's directory)
                write_config(conf, base, port)
                nobody = pwd.getpwnam("nobody")
                for root, dirs, files in os.walk(os.path.join(base, "store")):
                    for name in [root] + [os.path.join(root, f) for f in files]:
                        os.chown(name, nobody.pw_uid, nobody.pw_gid)
                pf.set_main_cf({"smtpd_recipient_restrictions":
                                "check_policy_service { unix:private/bounceguard-policy, timeout=5s, "
                                "default_action=DUNNO, try_limit=1 }"})
                pf.reload()
                mx.clear()
                r = pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port)
                code, text = r["rcpts"]["dead@example.test"]
                check(code == 550 and "user_unknown" in text, "spawn: dead@ got %r" % (r["rcpts"],))
                check(r["accepted"] == ["ok@example.test"], "spawn: accepted %r" % r["accepted"])
                txs = mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                check(txs[0]["rcpts"] == ["ok@example.test"], "spawn: MX got %r" % txs[0]["rcpts"])
            except Exception:
                sys.stderr.write("--- policyd log:\n%s\n--- postfix log:\n%s\n" % (policyd.output()[-4000:],
                                                                                  pf.log_tail(80)))
                raise
    print("PASS policyd end to end with Postfix")


if __name__ == "__main__":
    main()
