#!/usr/bin/python3
"""The metrics of the real bounceguard-policyd binary, end to end.

A store with one suppressed address (made with the bounceguard CLI), the daemon with its metrics
endpoint on 127.0.0.1 (a port it picks, read from its log) and a textfile; policy requests for the
suppressed recipient, a clean one, an inbound one and a non-RCPT state; scrapes before and after,
asserting that the counters moved by exactly the expected amounts; SIGHUP counts a reload; SIGTERM
writes the textfile a last time. Stdlib only; everything in a temporary directory, stopped even
on failure.

usage: test_metrics_policyd.py BOUNCEGUARD-POLICYD BOUNCEGUARD
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "lib"))
import bgtest  # noqa: E402  (parse_metrics, scrape_metrics, metric_delta_problems)

POLICYD, CLI = sys.argv[1], sys.argv[2]

REQUEST = """request=smtpd_access_policy
protocol_state={state}
protocol_name=ESMTP
client_address={client}
client_name=localhost
sender=bob@sender.test
recipient={rcpt}
sasl_method=
sasl_username=
policy_context=

"""


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    return None


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


# Straight to 127.0.0.1, whatever proxy the environment names.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Policy:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def ask(self, rcpt, client="127.0.0.1", state="RCPT"):
        self.sock.sendall(REQUEST.format(rcpt=rcpt, client=client, state=state).encode())
        while b"\n\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                fail("policy daemon closed the connection")
            self.buf += chunk
        answer, _, self.buf = self.buf.partition(b"\n\n")
        return answer.decode()

    def close(self):
        self.sock.close()


def main():
    with tempfile.TemporaryDirectory(prefix="bg-metrics-") as d:
        store = "sqlite:" + os.path.join(d, "store.db")
        add = subprocess.run([CLI, "--store", store, "add", "--reason", "user_unknown", "dead@example.test"],
                             capture_output=True, text=True, timeout=30)
        if add.returncode != 0:
            fail("bounceguard add: " + add.stderr)
        textfile = os.path.join(d, "bg-{program}.prom")
        config = os.path.join(d, "policyd.toml")
        with open(config, "w") as f:
            f.write('[policyd]\nuser = ""\nworkers = 2\n'
                    '[metrics]\npolicyd_listen = "127.0.0.1:0"\nmilter_listen = "127.0.0.1:1"\n'
                    'textfile = "%s"\ntextfile_interval = "1h"\n' % textfile)
        log_path = os.path.join(d, "policyd.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([POLICYD, "--config", config, "--store", store, "--listen", "inet:127.0.0.1:0",
                                     "--foreground"], stderr=log, stdout=subprocess.DEVNULL)
        try:
            run(proc, log_path, os.path.join(d, "bg-policyd.prom"))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print("ok")


def run(proc, log_path, textfile):
    log = wait_for(lambda: (lambda t: t if "listening on inet:127.0.0.1:" in t else None)(read(log_path)))
    if not log:
        fail("the daemon did not start: " + read(log_path))
    m = re.search(r"metrics: http://127\.0\.0\.1:(\d+)/metrics, textfile (\S+)", log)
    if not m:
        fail("no metrics line in the log: " + log)
    mport = int(m.group(1))
    if m.group(2) != textfile:
        fail("textfile %s, expected %s ({program} = policyd)" % (m.group(2), textfile))
    pport = int(re.search(r"listening on inet:127\.0\.0\.1:(\d+)", log).group(1))

    before = bgtest.scrape_metrics(mport)
    if not [k for k, v in before.items()
            if k.startswith("bounceguard_build_info{") and k.endswith(',program="policyd"}') and v == 1]:
        fail("no build_info for policyd")

    c = Policy(pport)
    a = c.ask("dead@example.test")
    if not a.startswith("action=550 5.1.1"):
        fail("suppressed recipient answered " + a)
    for rcpt, client, state in (("fine@example.test", "127.0.0.1", "RCPT"),      # clean, outbound
                                ("dead@example.test", "192.0.2.1", "RCPT"),      # inbound: not checked
                                ("dead@example.test", "127.0.0.1", "DATA")):     # another state
        a = c.ask(rcpt, client, state)
        if a != "action=DUNNO":
            fail("%s from %s at %s answered %s" % (rcpt, client, state, a))
    during = bgtest.scrape_metrics(mport)
    c.close()

    expected = {
        'bounceguard_policy_requests_total{action="reject"}': 1,
        'bounceguard_policy_requests_total{action="dunno"}': 3,
        'bounceguard_policy_requests_total{action="warn"}': 0,
        'bounceguard_rcpt_checks_total{verdict="reject"}': 1,
        'bounceguard_rcpt_checks_total{verdict="pass"}': 1,
        'bounceguard_refused_total{category="user_unknown"}': 1,
        'bounceguard_would_refuse_total{category="user_unknown"}': 0,
        'bounceguard_lookup_errors_total': 0,
        'bounceguard_policy_malformed_requests_total': 0,
    }
    problems = bgtest.metric_delta_problems(before, during, expected)
    if problems:
        fail("\n".join(problems))
    if during.get("bounceguard_connections") != 1:
        fail("bounceguard_connections = %s with one client connected" % during.get("bounceguard_connections"))
    if wait_for(lambda: bgtest.scrape_metrics(mport).get("bounceguard_connections") == 0) is None:
        fail("bounceguard_connections did not go back to 0 after the client left")

    # Only GET /metrics.
    try:
        OPENER.open("http://127.0.0.1:%d/" % mport, timeout=5)
        fail("GET / was not refused")
    except urllib.error.HTTPError as e:
        if e.code != 404:
            fail("GET / answered %d" % e.code)

    # A reload is counted.
    os.kill(proc.pid, signal.SIGHUP)
    reloads = 'bounceguard_config_reloads_total{result="ok"}'
    if wait_for(lambda: bgtest.scrape_metrics(mport).get(reloads) == 1) is None:
        fail("the reload was not counted: " + read(log_path))

    # SIGTERM: the textfile is written a last time, with the final counts.
    os.kill(proc.pid, signal.SIGTERM)
    if proc.wait(timeout=10) != 0:
        fail("exit status %d: %s" % (proc.returncode, read(log_path)))
    final = bgtest.parse_metrics(read(textfile))
    if final.get('bounceguard_refused_total{category="user_unknown"}') != during[
            'bounceguard_refused_total{category="user_unknown"}']:
        fail("the textfile does not have the final counts")
    if [n for n in os.listdir(os.path.dirname(textfile)) if n.endswith(".tmp")]:
        fail("a temporary file was left behind")


if __name__ == "__main__":
    main()
