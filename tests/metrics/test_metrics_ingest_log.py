#!/usr/bin/python3
"""The metrics of `bounceguard ingest-log --follow`, end to end.

The follower reads a copy of the Postfix log fixture (tests/corpus/maillog/postfix.log: 68
lines, 44 recognised, 4 events recorded, 2 suppressions) with its metrics endpoint on a free
port of 127.0.0.1 and a textfile; the scrape must show exactly those counts, a line appended
later must be counted, and SIGTERM must leave the textfile with the final counts. A run
without --follow exports nothing. Stdlib only; a temporary directory; stopped even on failure.

usage: test_metrics_ingest_log.py BOUNCEGUARD SOURCE_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLI, SOURCE = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e", "lib"))
import bgtest  # noqa: E402  (parse_metrics, scrape_metrics)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def scrape(port):
    try:
        return bgtest.scrape_metrics(port)
    except OSError:
        return None  # not listening yet


def wait_for(pred, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return None


def main():
    with tempfile.TemporaryDirectory(prefix="bg-metrics-") as d:
        log = os.path.join(d, "mail.log")
        shutil.copy(os.path.join(SOURCE, "tests/corpus/maillog/postfix.log"), log)
        port = bgtest.free_port()
        textfile = os.path.join(d, "bg-{program}.prom")
        config = os.path.join(d, "bg.toml")
        with open(config, "w") as f:
            f.write('[maillog]\npoll_interval_ms = 20\n[metrics]\ningest_log_listen = "127.0.0.1:%d"\n'
                    'textfile = "%s"\n' % (port, textfile))
        store = "sqlite:" + os.path.join(d, "store.db")
        # Without --follow: no endpoint, no file.
        once = subprocess.run([CLI, "--config", config, "--store", "sqlite:" + os.path.join(d, "once.db"),
                               "ingest-log", log], capture_output=True, text=True, timeout=60)
        if once.returncode != 0:
            fail("ingest-log without --follow: " + once.stderr)
        if os.path.exists(os.path.join(d, "bg-ingest-log.prom")):
            fail("a run without --follow wrote the textfile")
        err = open(os.path.join(d, "stderr"), "w")
        proc = subprocess.Popen([CLI, "--config", config, "--store", store, "ingest-log", "--follow", "--state",
                                 os.path.join(d, "state"), log], stdout=subprocess.DEVNULL, stderr=err)
        try:
            run(proc, port, log, os.path.join(d, "bg-ingest-log.prom"), os.path.join(d, "stderr"))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err.close()
    print("ok")


def run(proc, port, log, textfile, stderr):
    m = wait_for(lambda: (lambda s: s if s and s.get("bounceguard_ingest_lines_read_total") == 68 else None)(
        scrape(port)))
    if not m:
        fail("no scrape with 68 lines read: %s %s" % (scrape(port), open(stderr).read()))
    want = {
        "bounceguard_ingest_lines_recognised_total": 44,
        "bounceguard_ingest_events_recorded_total": 4,
        'bounceguard_learned_total{category="user_unknown",blame="recipient",source="maillog"}': 2,
        'bounceguard_learned_total{category="mailbox_full",blame="recipient",source="maillog"}': 1,
        'bounceguard_suppressions_added_total{category="user_unknown"}': 2,
        "bounceguard_record_errors_total": 0,
    }
    for key, value in want.items():
        if m.get(key) != value:
            fail("%s = %s, expected %d" % (key, m.get(key), value))
    if not [k for k in m if k.startswith("bounceguard_build_info{") and k.endswith(',program="ingest-log"}')]:
        fail("no build_info for ingest-log")
    # The endpoint is the follower's own: no policy daemon counts in it.
    if m.get('bounceguard_policy_requests_total{action="dunno"}') != 0:
        fail("policy requests counted in the follower")
    with open(log, "a") as f:
        f.write("Nov 25 15:40:00 vm postfix/qmgr[100]: 0123456789A: removed\n")
    if not wait_for(lambda: (scrape(port) or {}).get("bounceguard_ingest_lines_read_total") == 69):
        fail("an appended line was not counted")
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=15) != 0:
        fail("exit status %d: %s" % (proc.returncode, open(stderr).read()))
    final = bgtest.parse_metrics(open(textfile).read())
    if final.get("bounceguard_ingest_lines_read_total") != 69:
        fail("the textfile at exit says %s lines" % final.get("bounceguard_ingest_lines_read_total"))


if __name__ == "__main__":
    main()
