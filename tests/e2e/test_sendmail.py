#!/usr/bin/python3
"""bounceguard-milter on a real Sendmail, end to end (tests/e2e/lib/bgtest.py for the helpers).

A private Sendmail 8.17 from Debian's packages, extracted and never installed (scripts/deps.sh
puts it in /var/cache/bounceguard-tests/sendmail; BG_SENDMAIL_DIR moves it), runs on 127.0.0.1
with its own sendmail.cf built by m4 from the extracted cf.m4, including OUR
conf/sendmail/bounceguard.mc as it stands. Two listeners: "MTA" (mail from the world, where the
DSNs come back) and "MSA" (submission; enforce.daemon_names = ["MSA"] and enforce.networks = []
make only that mail outbound, so the {daemon_name} macro the snippet passes is what decides).
Everything Sendmail sends goes to a FakeMX on loopback that refuses gone@ with 550 5.1.1.

  1. enforce: a message to blocked@ (suppressed with `bounceguard add`), ok@, moved@ and gone@:
     RCPT TO:<blocked@> gets the configured reply; the others are accepted; the MX gets the
     message (signed with X-Bounceguard-Token) for ok@ and moved@, never sees blocked@, and
     refuses gone@. Sendmail's own DSN for gone@ reaches alice but not the milter (a Sendmail
     limitation): gone@ is learned by `bounceguard ingest-log` from Sendmail's log lines.
     Mail to blocked@ that arrives on the MTA listener (inbound) passes.
  2. a remote DSN for moved@ comes back over SMTP, returning the signed headers: learned
     (source dsn-remote, trust token-valid), passed on with X-Bounceguard-Learned.
  3. forged DSNs (no token; a real token replayed for another recipient): accepted as mail,
     logged as unverified, nothing suppressed.
  4. the milter stopped: the snippet has no F= flag, so Sendmail goes on without it (the
     counterpart of milter_default_action = accept): blocked@ is accepted and delivered.
  5. observe mode (a milter started with policy.mode = "observe"): blocked@ is accepted and
     delivered, the milter logs "would refuse (not enforced)", the suppression stays.

Sendmail runs in its own namespaces (unshare): UTS, with a dotted hostname (an unqualified one
makes Sendmail sleep 60 s at start); PID, so that every process it forks dies with it; mount,
with a private /dev (a tmpfs holding null, zero, full, random, urandom, tty and, as /dev/log,
this test's syslog socket). Sendmail logs only through syslog(3): its lines reach this test and
nothing else, and the machine's /dev/log (whether or not there is one) is never touched.
Sendmail's namespace also has a private /run, where BASE/run-bounceguard is /run/bounceguard: the
milter listens on the snippet's socket, /run/bounceguard/milter.sock, as Sendmail sees it (a
socket under /tmp would not do: Sendmail refuses one in a world-writable directory, "local socket
name ... unsafe", and then does not start at all).
Usage: test_sendmail.py MILTER_BINARY CLI_BINARY   (root: unshare and mount need it)
"""
import contextlib
import email.utils
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import bgtest  # noqa: E402

SNIPPET = os.path.join(HERE, "..", "..", "conf", "sendmail", "bounceguard.mc")
SNIPPET_SOCKET = "unix:/run/bounceguard/milter.sock"
SENDMAIL_DIR = os.environ.get("BG_SENDMAIL_DIR", "/var/cache/bounceguard-tests/sendmail")
HOSTNAME = "smmta.e2e.test"

RULES = [("RCPT", "gone@example.test", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown")]
REJECT_REPLY = "550 5.1.1 <{recipient}> bounceguard e2e: suppressed since {since} ({category})"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ----------------------------------------------------------------------------------------------
# Sendmail's syslog lines

class SyslogSink:
    """A unix datagram socket that keeps every message sent to it (RFC 3164 as glibc's
    syslog(3) writes it: "<22>Nov 26 01:36:24 sendmail[7]: ...") and appends it to a file."""

    def __init__(self, path, out_path):
        self.path, self.out_path = path, out_path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)  # Sendmail's delivery agents may run as the mail user
        self.sock.settimeout(0.1)
        self.lines, self._lock, self._stop = [], threading.Lock(), threading.Event()
        self._out = open(out_path, "ab", buffering=0)
        self._thread = threading.Thread(target=self._run, name="syslog", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            line = data.rstrip(b"\0\n").decode("utf-8", "replace")
            with self._lock:
                self.lines.append(line)
                self._out.write(line.encode("utf-8") + b"\n")

    def text(self):
        with self._lock:
            return "\n".join(self.lines) + "\n"

    def wait(self, regex, timeout=15):
        rx = re.compile(regex, re.M)
        try:
            return bgtest.wait_for(lambda: rx.search(self.text()), timeout, what="Sendmail log /%s/" % regex)
        except TimeoutError as e:
            raise TimeoutError("%s\n---- Sendmail log:\n%s" % (e, self.text()[-3000:])) from None

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        self._out.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


# ----------------------------------------------------------------------------------------------
# the private Sendmail

# Runs as PID 1 of a new PID namespace, in new mount and UTS namespaces: the hostname; a private
# /dev (tmpfs) with the devices Sendmail uses and BASE/syslog.sock as /dev/log; a private /run
# (tmpfs) with BASE/run-bounceguard as /run/bounceguard, where the milter's socket is, so that
# the snippet's S=unix:/run/bounceguard/milter.sock is used as it stands. Then Sendmail in the
# foreground (-bD) as that PID 1: when it exits, the kernel kills whatever it forked.
NAMESPACE_SCRIPT = r"""
set -e
base=$1; shift
hostname "$BG_SM_HOSTNAME"
d=$base/dev
mount -t tmpfs -o mode=0755,size=64k bg-sendmail-dev "$d"
for n in null zero full random urandom tty; do
  : > "$d/$n"; mount --bind "/dev/$n" "$d/$n"
done
ln -s /proc/self/fd "$d/fd"
ln -s /proc/self/fd/0 "$d/stdin"; ln -s /proc/self/fd/1 "$d/stdout"; ln -s /proc/self/fd/2 "$d/stderr"
: > "$d/log"; mount --bind "$base/syslog.sock" "$d/log"
mount --move "$d" /dev
mount -t tmpfs -o mode=0755,size=64k bg-sendmail-run /run
mkdir /run/bounceguard; mount --bind "$base/run-bounceguard" /run/bounceguard
exec "$@"
"""


class Sendmail:
    def __init__(self, base, mx_port):
        self.base = base
        self.root = os.path.join(SENDMAIL_DIR, "root")
        self.binary = os.path.join(self.root, "usr", "libexec", "sendmail", "sendmail")
        self.cf_m4 = os.path.join(self.root, "usr", "share", "sendmail", "cf", "m4", "cf.m4")
        for p in (self.binary, self.cf_m4):
            if not os.path.exists(p):
                raise RuntimeError("%s is missing: run scripts/deps.sh (as root) first" % p)
        for tool in ("m4", "unshare", "mount"):
            if not shutil.which(tool):
                raise RuntimeError("%s is missing: run scripts/deps.sh" % tool)
        self.mx_port = mx_port
        self.mta_port, self.msa_port = bgtest.free_port(), bgtest.free_port()
        self.proc = None

    def _mc(self):
        b = self.base
        defs = [
            ("confDEF_USER_ID", "mail:mail"),
            ("QUEUE_DIR", b + "/queue"), ("MSP_QUEUE_DIR", b + "/queue"),
            ("confPID_FILE", b + "/sendmail.pid"), ("STATUS_FILE", b + "/statistics"),
            ("ALIAS_FILE", b + "/aliases"), ("confCW_FILE", "-o " + b + "/local-host-names"),
            ("confSERVICE_SWITCH_FILE", b + "/service.switch"), ("confHOSTS_FILE", "/etc/hosts"),
            ("confDOMAIN_NAME", HOSTNAME), ("confDONT_PROBE_INTERFACES", "True"),
            ("confLOG_LEVEL", "14"), ("confDELIVERY_MODE", "background"),
            ("confTO_CONNECT", "5s"), ("confTO_ICONNECT", "5s"),
            # a busy CI machine must not make Sendmail queue (QueueLA) or refuse (RefuseLA) mail
            ("confQUEUE_LA", "1000"), ("confREFUSE_LA", "1000"),
            # every remote domain, the bounces' too, goes to the FakeMX: nothing leaves loopback
            ("SMART_HOST", "esmtp:[127.0.0.1]"),
        ] + [(m + "_MAILER_ARGS", "TCP $h %d" % self.mx_port)
             for m in ("ESMTP", "SMTP", "SMTP8", "DSMTP", "RELAY")]
        lines = ["divert(-1)", "divert(0)dnl", "include(`%s')dnl" % self.cf_m4,
                 "VERSIONID(`bounceguard e2e, loopback only')dnl", "OSTYPE(`linux')dnl"]
        lines += ["define(`%s', `%s')dnl" % kv for kv in defs]
        lines += ["FEATURE(`no_default_msa')dnl",   # else a daemon on *:587
                  "FEATURE(`nocanonify')dnl", "FEATURE(`accept_unresolvable_domains')dnl",
                  "DAEMON_OPTIONS(`Port=%d, Addr=127.0.0.1, Name=MTA')dnl" % self.mta_port,
                  "DAEMON_OPTIONS(`Port=%d, Addr=127.0.0.1, Name=MSA, M=E')dnl" % self.msa_port,
                  "include(`%s')dnl" % os.path.abspath(SNIPPET),   # as it stands
                  "MAILER(`local')dnl", "MAILER(`smtp')dnl", ""]
        return "\n".join(lines)

    def build(self):
        b = self.base
        os.makedirs(b + "/queue", mode=0o700)
        os.makedirs(b + "/dev")
        os.makedirs(b + "/run-bounceguard", mode=0o755)  # /run/bounceguard in Sendmail's namespace
        for name, text in (("aliases", ""), ("local-host-names", ""), ("statistics", ""),
                           ("service.switch", "hosts files\naliases files\n")):
            with open(os.path.join(b, name), "w") as fh:
                fh.write(text)
        with open(b + "/sendmail.mc", "w") as fh:
            fh.write(self._mc())
        p = subprocess.run(["m4", b + "/sendmail.mc"], capture_output=True, text=True, timeout=30)
        check(p.returncode == 0 and not p.stderr.strip(), "m4: rc=%d %s" % (p.returncode, p.stderr))
        cf = p.stdout
        # what the snippet must have put into sendmail.cf
        with open(SNIPPET) as fh:
            m = re.search(r"^INPUT_MAIL_FILTER\(`bounceguard', `([^']*)'\)dnl$", fh.read(), re.M)
        check(m, "no INPUT_MAIL_FILTER line in " + SNIPPET)
        filt = m.group(1)
        check(filt.startswith("S=" + SNIPPET_SOCKET + ", "), "the snippet's socket is not " + SNIPPET_SOCKET)
        # step 4 asserts what a missing milter does without a failure flag
        check(not re.search(r"(^|, )F=", filt), "the snippet sets F= now: update the milter-down step")
        check(re.search(r"^Xbounceguard, %s$" % re.escape(filt), cf, re.M), "no X line for the milter in sendmail.cf")
        check(re.search(r"^O InputMailFilters=bounceguard$", cf, re.M), "InputMailFilters")
        check(re.search(r"^O Milter\.macros\.connect=.*\{daemon_name\}", cf, re.M), "{daemon_name} not passed")
        check(re.search(r"^O Milter\.macros\.envfrom=i, .*\{auth_authen\}", cf, re.M), "i/{auth_authen}")
        listeners = re.findall(r"^O DaemonPortOptions=(.*)$", cf, re.M)
        check(all("Addr=127.0.0.1" in x for x in listeners) and len(listeners) == 2,
              "a Sendmail listener not on loopback: %r" % listeners)
        with open(b + "/sendmail.cf", "w") as fh:
            fh.write(cf)

    def start(self):
        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--propagation", "private",
                "sh", "-c", NAMESPACE_SCRIPT, "sh", self.base,
                self.binary, "-C", self.base + "/sendmail.cf", "-bD"]
        self.proc = bgtest.Process(argv, log_path=self.base + "/sendmail.out", ready_port=self.mta_port,
                                   env={"BG_SM_HOSTNAME": HOSTNAME}, ready_timeout=20)
        self.proc.start()
        bgtest.wait_port(self.msa_port, 10)
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()


# ----------------------------------------------------------------------------------------------
# an SMTP client that reports every reply

def smtp_send(port, sender, rcpts, msg):
    """One transaction; returns {"mail", "rcpts": {rcpt: (code, text)}, "accepted", "data"}."""
    res = {"mail": None, "rcpts": {}, "accepted": [], "data": None}
    s = smtplib.SMTP(timeout=30, local_hostname="client.test")
    try:
        code, _ = s.connect("127.0.0.1", port)
        check(code == 220, "greeting %d" % code)
        s.ehlo()
        code, text = s.mail(sender)
        res["mail"] = (code, text.decode())
        if code != 250:
            return res
        for r in rcpts:
            code, text = s.rcpt(r)
            res["rcpts"][r] = (code, text.decode())
            if code == 250:
                res["accepted"].append(r)
        if res["accepted"]:
            try:
                code, text = s.data(msg)
            except smtplib.SMTPDataError as e:
                code, text = e.smtp_code, e.smtp_error
            res["data"] = (code, text.decode())
    finally:
        with contextlib.suppress(Exception):
            s.quit()
        s.close()
    return res


def unix_listening(path):
    """Whether a unix socket listens at path (/proc/net/unix, flag __SO_ACCEPTCON); no connection."""
    with open("/proc/net/unix") as fh:
        next(fh)
        for line in fh:
            f = line.split()
            if len(f) >= 8 and f[7] == path and int(f[3], 16) & 0x10000:
                return True
    return False


def remote_dsn(rcpt, original_headers, reply, to="alice@sender.test"):
    """A DSN as a remote MTA sends it back (RFC 3464), returning the original's headers."""
    boundary = "dsn-%d" % time.monotonic_ns()
    status = reply.split()[1]
    return ("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.fake.test>\r\n"
            "To: <%s>\r\nSubject: Returned mail: see transcript for details\r\n"
            "Date: %s\r\nMessage-ID: <%s@mx.fake.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"\r\n\r\n"
            "--%s\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered after it was accepted.\r\n\r\n"
            "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.fake.test\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n"
            "Remote-MTA: dns; store.fake.test\r\nDiagnostic-Code: smtp; %s\r\n\r\n"
            "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n--%s--\r\n"
            % (to, email.utils.formatdate(), boundary, boundary, boundary, boundary, rcpt, status, reply,
               boundary, original_headers.rstrip("\r\n"), boundary)).encode()


def headers_of(data):
    return data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace") + "\r\n"


# ----------------------------------------------------------------------------------------------

def main():
    milter_bin, cli_bin = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        raise SystemExit("test_sendmail.py needs root (unshare and mount)")
    t0 = time.monotonic()
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(bgtest.temp_base("bg-sendmail-"))
        # Sendmail sees this file as /run/bounceguard/milter.sock (NAMESPACE_SCRIPT)
        sock_path = os.path.join(base, "run-bounceguard", "milter.sock")
        store = "sqlite:%s/bg.db" % base
        conf = os.path.join(base, "bounceguard.toml")
        with open(os.path.join(base, "token.key"), "w") as fh:
            fh.write("sendmail-e2e-token-key-0123456789\n")

        def write_conf(mode):
            with open(conf, "w") as fh:
                fh.write('[store]\nuri = "%s"\n[policy]\nmode = "%s"\n'
                         '[enforce]\nnetworks = []\ndaemon_names = ["MSA"]\nreject_reply = "%s"\n'
                         '[milter]\nuser = ""\ntoken_key_file = "%s/token.key"\nlearned_header = true\n'
                         % (store, mode, REJECT_REPLY, base))

        def cli(*args):
            p = subprocess.run([cli_bin, "--config", conf] + list(args), capture_output=True, text=True, timeout=30)
            check(p.returncode == 0, "bounceguard %s: rc=%d %s" % (args, p.returncode, p.stderr))
            return p.stdout

        def show(addr):
            return json.loads(cli("show", "--json", addr))

        def start_milter(log_name):
            m = bgtest.Process([milter_bin, "--config", conf, "--listen", "unix:" + sock_path, "--foreground"],
                               log_path=os.path.join(base, log_name))
            m.start()
            stack.callback(m.stop)
            def ready():
                if not m.alive():
                    raise RuntimeError("the milter exited:\n" + m.output())
                return unix_listening(sock_path)
            bgtest.wait_for(ready, 10, interval=0.02, what="the milter on " + sock_path)
            return m

        write_conf("enforce")
        cli("add", "blocked@example.test")
        mx = stack.enter_context(bgtest.FakeMX(RULES))
        syslog = SyslogSink(os.path.join(base, "syslog.sock"), os.path.join(base, "maillog"))
        stack.callback(syslog.close)
        sm = Sendmail(base, mx.port)
        sm.build()
        milter = start_milter("milter.log")
        stack.callback(sm.stop)
        try:
            sm.start()
            t_ready = time.monotonic()
            run_story(sm, mx, syslog, milter, show, cli, start_milter, write_conf, base, sock_path)
        except Exception:
            sys.stderr.write("---- Sendmail log:\n%s\n---- milter log:\n%s\n"
                             % (syslog.text()[-6000:], milter.output()[-4000:]))
            raise
    print("PASS Sendmail end to end (setup %.1fs, total %.1fs)" % (t_ready - t0, time.monotonic() - t0))


def wait_accepted(mx, pred, what, timeout=20):
    try:
        return mx.wait_for(lambda txs: [t for t in txs if t["accepted"] and pred(t)], timeout)
    except TimeoutError:
        raise AssertionError("%s: the MX has %r" % (what, [(t["mail_from"], t["rcpts"], t["rcpts_rejected"])
                                                          for t in mx.transactions])) from None


def run_story(sm, mx, syslog, milter, show, cli, start_milter, write_conf, base, sock_path):
    alice = "alice@sender.test"
    rcpts = ["blocked@example.test", "ok@example.test", "moved@example.test", "gone@example.test"]
    msg_id = email.utils.make_msgid(domain="sender.test")

    # 1. enforce at RCPT on the MSA: blocked@ refused with the configured reply, the rest accepted
    msg = bgtest.make_message(alice, rcpts, "first send", "hello", message_id=msg_id)
    r = smtp_send(sm.msa_port, alice, rcpts, msg)
    code, text = r["rcpts"]["blocked@example.test"]
    # Sendmail puts "<address>... " in front of the text the milter set
    check(code == 550 and re.fullmatch(r"5\.1\.1 <blocked@example\.test>\.\.\. <blocked@example\.test> bounceguard "
                                       r"e2e: suppressed since \d{4}-\d\d-\d\d \(user_unknown\)", text),
          "RCPT TO:<blocked@>: %r" % ((code, text),))
    check(r["accepted"] == rcpts[1:] and r["data"] and r["data"][0] == 250, "first send: %r" % r)
    syslog.wait(r"Milter: to=<blocked@example\.test>, reject=550 5\.1\.1 <blocked@example\.test> bounceguard e2e")
    check("rcpt refused to=<blocked@example.test>" in milter.output(), "no refusal in the milter log")
    out = wait_accepted(mx, lambda t: "ok@example.test" in t["rcpts"], "the first send")[0]
    check(sorted(out["rcpts"]) == ["moved@example.test", "ok@example.test"], "MX accepted %r" % out["rcpts"])
    check([x for x, _ in out["rcpts_rejected"]] == ["gone@example.test"], "MX refused %r" % out["rcpts_rejected"])
    check(b"\r\nX-Bounceguard-Token: v1 t=" in b"\r\n" + out["data"], "the outbound mail is not signed")
    check(msg_id.encode() in out["data"], "Message-ID changed")
    # Sendmail's own DSN for gone@ goes back to alice (through the MX) without passing the milter
    wait_accepted(mx, lambda t: t["mail_from"] in ("", "<>") and alice in t["rcpts"], "Sendmail's DSN for gone@")
    syslog.wait(r"to=<gone@example\.test>, .*dsn=5\.1\.1, .*stat=User unknown")
    check("rcpt=<gone@example.test>" not in milter.output(), "the milter saw Sendmail's own DSN")
    check(show("gone@example.test")["suppressed"] is False, "gone@ suppressed before the log was read")
    # ... so the log follower learns it, from Sendmail's syslog lines
    stats = cli("ingest-log", "--stats", os.path.join(base, "maillog"))
    gone = show("gone@example.test")
    check(gone["suppressed"] is True and gone["category"] == "user_unknown"
          and [e["source"] for e in gone["evidence"]] == ["maillog"], "ingest-log: %r / %s" % (gone, stats))
    check(show("ok@example.test")["suppressed"] is False, "ok@ suppressed")
    # (after the log was read: a delivery in the log lifts a suppression)
    # mail received by the MTA daemon is not outbound ({daemon_name} MTA): blocked@ passes there
    r = smtp_send(sm.mta_port, "bob@elsewhere.test", ["blocked@example.test"],
                  bgtest.make_message("bob@elsewhere.test", ["blocked@example.test"], "inbound", "hi"))
    check(r["rcpts"]["blocked@example.test"][0] == 250 and r["data"][0] == 250, "inbound mail: %r" % r)
    wait_accepted(mx, lambda t: t["mail_from"] == "bob@elsewhere.test", "the inbound message")

    # 2. a remote DSN for moved@, returning the signed headers, is learned
    mx.clear()
    dsn = remote_dsn("moved@example.test", headers_of(out["data"]),
                     "550 5.1.1 <moved@example.test>: mailbox no longer exists")
    r = smtp_send(sm.mta_port, "", [alice], dsn)
    check(r["data"] and r["data"][0] == 250, "the remote DSN was not accepted: %r" % r)
    bgtest.wait_for(lambda: "rcpt=<moved@example.test>" in milter.output(), 10, what="the milter's decision")
    check(re.search(r"decision rcpt=<moved@example\.test> category=user_unknown .*action=suppress "
                    r".*source=dsn-remote trust=token-valid", milter.output()), "moved@ not learned")
    moved = show("moved@example.test")
    check(moved["suppressed"] is True and moved["category"] == "user_unknown"
          and [e["source"] for e in moved["evidence"]] == ["dsn-remote"], "moved@: %r" % moved)
    fwd = wait_accepted(mx, lambda t: alice in t["rcpts"], "the DSN passed on to alice")[0]
    check(re.search(rb"^X-Bounceguard-Learned: moved@example\.test user_unknown", fwd["data"], re.M),
          "no X-Bounceguard-Learned on the DSN passed on")

    # 3. forged DSNs: no token, and a real token replayed for another recipient
    mx.clear()
    forged = bgtest.make_message(alice, ["victim@example.test"], "never sent", "x")
    for victim, headers in (("victim@example.test", headers_of(forged)),
                            ("victim2@example.test", headers_of(out["data"]))):
        r = smtp_send(sm.mta_port, "", [alice], remote_dsn(victim, headers, "550 5.1.1 <%s>: User unknown" % victim))
        check(r["data"] and r["data"][0] == 250, "a forged DSN was refused as mail: %r" % r)
    log = bgtest.wait_for(lambda: (lambda t: t if "rcpt=<victim2@example.test>" in t else None)(milter.output()),
                          10, what="the forged DSNs in the milter log")
    check(re.search(r"unverified-bounce rcpt=<victim@example\.test> .*token=missing .*not recorded", log), "victim@")
    check(re.search(r"unverified-bounce rcpt=<victim2@example\.test> .*token=not_recipient .*not recorded", log),
          "victim2@")
    for v in ("victim@example.test", "victim2@example.test"):
        check(show(v)["suppressed"] is False, "a forged DSN suppressed %s" % v)
    mx.wait_for(lambda txs: len([t for t in txs if t["accepted"] and alice in t["rcpts"]]) == 2)  # passed on

    # 4. the milter stopped: Sendmail goes on without it (no F= in the snippet)
    milter.stop()
    bgtest.wait_for(lambda: not unix_listening(sock_path), 10, what="the milter gone")
    mx.clear()
    mark = len(syslog.text())
    m2 = bgtest.make_message(alice, ["blocked@example.test"], "milter down", "hello")
    r = smtp_send(sm.msa_port, alice, ["blocked@example.test"], m2)
    check(r["rcpts"]["blocked@example.test"][0] == 250 and r["data"][0] == 250, "milter down: %r" % r)
    got = wait_accepted(mx, lambda t: "blocked@example.test" in t["rcpts"], "mail with the milter down")[0]
    check(b"X-Bounceguard-Token" not in got["data"], "signed without a milter?")
    check(re.search(r"Milter \(bounceguard\): (error connecting to filter|local socket name .* unsafe)",
                    syslog.text()[mark:]) and "Milter (bounceguard): to error state" in syslog.text()[mark:],
          "Sendmail did not log the missing milter")

    # 5. observe mode: blocked@ accepted and delivered, a would-refuse line, still suppressed
    write_conf("observe")
    obs = start_milter("milter-observe.log")
    mx.clear()
    r = smtp_send(sm.msa_port, alice, ["blocked@example.test"],
                  bgtest.make_message(alice, ["blocked@example.test"], "observe", "hello"))
    check(r["rcpts"]["blocked@example.test"][0] == 250 and r["data"][0] == 250, "observe: %r" % r)
    got = wait_accepted(mx, lambda t: "blocked@example.test" in t["rcpts"], "mail in observe mode")[0]
    check(b"X-Bounceguard-Token: v1 " in got["data"], "observe mode: the milter did not see the mail")
    check(re.search(r"would refuse \(not enforced\) to=<blocked@example\.test>", obs.output()),
          "no would-refuse line:\n" + obs.output())
    check(show("blocked@example.test")["suppressed"] is True, "observe mode lifted blocked@")


if __name__ == "__main__":
    main()
