#!/usr/bin/python3
"""bounceguard-milter driven through the real milter protocol by miltertest (OpenDKIM's client),
one scenario per run (ctest runs each as its own test):

  refuse     an outbound suppressed recipient is refused at RCPT with the configured 550, the
             others pass, and the outbound token (and a Message-ID) is inserted; inbound mail is
             accepted untouched (at the first RCPT: MAIL is negotiated without a reply); the
             recipients of a bounce (null sender) are never refused
  observe    policy.mode = "observe": the same recipient passes, "would refuse" is logged
  nonsmtp    {daemon_name} LOCAL (sendmail(1)/pickup): no refusal at RCPT; the suppressed
             recipient is removed at end of message; with no recipient left the message is refused
  learn      Postfix's own bounces ({daemon_name} BOUNCE) are learned: user unknown suppressed at
             once, the full mailbox and the Gmail-style 550 recorded; X-Bounceguard-Learned added
  forged     a remote DSN without a token, with a token of another message, or naming a recipient
             the message was not sent to, suppresses no one (logged, counted); the same DSN
             carrying the token the milter signed the original with is learned
  storedown  the store cannot be opened: enforce.on_store_error = "tempfail" gives a 4xx at RCPT
             (never a 5xx); after a SIGHUP reload with "continue" the mail passes
  hostile    a 6 MB bounce, a 200-level MIME nesting and a 3000-recipient DSN are read within
             the limits, in bounded time, and the milter keeps serving

Usage: test_milter_miltertest.py MILTER_BINARY CLI_BINARY SCENARIO
Needs miltertest; runs as any user (no Postfix). Everything on 127.0.0.1, ports chosen at run time.
"""
import json
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import bgtest  # noqa: E402

LUA = os.path.join(HERE, "milter", "mt_transaction.lua")
FIXTURES = os.path.join(HERE, "milter", "fixtures")
MILTER, CLI, SCENARIO = sys.argv[1], sys.argv[2], sys.argv[3]
KEY = "0123456789abcdef-test-key-not-secret"


class Env:
    def __init__(self, base, extra_toml="", store=None):
        self.base = base
        self.db = os.path.join(base, "bg.db")
        self.store = store or "sqlite:" + self.db
        self.conf = os.path.join(base, "bg.toml")
        with open(os.path.join(base, "key"), "w") as fh:
            fh.write(KEY + "\n")
        self.write_config(extra_toml)
        self.port = bgtest.free_port()
        self.log = os.path.join(base, "milter.log")
        self.proc = None

    def write_config(self, extra_toml=""):
        with open(self.conf, "w") as fh:
            fh.write('[store]\nuri = "%s"\n[milter]\nuser = ""\ntoken_key_file = "%s"\nlearned_header = true\n%s\n'
                     % (self.store, os.path.join(self.base, "key"), extra_toml))

    def cli(self, *args, check=True):
        import subprocess
        p = subprocess.run([CLI, "--config", self.conf] + list(args), capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError("bounceguard %s: rc=%d %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def show(self, address):
        return json.loads(self.cli("show", "--json", address).stdout)

    def start(self):
        self.proc = bgtest.Process([MILTER, "--config", self.conf, "--listen", "inet:127.0.0.1:%d" % self.port,
                                    "--foreground"], log_path=self.log, ready_port=self.port)
        self.proc.start()
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()

    def mt(self, **defines):
        """One transaction; returns miltertest's stdout; fails the test when a Lua check fails."""
        p = bgtest.miltertest(LUA, "inet:%d@127.0.0.1" % self.port, defines)
        if p.returncode != 0 or "PASS" not in p.stdout:
            raise AssertionError("miltertest %r failed (rc=%d): %s %s\n--- milter log:\n%s"
                                 % (defines, p.returncode, p.stdout, p.stderr, self.log_text()[-3000:]))
        return p.stdout

    def log_text(self):
        with open(self.log, errors="replace") as fh:
            return fh.read()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def fixture(name):
    return os.path.join(FIXTURES, name)


def write(base, name, data):
    path = os.path.join(base, name)
    with open(path, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode())
    return path


def remote_dsn(base, name, token=None, message_id="<20261125153632.012527@vm>", rcpt="unknown@example.test"):
    """The captured Postfix DSN as a remote site would send it: another reporting MTA, the
    returned original carrying `token` (or none)."""
    with open(fixture("postfix-bounce-550.eml"), "rb") as fh:
        raw = fh.read().decode()
    raw = raw.replace("mta.e2e.test", "mx.remote.test").replace("unknown@example.test", rcpt)
    raw = raw.replace("Message-Id: <20261125153632.012527@vm>", "Message-Id: %s" % message_id)
    if token:
        raw = raw.replace("X-E2E-Milter: seen", "X-Bounceguard-Token: %s" % token)
    return write(base, name, raw)


def scenario_refuse(env):
    env.cli("add", "dead@example.test")
    env.start()
    out = env.mt(daemon="ORIGINATING", rcpts="ok@example.test,dead@example.test", expect="continue,reject",
                 hdrins="X-Bounceguard-Token,Message-ID", show="X-Bounceguard-Token")
    check(re.search(r"HEADER<v1 t=\d+ m=[0-9a-f]{16} r=[0-9a-f]{8}>", out), "one recipient tag: " + out)
    log = env.log_text()
    check(re.search(r"rcpt refused to=<dead@example.test> .*reply=\"550 5\.1\.1 ", log), "refusal logged")
    # SASL-authenticated client from anywhere is outbound too
    env.mt(daemon="ORIGINATING", ip="192.0.2.7", auth="alice@sender.test", rcpts="dead@example.test",
           expect="reject", eom="continue")
    # inbound mail (not outbound, not a bounce): accepted at the first RCPT, nothing looked up or signed
    env.mt(daemon="mta.sender.test", ip="192.0.2.7", mail="accept", **{"from": "<x@remote.test>"})
    # the recipients of a bounce are never refused, even when suppressed
    env.cli("add", "bouncer@sender.test")
    env.mt(daemon="BOUNCE", **{"from": "<>"}, rcpts="bouncer@sender.test", expect="continue",
           nohdr="X-Bounceguard-Token")


def scenario_observe(env):
    env.write_config('[policy]\nmode = "observe"\n')
    env.cli("add", "dead@example.test")
    env.start()
    env.mt(daemon="ORIGINATING", rcpts="dead@example.test", expect="continue")
    check("would refuse (not enforced) to=<dead@example.test>" in env.log_text(), "observe logs 'would refuse'")


def scenario_nonsmtp(env):
    env.cli("add", "dead@example.test")
    env.start()
    env.mt(daemon="LOCAL", rcpts="ok@example.test,dead@example.test", expect="continue,continue",
           eom="continue", delrcpt="dead@example.test", keep="ok@example.test", hdrins="X-Bounceguard-Token")
    check("rcpt removed (non-SMTP mail) refused to=<dead@example.test>" in env.log_text(), "removal logged")
    env.mt(daemon="LOCAL", rcpts="dead@example.test", expect="continue", eom="reject")
    check("message refused (non-SMTP mail, every recipient suppressed)" in env.log_text(), "refusal logged")


def scenario_learn(env):
    env.start()
    env.mt(daemon="BOUNCE", **{"from": "<>"}, rcpts="alice@sender.test", eml=fixture("postfix-bounce-550.eml"),
           hdradd="X-Bounceguard-Learned")
    s = env.show("unknown@example.test")
    check(s["suppressed"] is True and s["category"] == "user_unknown", "user unknown suppressed: %r" % s)
    env.mt(daemon="BOUNCE", **{"from": "<>"}, rcpts="alice@sender.test",
           eml=fixture("postfix-bounce-552+multiline550.eml"))
    full = env.show("full@example.test")
    check(full["suppressed"] is False, "a full mailbox is soft: not suppressed after one bounce: %r" % full)
    check("decision rcpt=<gmail@example.test> category=user_unknown" in env.log_text(), "gmail-style 550 recorded")
    check(re.search(r"decision rcpt=<full@example.test> category=mailbox_full .*source=dsn-internal", env.log_text()),
          "full mailbox event recorded")


def scenario_forged(env):
    env.start()
    bounce = dict(daemon="mx.sender.test", ip="192.0.2.9", rcpts="alice@sender.test", hdradd="", nohdr="")
    bounce["from"] = "<>"
    # no token at all
    env.mt(eml=remote_dsn(env.base, "none.eml"), **bounce)
    check(env.show("unknown@example.test")["suppressed"] is False, "unsigned remote DSN learned")
    check("token=missing" in env.log_text(), "unverified DSN logged")
    # sign a real outbound message, then return its token inside remote DSNs
    msg = write(env.base, "orig.eml", "Message-Id: <20261125153632.012527@vm>\nFrom: alice@sender.test\n"
                "To: ok@example.test, unknown@example.test\nSubject: hi\n\nhello\n")
    out = env.mt(daemon="ORIGINATING", rcpts="ok@example.test,unknown@example.test", eml=msg,
                 show="X-Bounceguard-Token", hdrins="X-Bounceguard-Token", nohdr="Message-ID")
    token = re.search(r"HEADER<(.*?)>", out, re.S).group(1).replace("\n\t", " ")
    # the token of this message, for a recipient it was not sent to
    env.mt(eml=remote_dsn(env.base, "other.eml", token, rcpt="victim@example.test"), **bounce)
    check(env.show("victim@example.test")["suppressed"] is False, "victim suppressed by a replayed token")
    check("token=not_recipient" in env.log_text(), "not_recipient logged")
    # the token moved onto another Message-ID
    env.mt(eml=remote_dsn(env.base, "moved.eml", token, message_id="<other@vm>"), **bounce)
    check(env.show("unknown@example.test")["suppressed"] is False, "token accepted for another message")
    check("token=bad_signature" in env.log_text(), "bad_signature logged")
    check(re.search(r"unverified_total=3", env.log_text()), "unverified bounces counted")
    # the genuine bounce of the signed message
    env.mt(eml=remote_dsn(env.base, "good.eml", token), **bounce)
    s = env.show("unknown@example.test")
    check(s["suppressed"] is True, "verified remote DSN not learned: %r" % s)
    check(re.search(r"decision rcpt=<unknown@example.test> .*source=dsn-remote trust=token-valid", env.log_text()),
          "verified remote DSN logged")


def scenario_storedown(env):
    env.write_config('[enforce]\non_store_error = "tempfail"\n')
    env.start()
    env.mt(daemon="ORIGINATING", rcpts="someone@example.test", expect="tempfail")
    check(re.search(r"store-error tempfail \(store error\) to=<someone@example.test>", env.log_text()),
          "store error logged")
    # a bounce while the store is down: tempfailed (the MTA keeps it and retries), never lost
    env.mt(daemon="BOUNCE", **{"from": "<>"}, rcpts="alice@sender.test", eml=fixture("postfix-bounce-550.eml"),
           eom="tempfail")
    env.write_config('[enforce]\non_store_error = "continue"\n')
    mark = len(env.log_text())
    os.kill(env.proc.pid, signal.SIGHUP)
    bgtest.wait_for(lambda: "reloaded" in env.log_text()[mark:], 5, what="the reload")
    env.mt(daemon="ORIGINATING", rcpts="someone@example.test", expect="continue")
    check(env.proc.alive(), "milter stopped on SIGHUP")


def scenario_hostile(env):
    env.start()
    head = ("From: MAILER-DAEMON@mx.remote.test\nTo: alice@sender.test\nSubject: Undelivered\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n")
    # 6 MB: more than max_bounce_bytes (4 MiB); the rest passes unread
    big = head + "--B\nContent-Type: text/plain\n\n" + ("x" * 998 + "\n") * 6000 + "--B--\n"
    t = time.time()
    env.mt(daemon="BOUNCE", **{"from": "<>"}, rcpts="alice@sender.test", eml=write(env.base, "big.eml", big))
    # 200 nested multiparts
    nest = head.replace('boundary="B"', 'boundary="b0"')
    for i in range(200):
        nest += "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n" % (i, i + 1)
    nest += "".join("--b%d--\n" % i for i in range(200, -1, -1))
    env.mt(daemon="BOUNCE", **{"from": "<>"}, rcpts="alice@sender.test", eml=write(env.base, "nest.eml", nest))
    # 3000 recipients in one DSN: max_bounce_recipients (1000) are recorded
    recs = "".join("Final-Recipient: rfc822; u%d@example.test\nAction: failed\nStatus: 5.1.1\n"
                   "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n" % i for i in range(3000))
    many = head + ("--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mta.sender.test\n\n" + recs
                   + "--B--\n")
    env.mt(daemon="BOUNCE", **{"from": "<>"}, rcpts="alice@sender.test", eml=write(env.base, "many.eml", many))
    took = time.time() - t
    log = env.log_text()
    # the first max_bounce_recipients are recorded; so many dead addresses at one destination at
    # once trip the circuit breaker (a block of us), so none of them is suppressed
    check("decision rcpt=<u999@example.test> category=user_unknown" in log, "first 1000 recipients recorded")
    check("rcpt=<u1000@example.test>" not in log, "recipients past the limit recorded")
    check(env.show("u999@example.test")["suppressed"] is False, "breaker did not hold")
    check(log.count("bounce partly read") >= 2, "truncations logged")
    check(took < 60, "hostile bounces took %.1f s" % took)
    env.mt(daemon="ORIGINATING", rcpts="ok@example.test", expect="continue")


SCENARIOS = {n[len("scenario_"):]: f for n, f in globals().items() if n.startswith("scenario_")}


def main():
    if SCENARIO not in SCENARIOS:
        sys.exit("unknown scenario %s (one of %s)" % (SCENARIO, ", ".join(sorted(SCENARIOS))))
    with bgtest.temp_base("bg-milter-") as base:
        os.chmod(base, 0o755)
        store = "sqlite:%s/no/such/dir/bg.db" % base if SCENARIO == "storedown" else None
        env = Env(base, store=store)
        try:
            SCENARIOS[SCENARIO](env)
        except Exception:
            sys.stderr.write("--- milter log:\n%s\n" % (env.log_text()[-4000:] if os.path.exists(env.log) else ""))
            raise
        finally:
            env.stop()
    print("PASS milter scenario %s" % SCENARIO)


if __name__ == "__main__":
    main()
