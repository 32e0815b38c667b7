#!/usr/bin/python3
"""The bounceguard demo (scripts/demo.sh runs it): a private Postfix on 127.0.0.1 with
bounceguard-milter attached (and bounceguard-policyd, when it is built), a scripted remote MX, and
the story of one message to four recipients, explained step by step. Nothing leaves loopback; the
instance lives in a temporary directory and is stopped at the end.
Usage: demo.py BUILD_DIR   (root: postfix start needs it)
"""
import json
import os
import re
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import bgtest  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
CLI = os.path.join(BUILD, "cli", "bounceguard")
MILTER = os.path.join(BUILD, "milter", "bounceguard-milter")
POLICYD = os.path.join(BUILD, "policyd", "bounceguard-policyd")
RCPTS = ["ok@example.test", "dead@example.test", "full@example.test", "listed@example.test"]
RULES = [
    ("RCPT", "dead@example.test", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    ("RCPT", "full@example.test", "552 5.2.2 <{rcpt}>: Mailbox full"),
    ("RCPT", "listed@example.test",
     "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"),
]


def say(title, text=""):
    print("\n\033[1m== %s\033[0m" % title)
    if text:
        print(textwrap.fill(" ".join(text.split()), 100))


def show_replies(result):
    for r in RCPTS:
        code, text = result["rcpts"].get(r, (None, ""))
        print("   RCPT TO:<%s>  ->  %s %s" % (r, code, text))


def show_mx(mx):
    for t in mx.transactions:
        for r in t["rcpts"]:
            print("   remote MX accepted  %s" % r)
        for r, reply in t["rcpts_rejected"]:
            print("   remote MX refused   %s: %s" % (r, reply))


def main():
    if os.geteuid() != 0:
        sys.exit("demo: run as root (it starts a private Postfix instance)")
    for p in (CLI, MILTER):
        if not os.path.exists(p):
            sys.exit("demo: %s is missing: build first (scripts/build.sh)" % p)
    with bgtest.temp_base("bounceguard-demo-") as base:
        conf = os.path.join(base, "bounceguard.toml")
        with open(os.path.join(base, "token.key"), "wb") as fh:
            fh.write(os.urandom(24).hex().encode() + b"\n")
        with open(conf, "w") as fh:
            fh.write('[store]\nuri = "sqlite:%s/bounceguard.db"\n[milter]\nuser = ""\n'
                     'token_key_file = "%s/token.key"\nlearned_header = true\n[policyd]\nuser = ""\n' % (base, base))

        def cli(*args, show=True):
            p = subprocess.run([CLI, "--config", conf] + list(args), capture_output=True, text=True, timeout=60)
            if show:
                print("\n$ bounceguard %s" % " ".join(args))
                sys.stdout.write(p.stdout or p.stderr)
            return p

        mport = bgtest.free_port()
        main_cf = bgtest.milter_config("inet:127.0.0.1:%d" % mport)
        helpers = [bgtest.Process([MILTER, "--config", conf, "--listen", "inet:127.0.0.1:%d" % mport, "--foreground"],
                                  log_path=os.path.join(base, "milter.log"), ready_port=mport)]
        with_policyd = os.path.exists(POLICYD)
        if with_policyd:
            pport = bgtest.free_port()
            main_cf.update(bgtest.policy_config("inet:127.0.0.1:%d" % pport, default_action="DUNNO"))
            helpers.append(bgtest.Process([POLICYD, "--config", conf, "--listen", "inet:127.0.0.1:%d" % pport,
                                           "--foreground"], log_path=os.path.join(base, "policyd.log"),
                                          ready_port=pport))
        say("Setting up", """A private Postfix listens on 127.0.0.1 (submission port: {daemon_name} ORIGINATING).
            Every remote domain is routed to a scripted 'remote MX' on 127.0.0.1, which refuses
            dead@ with 550 5.1.1 (user unknown), full@ with 552 5.2.2 (mailbox full) and listed@
            with 554 5.7.1 'blocked using zen.spamhaus.org' (a blocklist: OUR problem). bounceguard-milter
            is attached to SMTP mail, to sendmail(1) mail and to Postfix's own bounces%s. The
            suppression store is an empty SQLite file."""
            % (", and bounceguard-policyd answers Postfix's RCPT TO policy requests" if with_policyd else
               " (bounceguard-policyd is not built, so only the milter is attached)"))
        with bgtest.FakeMX(RULES) as mx:
            for h in helpers:
                h.start()
            try:
                with bgtest.PostfixInstance(os.path.join(base, "postfix"), mx.port, main_cf=main_cf) as pf:
                    msg = bgtest.make_message("alice@sender.test", RCPTS, "Quarterly newsletter", "Hello!")
                    say("1. alice@sender.test sends one message to four recipients",
                        "Nothing is suppressed yet, so Postfix accepts all four recipients:")
                    show_replies(pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port))
                    mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                    say("2. Postfix delivers to the remote MX",
                        "The milter signed the outgoing copy with an X-Bounceguard-Token header (an HMAC over "
                        "its Message-ID and recipients), so a bounce that really refers to it can be told "
                        "from a forged one. The remote MX answered:")
                    show_mx(mx)
                    bgtest.wait_for(lambda: pf.bounces("alice@sender.test"), 20, what="the bounce")
                    bgtest.wait_for(lambda: "rcpt=<listed@example.test>" in helpers[0].output(), 10,
                                    what="the milter's decisions")
                    say("3. Postfix bounces the three failures back to alice; the milter reads the bounce",
                        "The bounce passes the milter as BOUNCE (Postfix's own, so trusted). Each recipient is "
                        "classified and recorded through the decision engine:")
                    for m in re.finditer(r"decision rcpt=<(\S+)> category=(\S+) blame=(\S+) action=(\S+).*?: (.*)",
                                         helpers[0].output()):
                        print("   %-22s %-14s blame=%-11s -> %s (%s)" % m.groups())
                    print(textwrap.fill(
                        "   dead@ is suppressed at once (a user-unknown at RCPT is hard evidence); full@ only "
                        "counts towards a threshold (a full mailbox may empty); listed@ is never suppressed "
                        "(the blocklist is about our IP: the postmaster must act, not the list).", 100,
                        subsequent_indent="   "))
                    mx.clear()
                    say("4. alice sends the same message again",
                        "The dead address is refused at once, at RCPT TO, before anything is queued; the "
                        "other three are accepted as before:")
                    show_replies(pf.smtp_send("alice@sender.test", RCPTS, msg, port=pf.submission_port))
                    if with_policyd:
                        print("   (The refusal came from bounceguard-policyd, which Postfix asks at RCPT TO before "
                              "the milter; without it the milter gives the same 550.)")
                    mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                    print("   The remote MX never hears of dead@ again:")
                    show_mx(mx)
                    mx.clear()
                    say("5. A script uses sendmail(1) to write to ok@ and dead@",
                        "Postfix does not let a milter refuse one recipient of sendmail(1) mail, so the milter "
                        "removes dead@ at the end of the message and logs it; ok@ gets the mail:")
                    pf.sendmail("alice@sender.test", ["ok@example.test", "dead@example.test"],
                                bgtest.make_message("alice@sender.test", ["ok@example.test"], "cron report", "hi"))
                    mx.wait_for(lambda t: [x for x in t if x["accepted"]], timeout=20)
                    show_mx(mx)
                    for line in helpers[0].output().splitlines():
                        if "rcpt removed" in line:
                            print("   milter: " + line.split("info: ", 1)[-1][:160])
            finally:
                for h in helpers:
                    h.stop()
        say("6. Why is dead@example.test blocked? (bounceguard show)")
        cli("show", "dead@example.test")
        say("7. And full@example.test, not blocked:")
        cli("show", "full@example.test")
        say("8. The problems that are OURS, not the recipients' (bounceguard report)")
        if cli("report", show=False).returncode == 0:
            cli("report")
        else:
            print("   (this build has no `bounceguard report`; `bounceguard list` instead)")
            cli("list")
        print("\nDone: the private Postfix, the milter%s and the fake MX are stopped." %
              (", the policy daemon" if with_policyd else ""))


if __name__ == "__main__":
    main()
