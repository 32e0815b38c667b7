#!/usr/bin/python3
"""The metrics of the real bounceguard-milter, driven through the milter protocol by miltertest.

The milter runs with its endpoint (metrics.milter_listen) on a free port of 127.0.0.1; one
outbound message to a suppressed and a clean recipient, one remote bounce without a token
(forged: not recorded), one bounce of our own MTA ({daemon_name} BOUNCE, learned); the scrape
after them must differ from the one before by exactly what they did; a SIGHUP counts a reload.
Uses the end-to-end harness (tests/e2e/lib/bgtest.py, tests/e2e/milter/mt_transaction.lua).

usage: test_metrics_milter.py BOUNCEGUARD-MILTER BOUNCEGUARD SOURCE_DIR
"""
import os
import signal
import subprocess
import sys

MILTER, CLI, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
E2E = os.path.join(SOURCE, "tests", "e2e")
sys.path.insert(0, os.path.join(E2E, "lib"))
import bgtest  # noqa: E402

LUA = os.path.join(E2E, "milter", "mt_transaction.lua")
FIXTURES = os.path.join(E2E, "milter", "fixtures")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    with bgtest.temp_base("bg-metrics-milter-") as base:
        store = "sqlite:" + os.path.join(base, "bg.db")
        conf = os.path.join(base, "bg.toml")
        mport, port = bgtest.free_port(), bgtest.free_port()
        with open(conf, "w") as fh:
            fh.write('[store]\nuri = "%s"\n[milter]\nuser = ""\n[metrics]\nmilter_listen = "127.0.0.1:%d"\n'
                     'policyd_listen = "127.0.0.1:1"\n' % (store, mport))
        add = subprocess.run([CLI, "--config", conf, "add", "dead@example.test"], capture_output=True, text=True,
                             timeout=30)
        if add.returncode != 0:
            fail("bounceguard add: " + add.stderr)
        proc = bgtest.Process([MILTER, "--config", conf, "--listen", "inet:127.0.0.1:%d" % port, "--foreground"],
                              log_path=os.path.join(base, "milter.log"), ready_port=port)
        with proc:
            bgtest.wait_for(lambda: bgtest.port_listening(mport), 10, what="the metrics endpoint")
            run(proc, port, mport, base)


def mt(port, proc, **defines):
    p = bgtest.miltertest(LUA, "inet:%d@127.0.0.1" % port, defines)
    if p.returncode != 0 or "PASS" not in p.stdout:
        fail("miltertest %r: %s %s\n%s" % (defines, p.stdout, p.stderr, proc.output()[-3000:]))


def run(proc, port, mport, base):
    before = bgtest.scrape_metrics(mport)
    if not [k for k, v in before.items() if k.endswith(',program="milter"}') and v == 1]:
        fail("no build_info for the milter")
    # Outbound: one suppressed recipient (refused at RCPT), one clean.
    mt(port, proc, daemon="ORIGINATING", rcpts="ok@example.test,dead@example.test", expect="continue,reject")
    # A remote bounce without a token: not recorded, counted.
    with open(os.path.join(FIXTURES, "postfix-bounce-550.eml"), "rb") as fh:
        raw = fh.read().decode().replace("mta.e2e.test", "mx.remote.test")
    forged = os.path.join(base, "forged.eml")
    with open(forged, "w") as fh:
        fh.write(raw)
    bounce = dict(rcpts="alice@sender.test", hdradd="", nohdr="")
    bounce["from"] = "<>"
    mt(port, proc, daemon="mx.sender.test", ip="192.0.2.9", eml=forged, **bounce)
    # Our own MTA's bounce: learned (user unknown, suppressed at once).
    mt(port, proc, daemon="BOUNCE", eml=os.path.join(FIXTURES, "postfix-bounce-550.eml"), **bounce)
    after = bgtest.wait_for(
        lambda: (lambda s: s if s.get("bounceguard_connections") == 0 else None)(bgtest.scrape_metrics(mport)),
        10, what="the connections gauge back to 0")

    expected = {
        "bounceguard_milter_messages_total": 3,
        "bounceguard_milter_bounces_total": 2,
        'bounceguard_rcpt_checks_total{verdict="reject"}': 1,
        'bounceguard_rcpt_checks_total{verdict="pass"}': 1,
        'bounceguard_refused_total{category="user_unknown"}': 1,
        "bounceguard_unverified_bounces_total": 1,
        'bounceguard_learned_total{category="user_unknown",blame="recipient",source="dsn-internal"}': 1,
        'bounceguard_learned_total{category="user_unknown",blame="recipient",source="dsn-remote"}': 0,
        'bounceguard_suppressions_added_total{category="user_unknown"}': 1,
        "bounceguard_record_errors_total": 0,
        "bounceguard_lookup_errors_total": 0,
        'bounceguard_policy_requests_total{action="dunno"}': 0,
    }
    problems = bgtest.metric_delta_problems(before, after, expected)
    if problems:
        fail("\n".join(problems) + "\n" + proc.output()[-3000:])
    os.kill(proc.pid, signal.SIGHUP)
    bgtest.wait_for(lambda: bgtest.scrape_metrics(mport).get('bounceguard_config_reloads_total{result="ok"}') == 1,
                    10, what="the reload to be counted")
    print("ok")


if __name__ == "__main__":
    main()
