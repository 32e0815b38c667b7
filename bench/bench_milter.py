#!/usr/bin/python3
"""bench_milter: the milter's overhead on a real Postfix. Postfix's smtp-source sends N messages
(S parallel sessions, R recipients each, through the submission port) into a private Postfix that
relays them to Postfix's smtp-sink; the time until the log shows every recipient delivered gives
messages/s. Run once without a milter and once with bounceguard-milter on smtpd_milters and
non_smtpd_milters (store lookup per recipient, token signing), and report the ratio.
The milter listens on a unix socket by default; MILTER_SOCKET=inet puts it on loopback TCP (as
INSTALL.md sets it up for Debian's chrooted smtpd).
Usage: [REPEAT=3] [MILTER_SOCKET=unix|inet] bench_milter.py BUILD_DIR [MESSAGES=2000] [SESSIONS=8]
       [RECIPIENTS=2]   (root)
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "lib"))
import bgtest  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
S = int(sys.argv[3]) if len(sys.argv) > 3 else 8
R = int(sys.argv[4]) if len(sys.argv) > 4 else 2


def run(base, with_milter):
    sink_port = bgtest.free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "nobody", "127.0.0.1:%d" % sink_port, "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helpers = []
    main_cf = {"default_process_limit": "100"}
    try:
        bgtest.wait_port(sink_port)
        if with_milter:
            conf = os.path.join(base, "bg.toml")
            with open(os.path.join(base, "key"), "w") as fh:
                fh.write("bench-token-key-0123456789abcdef\n")
            with open(conf, "w") as fh:
                fh.write('[store]\nuri = "sqlite:%s/bg.db"\n[milter]\nuser = ""\ntoken_key_file = "%s/key"\n'
                         '[log]\nlevel = "warn"\n' % (base, base))
            subprocess.run([os.path.join(BUILD, "cli", "bounceguard"), "--config", conf, "add",
                            "dead@example.test"], check=True, capture_output=True)
            if os.environ.get("MILTER_SOCKET", "unix") == "inet":
                port = bgtest.free_port()
                listen, spec = "inet:127.0.0.1:%d" % port, "inet:127.0.0.1:%d" % port
            else:
                sock = os.path.join(base, "milter.sock")
                listen = spec = "unix:" + sock
            helpers.append(bgtest.Process([os.path.join(BUILD, "milter", "bounceguard-milter"), "--config", conf,
                                           "--listen", listen, "--foreground"],
                                          log_path=os.path.join(base, "milter.log")).start())
            if spec.startswith("inet:"):
                bgtest.wait_port(port)
            else:
                bgtest.wait_for(lambda: os.path.exists(sock), 10, what="the milter socket")
                os.chmod(sock, 0o666)
            main_cf.update(bgtest.milter_config(spec))
        with bgtest.PostfixInstance(os.path.join(base, "pf"), sink_port, main_cf=main_cf) as pf:
            mark = pf.log_offset()
            t0 = time.time()
            subprocess.run(["smtp-source", "-s", str(S), "-m", str(N), "-r", str(R), "-N", "-f", "alice@sender.test",
                            "-t", "u@example.test", "-l", "2048", "127.0.0.1:%d" % pf.submission_port],
                           check=True, capture_output=True, timeout=600)

            def done():
                return len(re.findall(r"status=sent", pf.log_text()[mark:])) >= N * R

            bgtest.wait_for(done, 600, interval=0.2, what="all deliveries")
            took = time.time() - t0
            return N / took, took
    finally:
        for h in helpers:
            h.stop()
        sink.terminate()
        sink.wait()


def main():
    # Alternate the two setups REPEAT times and report the medians: on a shared machine one run
    # of each says little.
    repeat = int(os.environ.get("REPEAT", "3"))
    without, withm = [], []
    with bgtest.temp_base("bg-bench-milter-") as base:
        for i in range(repeat):
            for name, flag, out in (("a", False, without), ("b", True, withm)):
                d = os.path.join(base, "%s%d" % (name, i))
                os.makedirs(d)
                out.append(run(d, flag)[0])
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    print("messages=%d sessions=%d recipients/message=%d runs=%d (alternating), milter socket %s"
          % (N, S, R, repeat, os.environ.get("MILTER_SOCKET", "unix")))
    print("without milter: median %.0f msg/s (runs: %s)" % (med(without), " ".join("%.0f" % x for x in without)))
    print("with milter:    median %.0f msg/s (runs: %s)" % (med(withm), " ".join("%.0f" % x for x in withm)))
    print("ratio:          %.1f%% of the throughput without the milter (target >= 90%%)"
          % (100.0 * med(withm) / med(without)))


if __name__ == "__main__":
    main()
