#!/usr/bin/python3
"""bgtest: the end-to-end test harness of bounceguard (Python 3 stdlib only).

Everything listens on and connects to 127.0.0.1 only; every port is chosen at run time, and an
instance keeps all its files under its own base directory, so two test programs can run at once
(ctest -j2). Run the tests with /usr/bin/python3 (Debian's), as root (postfix start needs root).

API
---
free_port() -> int
    A TCP port on 127.0.0.1 that was free a moment ago (never the same one twice per program).

temp_base(prefix="bg-e2e-")
    Context manager: a fresh directory under the system temp dir (0755, so Postfix's daemons can
    traverse it), removed afterwards unless BG_E2E_KEEP=1. Use it as the instance's parent dir.

wait_port(port, timeout=10) / wait_port_free(port, timeout=10) / port_listening(port)
    Whether something LISTENs on 127.0.0.1:port, read from /proc/net/tcp: no connection is made,
    so a milter or policy daemon under test sees no extra event.

Process(argv, log_path=None, ready_port=None, env=None, cwd=None, ready_timeout=10)
    A helper process (our daemons): output to log_path, start() waits for ready_port, stop()
    sends SIGTERM then SIGKILL to its process group; .output(); context manager.

milter_config(sock, smtpd=True, non_smtpd=True, bounces=True, default_action="tempfail") -> dict
policy_config(sock, timeout="10s", default_action=None) -> dict
    main.cf keys for PostfixInstance(main_cf=...): a milter on smtpd / non-smtpd mail and on
    Postfix's bounces (internal_mail_filter_classes = bounce); a check_policy_service at RCPT.

miltertest(script, sock, defines=None, timeout=30) -> subprocess.CompletedProcess

wait_for(pred, timeout, interval=0.05, what=None)
    Call pred() until it returns something truthy and return that value; raise TimeoutError
    (naming `what` or the predicate) after `timeout` seconds.

make_message(sender, rcpts, subject, body, extra_headers=None, message_id=None) -> bytes
    An RFC 5322 message with CRLF line ends (From, To, Subject, Date, Message-ID, MIME headers).
    extra_headers: a dict or a list of (name, value) pairs.

FakeMX(rules=(), port=None, hostname="mx.fake.test")
    A threaded SMTP server on 127.0.0.1 that plays a remote MX. rules is a list of
    (stage, glob, reply):
        stage  CONNECT (glob over the client IP; the reply replaces the 220 greeting),
               HELO (over the EHLO/HELO argument), MAIL (over the sender, "<>" for the null
               sender), RCPT (over the recipient), DATA (over each accepted recipient; the
               reply is given after the final dot).
        glob   fnmatch pattern, case-insensitive. The first matching rule wins; no match: 250.
        reply  "CODE text". "{rcpt}" and "{sender}" are replaced; a newline (or a literal
               backslash-n) makes a multi-line reply ("550 5.1.1 a\\n5.1.1 b" is sent as
               "550-5.1.1 a" / "550 5.1.1 b"). A 421 reply closes the connection, as a real MX
               does.
    .rules may be replaced (or set_rules()) between messages; each command reads the current list.
    .start() / .stop() / context manager; .port; .connections (count).
    .transactions: list of dicts, appended when a transaction ends (after the DATA reply, RSET,
        a new MAIL, QUIT or disconnect):
            peer, helo, mail_from, mail_params, mail_reply,
            rcpts            recipients accepted (list of str),
            rcpts_rejected   list of (rcpt, reply) for refused recipients,
            data             the message bytes (dot-unstuffed, CRLF) or None,
            data_reply       the reply given after the dot, or None,
            accepted         True when the message was accepted (2xx after the dot).
    .messages() -> list of accepted message bytes.  .clear() forgets the transactions so far.
    .wait_for(pred, timeout=10) -> calls pred(transactions_snapshot) until truthy; returns it.
    .rcpts_delivered() -> set of all recipients of accepted messages.

PostfixInstance(base_dir, relay_port, smtpd_port=None, main_cf=None, master_cf_extra="",
                submission_port=None, local_domain="sender.test",
                myhostname="mta.sender.test")
    A private Postfix (postfix -c BASE/conf; never the system instance, never /etc/postfix).
    Layout: BASE/conf (main.cf, master.cf), BASE/spool (queue), BASE/data,
    BASE/log/postfix.log (maillog_file; no syslog needed), BASE/mail (delivered mail, Maildir).
    - all outbound mail goes to [127.0.0.1]:relay_port (relayhost), no DNS at all;
    - fast failure: a 5xx bounces at once (DSN within ~0.1 s); a 4xx is deferred and retried
      2-3 s after the deferral, then every 3-4 s (queue_run_delay = 1s, minimal_backoff_time = 3s,
      maximal_backoff_time = 4s; flush() retries at once) until maximal_queue_lifetime = 60s,
      then returned as expired. Not a 1 s backoff: qmgr(8) takes a deferred file whose time
      stamp is at most 1 s ahead, so a 1 s backoff makes a message eligible the moment it is
      deferred, and a queue scan that comes before smtp(8) has closed the file finds it locked
      ("skipped, still being delivered") and cools it down for 60 s. For the same reason a
      flush() right after a deferral is logged can cost 60 s: let the backoff do the retry.
      For "try once, return a 4xx at once" (an expired DSN with Status 4.x.x within ~0.1 s):
      main_cf={"maximal_queue_lifetime": "0", "bounce_queue_lifetime": "0"} (TRY_ONCE);
    - every address of local_domain (sender.test) is delivered by virtual(8) into one Maildir,
      BASE/mail/maildir/, so the bounces Postfix sends back to the sender can be read: .delivered();
    - listeners: 127.0.0.1:smtpd_port (plain smtpd, {daemon_name} = myhostname) and
      127.0.0.1:submission_port (smtpd -o milter_macro_daemon_name=ORIGINATING, syslog_name
      postfix/submission, no SASL: clients in mynetworks may relay);
      non-SMTP mail (sendmail(1), pickup) is cleaned by "cleanup -o milter_macro_daemon_name=LOCAL",
      Postfix's own bounce/defer/trace notices by "bcleanup -o milter_macro_daemon_name=BOUNCE";
    - smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination (127.0.0.0/8);
      smtpd_recipient_restrictions is empty; no milter; milter_default_action = tempfail;
    - hooks: main_cf (dict) overrides or adds main.cf keys (see policy_config(),
      milter_config()); master_cf_extra is appended to master.cf (e.g. a spawn(8) service).
    Attributes: base, conf_dir, spool_dir, log_path, mail_dir, smtpd_port, submission_port,
    relay_port, local_domain, myhostname.
    Methods:
      .init()           write the configuration and create the queue (start() calls it once);
                        .check_output is what "postfix check" said ("" when clean)
      .start()          postfix start, wait until smtpd answers; raises with the log tail on error
      .stop()           always stops: SIGTERM to master, then SIGKILL to anything left over
      .reload()         postfix reload (after postconf edits); waits for master's "reload" line
      .smtp_send(sender, rcpts, msg_bytes, port=None, helo="client.test") -> dict
            {"connect": (code, text), "mail": (code, text), "rcpts": {rcpt: (code, text)},
             "data": (code, text) or None, "accepted": [rcpts with 2xx], "queue_id": str or None,
             "error": str or None}. Never raises on a refusal (only if it cannot connect at all).
      .sendmail(sender, rcpts, msg_bytes, check=True, args=()) -> subprocess.CompletedProcess
            the sendmail(1) path (sendmail -C BASE/conf -i -f SENDER -- RCPTS).
      .flush()          postqueue -f (retry deferred mail now)
      .queue_empty() -> bool    no message in maildrop/incoming/active/deferred/hold
      .wait_queue_empty(timeout=10)
      .log_text() -> str; .log_offset() -> int: an offset into log_text(); pass it as `since`
            to look only at the lines logged after it
      .wait_log(regex, timeout=10, since=0) -> re.Match (re.MULTILINE over log_text()[since:])
      .log_findall(regex, since=0) -> list of re.Match (all matches now, no waiting)
      .problems(since=0) -> Postfix's warning/error/fatal/panic lines, less cleanup's one-second
                         file-system-clock warning (fine-grained file time stamps, harmless)
      .deliveries(since=0) -> list of dicts, one per delivery-attempt log line: queue_id, to,
            relay, dsn, status, text, reply (the remote reply after "said: ") ...
      .delivered(rcpt=None) -> list of bytes (messages in BASE/mail, oldest first; rcpt filters)
      .bounces(rcpt=None) -> the delivered messages that are multipart/report DSNs
      .postconf(*args) -> str (postconf -c BASE/conf ...). After every edit main.cf and
            master.cf are backdated: Postfix stalls ~1.8 s on a main.cf younger than 2 s.
      .set_main_cf(dict) -> postconf -e for each key (then call reload() if running)
    Context manager: start on enter, stop on exit; on an exception the tail of the Postfix log is
    printed to stderr.

Environment: BG_E2E_KEEP=1 makes temp_base() keep its directory (for debugging).

If the test program dies without stopping them (a ctest TIMEOUT kills it), a small watchdog
process stops the Postfix instance and every Process it started.

LIMITATIONS: needs root (postfix start). A port from free_port() can be taken by someone else
before it is bound: PostfixInstance.start() then picks new ports for its own listeners (only
when it chose them); elsewhere the bind fails loudly, never silently on a wrong port.
"""

import contextlib
import email
import email.message
import email.policy
import email.utils
import fnmatch
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

POSTFIX = shutil.which("postfix", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/postfix"
POSTCONF = shutil.which("postconf", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/postconf"
POSTQUEUE = shutil.which("postqueue", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/postqueue"
SENDMAIL = "/usr/sbin/sendmail"

LOOPBACK = "127.0.0.1"


# ----------------------------------------------------------------------------------------------
# small helpers

_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that the kernel just handed out (and we released); never the same
    port twice in one test program."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("free_port: no new free port on 127.0.0.1")


def wait_for(pred, timeout, interval=0.05, what=None):
    """Poll pred() until truthy; return its value. TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s"
                               % (timeout, what or getattr(pred, "__name__", "a condition")))
        time.sleep(interval)


# Straight to 127.0.0.1, whatever proxy the environment names.
_LOOPBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def parse_metrics(text):
    """Prometheus text format -> {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = int(value)
    return out


def scrape_metrics(port):
    """GET /metrics on 127.0.0.1:port, parsed. Raises OSError when nothing answers, and
    RuntimeError when the answer is not a 200 in the text format 0.0.4."""
    with _LOOPBACK_OPENER.open("http://%s:%d/metrics" % (LOOPBACK, port), timeout=5) as r:
        if r.status != 200:
            raise RuntimeError("scrape status %d" % r.status)
        ctype = r.headers.get("Content-Type", "")
        if not ctype.startswith("text/plain; version=0.0.4"):
            raise RuntimeError("scrape content type " + ctype)
        return parse_metrics(r.read().decode())


def metric_delta_problems(before, after, expected):
    """What is wrong with the moves from one scrape to the next: each key of `expected` must be
    exported and have moved by exactly its value."""
    problems = []
    for key, want in expected.items():
        if key not in after:
            problems.append("%s not exported" % key)
        elif after[key] - before.get(key, 0) != want:
            problems.append("%s moved by %d, expected %d" % (key, after[key] - before.get(key, 0), want))
    return problems


def make_message(sender, rcpts, subject, body, extra_headers=None, message_id=None):
    """A small RFC 5322 message as bytes with CRLF line ends."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    msg = email.message.EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(rcpts)
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate()
    domain = sender.rpartition("@")[2] or "sender.test"
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=domain)
    if extra_headers:
        items = extra_headers.items() if isinstance(extra_headers, dict) else extra_headers
        for name, value in items:
            msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def temp_base(prefix="bg-e2e-"):
    """A context manager giving a fresh directory (0755, so Postfix daemons can traverse it),
    removed afterwards unless BG_E2E_KEEP=1."""
    @contextlib.contextmanager
    def _cm():
        path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(path, 0o755)
        try:
            yield path
        finally:
            if os.environ.get("BG_E2E_KEEP") == "1":
                print("bgtest: kept %s" % path, file=sys.stderr)
            else:
                shutil.rmtree(path, ignore_errors=True)
    return _cm()


def _listening_ports():
    """Ports with a TCP socket in LISTEN state that accepts connections to 127.0.0.1: bound to
    127.0.0.1 or 0.0.0.0 (/proc/net/tcp), or to :: or ::ffff:127.0.0.1 (/proc/net/tcp6)."""
    accept = {"0100007F", "00000000", "0" * 32, "0000000000000000FFFF00000100007F"}
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh, None)
                for line in fh:
                    f = line.split()
                    if len(f) > 3 and f[3] == "0A":
                        addr, _, port = f[1].partition(":")
                        if addr.upper() in accept:
                            ports.add(int(port, 16))
        except OSError:
            pass
    return ports


def port_listening(port):
    """True when something listens on 127.0.0.1:port. Makes no connection (a connection would
    show up as an event in a milter or policy daemon under test)."""
    return int(port) in _listening_ports()


def wait_port(port, timeout=10):
    """Wait until something listens on 127.0.0.1:port (no connection is made)."""
    return wait_for(lambda: port_listening(port), timeout, interval=0.02,
                    what="a listener on 127.0.0.1:%d" % port)


def wait_port_free(port, timeout=10):
    """Wait until nothing listens on 127.0.0.1:port any more (libmilter needs ~1 s to exit)."""
    return wait_for(lambda: not port_listening(port), timeout, interval=0.02,
                    what="127.0.0.1:%d to be free" % port)


def milter_config(socket_spec, smtpd=True, non_smtpd=True, bounces=True,
                  default_action="tempfail"):
    """main.cf keys that put a milter (e.g. "inet:127.0.0.1:PORT") on SMTP mail, on
    sendmail(1)/pickup mail and on Postfix's own bounces. tempfail: a dead milter fails loudly."""
    keys = {"milter_default_action": default_action}
    if smtpd:
        keys["smtpd_milters"] = socket_spec
    if non_smtpd:
        keys["non_smtpd_milters"] = socket_spec
    if bounces:
        keys["internal_mail_filter_classes"] = "bounce"
    return keys


def policy_config(socket_spec, timeout="10s", default_action=None):
    """main.cf keys that ask a policy service (e.g. "inet:127.0.0.1:PORT") at RCPT TO. Without
    default_action, Postfix answers "451 4.3.5 Server configuration problem" when it fails."""
    opts = "timeout=%s" % timeout
    if default_action:
        opts += ", default_action=%s" % default_action
    return {"smtpd_recipient_restrictions":
            "check_policy_service { %s, %s }" % (socket_spec, opts)}


def miltertest(script, sock, defines=None, timeout=30):
    """Run miltertest -D sock=SOCK [-D k=v ...] -s SCRIPT; returns the CompletedProcess
    (stdout/stderr as text). A failing Lua assert gives a non-zero returncode."""
    argv = [shutil.which("miltertest") or "/usr/bin/miltertest", "-D", "sock=%s" % sock]
    for k, v in (defines or {}).items():
        argv += ["-D", "%s=%s" % (k, v)]
    argv += ["-s", script]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


# A watchdog per started instance/process: if the test program dies without stopping what it
# started (SIGKILL by a ctest TIMEOUT, a crash), it stops it, so nothing keeps running in CI.
# argv: PARENT_PID KIND TARGET STARTTIME; KIND "pid" (a Postfix master: SIGTERM, which stops its
# children) or "pg" (a process group). STARTTIME guards against a reused pid.
_WATCHDOG = r"""
import os, signal, sys, time
parent, kind, target, start = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
def starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None
while os.getppid() == parent:
    time.sleep(0.2)
    if starttime(target) != start:
        sys.exit(0)
kill = os.kill if kind == "pid" else os.killpg
for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0)):
    if starttime(target) != start:
        break
    try:
        kill(target, sig)
    except OSError:
        break
    end = time.monotonic() + wait
    while time.monotonic() < end and starttime(target) == start:
        time.sleep(0.05)
"""


def _proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def _start_watchdog(kind, target):
    start = _proc_starttime(target)
    if start is None:
        return None
    return subprocess.Popen([sys.executable or "/usr/bin/python3", "-c", _WATCHDOG,
                             str(os.getpid()), kind, str(target), start],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _stop_watchdog(proc):
    if proc is not None:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


class Process:
    """A helper process a test starts (our policy daemon, milter, a log follower ...).

    Process(argv, log_path=None, ready_port=None, env=None, cwd=None, ready_timeout=10)
    .start(): stdout+stderr go to log_path (or a pipe-free temp file); with ready_port, waits
    until the process listens on 127.0.0.1:ready_port and raises (with its output) if it exits
    first. .stop(timeout=5) -> returncode: SIGTERM, then SIGKILL to its whole process group.
    .alive(), .pid, .returncode, .output() -> str. Context manager: on an exception the tail of
    its output is printed to stderr."""

    def __init__(self, argv, log_path=None, ready_port=None, env=None, cwd=None,
                 ready_timeout=10):
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.ready_port = ready_port
        self.env = env
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.proc = None
        self.returncode = None
        self._tmp = None
        self._watchdog = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        if self.log_path is None:
            fd, self._tmp = tempfile.mkstemp(prefix="bg-e2e-proc-", suffix=".log")
            os.close(fd)
            self.log_path = self._tmp
        env = dict(os.environ)
        env.update(self.env or {})
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.cwd, env=env,
                                         start_new_session=True)
        self._watchdog = _start_watchdog("pg", self.proc.pid)
        if self.ready_port:
            def ready():
                if self.proc.poll() is not None:
                    raise RuntimeError("%s exited with %s before listening on port %d:\n%s"
                                       % (self.argv[0], self.proc.returncode, self.ready_port,
                                          self.output()[-4000:]))
                return port_listening(self.ready_port)
            try:
                wait_for(ready, self.ready_timeout, interval=0.02,
                         what="%s to listen on 127.0.0.1:%d" % (self.argv[0], self.ready_port))
            except TimeoutError:
                sys.stderr.write(self.output()[-4000:])
                self.stop()
                raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5):
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)   # leftovers of the group, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        _stop_watchdog(self._watchdog)
        self._watchdog = None
        self.returncode = self.proc.returncode
        return self.returncode

    def output(self):
        try:
            with open(self.log_path, "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                sys.stderr.write("---- bgtest: output of %s:\n%s\n"
                                 % (" ".join(self.argv), self.output()[-4000:]))
        finally:
            self.stop()
            if self._tmp:
                with contextlib.suppress(OSError):
                    os.unlink(self._tmp)
        return False


def _crlf(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def _backdate(*paths):
    # Postfix re-reads a main.cf younger than ~2 s in 0.3 s steps (guard against a file still
    # being written), stalling every postfix/postconf/sendmail call ~1.8 s. Backdate it.
    t = time.time() - 10
    for p in paths:
        if os.path.exists(p):
            os.utime(p, (t, t))


# ----------------------------------------------------------------------------------------------
# fake remote MX

MAX_LINE = 4096              # command line cap (RFC 5321: 512)
MAX_DATA_LINE = 1 << 20      # one DATA line
MAX_DATA = 64 << 20          # one message


class _MXServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _MXHandler(socketserver.StreamRequestHandler):
    timeout = 60

    def handle(self):
        self.server.fake_mx._session(self)


class FakeMX:
    """Scriptable remote MX on 127.0.0.1 (see the module docstring)."""

    STAGES = ("CONNECT", "HELO", "MAIL", "RCPT", "DATA")

    def __init__(self, rules=(), port=None, hostname="mx.fake.test"):
        self.set_rules(rules)
        self.hostname = hostname
        self._want_port = port or 0
        self.port = None
        self.transactions = []
        self.connections = 0
        self._lock = threading.Lock()
        self._socks = set()
        self._server = None
        self._thread = None

    # -- rules
    def set_rules(self, rules):
        checked = []
        for stage, glob, reply in rules:
            stage = stage.upper()
            if stage not in self.STAGES:
                raise ValueError("FakeMX: unknown stage %r (use %s)" % (stage, "/".join(self.STAGES)))
            if not re.match(r"^[2-5]\d\d( |$)", reply):
                raise ValueError("FakeMX: reply must start with a 3-digit code: %r" % reply)
            checked.append((stage, glob, reply))
        self.rules = checked

    def _match(self, stage, value, **subst):
        for st, glob, reply in list(self.rules):
            if st == stage and fnmatch.fnmatchcase(value.lower(), glob.lower()):
                for k, v in subst.items():
                    reply = reply.replace("{%s}" % k, v)
                return reply
        return None

    @staticmethod
    def _fmt(reply):
        code, _, text = reply.partition(" ")
        lines = text.replace("\\n", "\n").split("\n")
        out = []
        for i, line in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            out.append("%s%s%s\r\n" % (code, sep, line))
        return "".join(out).encode("utf-8")

    # -- lifecycle
    def start(self):
        self._server = _MXServer((LOOPBACK, self._want_port), _MXHandler)
        self._server.fake_mx = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="FakeMX:%d" % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- results
    def _snapshot(self):
        with self._lock:
            return list(self.transactions)

    def wait_for(self, pred, timeout=10, interval=0.05):
        return wait_for(lambda: pred(self._snapshot()), timeout, interval,
                        what="a FakeMX transaction condition")

    def clear(self):
        """Forget the transactions recorded so far."""
        with self._lock:
            self.transactions.clear()

    def messages(self):
        return [t["data"] for t in self._snapshot() if t["accepted"]]

    def rcpts_delivered(self):
        return {r for t in self._snapshot() if t["accepted"] for r in t["rcpts"]}

    # -- SMTP session
    def _session(self, h):
        sock = h.connection
        with self._lock:
            self._socks.add(sock)
            self.connections += 1
        peer = h.client_address[0]
        state = {"helo": None, "tx": None}

        def send(data):
            h.wfile.write(data if isinstance(data, bytes) else data.encode("utf-8"))

        def end_tx():
            tx = state["tx"]
            state["tx"] = None
            if tx is not None:
                with self._lock:
                    self.transactions.append(tx)

        try:
            refused = False
            greet = self._match("CONNECT", peer)
            if greet:
                send(self._fmt(greet))
                if greet.startswith("421"):
                    return
                refused = not greet.startswith("2")
            else:
                send("220 %s ESMTP fake MX\r\n" % self.hostname)
            while True:
                raw = h.rfile.readline(MAX_LINE + 1)
                if not raw:
                    break
                if len(raw) > MAX_LINE:
                    send("500 5.5.2 Error: line too long\r\n")
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb):].strip()
                if verb == "QUIT":
                    send("221 2.0.0 Bye\r\n")
                    break
                if refused:
                    send("503 5.5.1 Error: no service\r\n")
                    continue
                if verb in ("EHLO", "HELO"):
                    r = self._match("HELO", arg, sender="", rcpt="")
                    if r:
                        send(self._fmt(r))
                        if r.startswith("421"):
                            break
                        continue
                    state["helo"] = arg
                    if verb == "EHLO":
                        send("250-%s\r\n250-PIPELINING\r\n250-SIZE 67108864\r\n250-8BITMIME\r\n"
                             "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n" % self.hostname)
                    else:
                        send("250 %s\r\n" % self.hostname)
                elif verb == "MAIL":
                    m = re.match(r"^FROM:\s*<([^>]*)>(.*)$", arg, re.I)
                    if not m:
                        send("501 5.5.4 Syntax: MAIL FROM:<address>\r\n")
                        continue
                    end_tx()
                    sender = m.group(1)
                    r = self._match("MAIL", sender or "<>", sender=sender, rcpt="")
                    tx = {"peer": peer, "helo": state["helo"], "mail_from": sender,
                          "mail_params": m.group(2).strip(), "mail_reply": r or "250 2.1.0 Ok",
                          "rcpts": [], "rcpts_rejected": [], "data": None, "data_reply": None,
                          "accepted": False, "time": time.time()}
                    state["tx"] = tx
                    if r:
                        send(self._fmt(r))
                        end_tx()
                        if r.startswith("421"):
                            break
                        continue
                    send("250 2.1.0 Ok\r\n")
                elif verb == "RCPT":
                    tx = state["tx"]
                    m = re.match(r"^TO:\s*<([^>]*)>(.*)$", arg, re.I)
                    if tx is None:
                        send("503 5.5.1 Error: need MAIL command\r\n")
                        continue
                    if not m:
                        send("501 5.5.4 Syntax: RCPT TO:<address>\r\n")
                        continue
                    rcpt = m.group(1)
                    r = self._match("RCPT", rcpt, rcpt=rcpt, sender=tx["mail_from"])
                    if r and not r.startswith("2"):
                        tx["rcpts_rejected"].append((rcpt, r.replace("\\n", "\n")))
                        send(self._fmt(r))
                        if r.startswith("421"):
                            break
                        continue
                    tx["rcpts"].append(rcpt)
                    send(self._fmt(r) if r else "250 2.1.5 Ok\r\n")
                elif verb == "DATA":
                    tx = state["tx"]
                    if tx is None:
                        send("503 5.5.1 Error: need RCPT command\r\n")
                        continue
                    if not tx["rcpts"]:
                        send("554 5.5.1 Error: no valid recipients\r\n")
                        continue
                    send("354 End data with <CR><LF>.<CR><LF>\r\n")
                    body = bytearray()
                    too_big = False
                    while True:
                        ln = h.rfile.readline(MAX_DATA_LINE)
                        if not ln:
                            raise ConnectionError("EOF in DATA")
                        if ln in (b".\r\n", b".\n"):
                            break
                        if ln.startswith(b"."):
                            ln = ln[1:]
                        if len(body) + len(ln) > MAX_DATA:
                            too_big = True
                        else:
                            body += ln
                    tx["data"] = bytes(body)
                    r = "552 5.3.4 Error: message too big" if too_big else None
                    for rc in tx["rcpts"]:
                        if r:
                            break
                        r = self._match("DATA", rc, rcpt=rc, sender=tx["mail_from"])
                    if r and not r.startswith("2"):
                        tx["data_reply"] = r.replace("\\n", "\n")
                        send(self._fmt(r))
                        end_tx()
                        if r.startswith("421"):
                            break
                        continue
                    with self._lock:
                        n = len(self.transactions) + 1
                    tx["data_reply"] = r or "250 2.0.0 Ok: queued as FAKE%04d" % n
                    tx["accepted"] = True
                    send(self._fmt(tx["data_reply"]))
                    end_tx()
                elif verb == "RSET":
                    end_tx()
                    send("250 2.0.0 Ok\r\n")
                elif verb == "NOOP":
                    send("250 2.0.0 Ok\r\n")
                elif verb == "VRFY":
                    send("252 2.0.0 Cannot VRFY user\r\n")
                else:
                    send("502 5.5.2 Error: command not recognized\r\n")
        except (OSError, ConnectionError):
            pass
        finally:
            end_tx()
            with self._lock:
                self._socks.discard(sock)


# ----------------------------------------------------------------------------------------------
# private Postfix instance

_MASTER_CF = """\
# bgtest private instance. chroot is "n" on every line: no copies of /etc files in the queue.
# service type  private unpriv  chroot  wakeup  maxproc command + args
{listen_smtpd} inet n   -       n       -       -       smtpd
{listen_subm} inet n    -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o milter_macro_daemon_name=ORIGINATING
pickup    unix  n       -       n       60      1       pickup
# non-SMTP mail (sendmail(1), pickup): milters see {{daemon_name}} = LOCAL
cleanup   unix  n       -       n       -       0       cleanup
  -o milter_macro_daemon_name=LOCAL
# Postfix's own notices (bounce/defer/trace): milters see {{daemon_name}} = BOUNCE
bcleanup  unix  n       -       n       -       0       cleanup
  -o syslog_name=postfix/bcleanup
  -o milter_macro_daemon_name=BOUNCE
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
  -o cleanup_service_name=bcleanup
defer     unix  -       -       n       -       0       bounce
  -o cleanup_service_name=bcleanup
trace     unix  -       -       n       -       0       bounce
  -o cleanup_service_name=bcleanup
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_MAILDIR_NAME = "maildir"

# main_cf overrides: a 4xx is not retried but returned at once (status=expired, a DSN with 4.x.x)
TRY_ONCE = {"maximal_queue_lifetime": "0", "bounce_queue_lifetime": "0"}
_QUEUE_DIRS = ("maildrop", "incoming", "active", "deferred", "hold")


class PostfixInstance:
    """A private, throw-away Postfix under one base directory (see the module docstring)."""

    def __init__(self, base_dir, relay_port, smtpd_port=None, main_cf=None, master_cf_extra="",
                 submission_port=None, local_domain="sender.test", myhostname="mta.sender.test"):
        self.base = os.path.abspath(base_dir)
        self.conf_dir = os.path.join(self.base, "conf")
        self.spool_dir = os.path.join(self.base, "spool")
        self.data_dir = os.path.join(self.base, "data")
        self.log_dir = os.path.join(self.base, "log")
        self.log_path = os.path.join(self.log_dir, "postfix.log")
        self.mail_dir = os.path.join(self.base, "mail")
        self.relay_port = int(relay_port)
        self.smtpd_port = int(smtpd_port) if smtpd_port else free_port()
        self.submission_port = int(submission_port) if submission_port else free_port()
        # ports we chose may be taken by someone else before master binds them: start() then
        # picks new ones (ports the caller gave are never changed)
        self._auto_ports = not smtpd_port and not submission_port
        self.local_domain = local_domain
        self.myhostname = myhostname
        self.main_cf_extra = dict(main_cf or {})
        self.master_cf_extra = master_cf_extra or ""
        self._initialised = False
        self._running = False
        self._watchdog = None
        self.check_output = None

    # -- configuration
    def main_cf_defaults(self):
        pw = pwd.getpwnam("postfix")
        return {
            "compatibility_level": "3.6",
            "queue_directory": self.spool_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            # logging without syslog (needs the postlog service in master.cf)
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.log_dir,
            # identity; loopback only
            "myhostname": self.myhostname,
            "mydomain": self.local_domain,
            "myorigin": self.local_domain,
            "mydestination": "",
            "inet_interfaces": LOOPBACK,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "smtpd_banner": "$myhostname ESMTP bgtest",
            # the local domain: Maildirs under BASE/mail (bounces come back here)
            "virtual_mailbox_domains": self.local_domain,
            "virtual_mailbox_base": self.mail_dir,
            # one Maildir for the whole domain (a regexp map may not substitute into a path);
            # virtual(8) adds Delivered-To:, which delivered(rcpt) filters on
            "virtual_mailbox_maps": "static:%s/" % _MAILDIR_NAME,
            "virtual_uid_maps": "static:%d" % pw.pw_uid,
            "virtual_gid_maps": "static:%d" % pw.pw_gid,
            "virtual_transport": "virtual",
            # everything else goes to the fake MX on loopback; no DNS at all
            "relayhost": "[%s]:%d" % (LOOPBACK, self.relay_port),
            "default_transport": "smtp",
            "relay_transport": "smtp",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "smtp_connect_timeout": "5s",
            # fast failure / bounce
            "maximal_queue_lifetime": "60s",
            "bounce_queue_lifetime": "60s",
            "delay_warning_time": "0",
            "queue_run_delay": "1s",
            # 3s, not 1s: see the class's docstring ("skipped, still being delivered")
            "minimal_backoff_time": "3s",
            "maximal_backoff_time": "4s",
            "smtpd_error_sleep_time": "0",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": "",
            # a milter that a test configures must fail loudly when it is down
            "milter_default_action": "tempfail",
            "milter_connect_timeout": "5s",
            "milter_command_timeout": "10s",
            "milter_content_timeout": "30s",
        }

    def _main_cf_text(self):
        keys = self.main_cf_defaults()
        keys.update({k: str(v) for k, v in self.main_cf_extra.items()})
        lines = ["# bgtest private instance (generated)"]
        for k, v in keys.items():
            if "\n" in k or "\n" in v:
                raise ValueError("main.cf: newline in %r" % k)
            lines.append("%s = %s" % (k, v))
        return "\n".join(lines) + "\n"

    def _master_cf_text(self):
        text = _MASTER_CF.format(
            listen_smtpd="%s:%d" % (LOOPBACK, self.smtpd_port),
            listen_subm="%s:%d" % (LOOPBACK, self.submission_port))
        if self.master_cf_extra:
            text += "# --- master_cf_extra\n" + self.master_cf_extra.rstrip("\n") + "\n"
        return text

    def init(self):
        """Write the configuration and create the queue (postfix check)."""
        if os.geteuid() != 0:
            raise RuntimeError("bgtest.PostfixInstance needs root (postfix start runs as root)")
        for d in (self.base, self.conf_dir, self.spool_dir, self.log_dir):
            os.makedirs(d, exist_ok=True)
            os.chown(d, 0, 0)
            os.chmod(d, 0o755)
        pw = pwd.getpwnam("postfix")
        for d, mode in ((self.data_dir, 0o700), (self.mail_dir, 0o755)):
            os.makedirs(d, exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            os.chmod(d, mode)
        self._write(os.path.join(self.conf_dir, "main.cf"), self._main_cf_text())
        self._write(os.path.join(self.conf_dir, "master.cf"), self._master_cf_text())
        self._backdate()
        out = self._run([POSTFIX, "-c", self.conf_dir, "check"], check=False)
        # what postfix check said: empty for a clean configuration (the smoke test asserts it)
        self.check_output = (out.stdout + out.stderr).strip()
        if out.returncode != 0:
            raise RuntimeError("postfix check failed (rc=%d):\n%s\n%s"
                               % (out.returncode, self.check_output, self.log_tail()))
        if self.check_output:
            sys.stderr.write("bgtest: postfix check: %s\n" % self.check_output)
        # one-shot flag: the next "postfix start" skips the checks just done
        open(os.path.join(self.spool_dir, "quick-start"), "w").close()
        self._initialised = True

    @staticmethod
    def _write(path, text):
        with open(path, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o644)

    def _backdate(self):
        _backdate(os.path.join(self.conf_dir, "main.cf"), os.path.join(self.conf_dir, "master.cf"))

    @staticmethod
    def _run(argv, check=True, input_bytes=None, timeout=60):
        p = subprocess.run(argv, input=input_bytes, capture_output=True, timeout=timeout)
        out = subprocess.CompletedProcess(argv, p.returncode,
                                          p.stdout.decode("utf-8", "replace"),
                                          p.stderr.decode("utf-8", "replace"))
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (rc=%d): %s%s"
                               % (" ".join(argv), p.returncode, out.stdout, out.stderr))
        return out

    def postconf(self, *args):
        """postconf -c BASE/conf ARGS...; returns stdout. Edited files are backdated."""
        out = self._run([POSTCONF, "-c", self.conf_dir] + [str(a) for a in args])
        self._backdate()
        return out.stdout

    def set_main_cf(self, keys):
        """Set main.cf keys (postconf -e). Call reload() afterwards if the instance runs."""
        for k, v in keys.items():
            self.main_cf_extra[k] = str(v)
        if self._initialised:
            self.postconf("-e", *["%s=%s" % (k, v) for k, v in keys.items()])

    # -- lifecycle
    def _master_pid(self):
        try:
            with open(os.path.join(self.spool_dir, "pid", "master.pid")) as fh:
                pid = int(fh.read().strip() or 0)
        except (OSError, ValueError):
            return None
        if pid <= 0:
            return None
        try:
            with open("/proc/%d/comm" % pid) as fh:
                if fh.read().strip() != "master":
                    return None
        except OSError:
            return None
        return pid

    def start(self, timeout=15):
        if not self._initialised:
            self.init()
        if self._master_pid():
            raise RuntimeError("a Postfix master already runs for %s" % self.conf_dir)
        for attempt in range(3):
            mark = self.log_offset()
            out = self._run([POSTFIX, "-c", self.conf_dir, "start"], check=False)
            if out.returncode == 0:
                break
            in_use = "Address already in use" in self.log_text()[mark:]
            if not (in_use and self._auto_ports and attempt < 2):
                raise RuntimeError("postfix start failed (rc=%d): %s%s\n%s"
                                   % (out.returncode, out.stdout, out.stderr, self.log_tail()))
            self.smtpd_port, self.submission_port = free_port(), free_port()
            self._write(os.path.join(self.conf_dir, "master.cf"), self._master_cf_text())
            self._backdate()
        self._running = True
        try:
            master = wait_for(self._master_pid, timeout, what="the Postfix master pid")
            self._watchdog = _start_watchdog("pid", master)
            wait_for(self._smtpd_answers, timeout, interval=0.02,
                     what="smtpd listening on 127.0.0.1:%d and :%d"
                     % (self.smtpd_port, self.submission_port))
        except Exception:
            sys.stderr.write(self.log_tail())
            self.stop()
            raise
        return self

    def _smtpd_answers(self):
        # a LISTEN socket, not a connection: a probe connection would reach a test's milter or
        # policy service and add an event the test did not make
        return port_listening(self.smtpd_port) and port_listening(self.submission_port)

    def _descendants(self, root):
        children = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as fh:
                    stat = fh.read()
                ppid = int(stat.rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
        out, todo = [], [root]
        while todo:
            p = todo.pop()
            for c in children.get(p, ()):
                out.append(c)
                todo.append(c)
        return out

    @staticmethod
    def _alive(pid):
        try:
            with open("/proc/%d/stat" % pid) as fh:
                return fh.read().rpartition(")")[2].split()[0] != "Z"
        except OSError:
            return False

    def stop(self, timeout=10):
        """Stop the instance (like postfix stop, without its 1 s polling); kill leftovers."""
        self._running = False
        _stop_watchdog(self._watchdog)
        self._watchdog = None
        pid = self._master_pid()
        if not pid:
            return
        kids = self._descendants(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        for p in [pid] + kids:
            if self._alive(p):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(self._alive(p) for p in [pid] + kids) and time.monotonic() < deadline:
            time.sleep(0.02)

    def reload(self, timeout=10):
        """postfix reload; returns once master has logged that it re-read the configuration."""
        self._backdate()
        mark = self.log_offset()
        self._run([POSTFIX, "-c", self.conf_dir, "reload"])
        self.wait_log(r"postfix/master\[\d+\]: reload -- ", timeout, mark)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                sys.stderr.write("---- bgtest: %s failed; tail of %s:\n%s"
                                 % (exc_type.__name__, self.log_path, self.log_tail()))
        finally:
            self.stop()
        return False

    # -- mail in
    def smtp_send(self, sender, rcpts, msg_bytes, port=None, helo="client.test", timeout=30):
        """One SMTP transaction; never raises on refusals (see the module docstring)."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        res = {"connect": None, "mail": None, "rcpts": {}, "data": None, "accepted": [],
               "queue_id": None, "error": None}

        def txt(b):
            return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)

        s = smtplib.SMTP(timeout=timeout, local_hostname=helo)
        try:
            code, text = s.connect(LOOPBACK, port or self.smtpd_port)
            res["connect"] = (code, txt(text))
            if code != 220:
                return res
            s.ehlo()
            code, text = s.mail(sender)
            res["mail"] = (code, txt(text))
            if code != 250:
                return res
            for r in rcpts:
                code, text = s.rcpt(r)
                res["rcpts"][r] = (code, txt(text))
                if 200 <= code < 300:
                    res["accepted"].append(r)
            if not res["accepted"]:
                s.rset()
                return res
            try:
                code, text = s.data(_crlf(msg_bytes))
            except smtplib.SMTPDataError as e:
                code, text = e.smtp_code, e.smtp_error
            res["data"] = (code, txt(text))
            m = re.search(r"queued as ([0-9A-Za-z]+)", res["data"][1])
            if m:
                res["queue_id"] = m.group(1)
        except smtplib.SMTPServerDisconnected as e:
            res["error"] = "disconnected: %s" % e
        except smtplib.SMTPResponseException as e:
            res["error"] = "%d %s" % (e.smtp_code, txt(e.smtp_error))
        finally:
            with contextlib.suppress(Exception):
                s.quit()
            with contextlib.suppress(Exception):
                s.close()
        return res

    def sendmail(self, sender, rcpts, msg_bytes, check=True, args=()):
        """The sendmail(1) path: sendmail -C BASE/conf -i -f SENDER -- RCPTS < msg."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        argv = [SENDMAIL, "-C", self.conf_dir, "-i"] + list(args) + ["-f", sender, "--"] + list(rcpts)
        data = msg_bytes.encode("utf-8") if isinstance(msg_bytes, str) else msg_bytes
        return self._run(argv, check=check, input_bytes=data.replace(b"\r\n", b"\n"))

    # -- queue
    def flush(self):
        self._run([POSTQUEUE, "-c", self.conf_dir, "-f"])

    def _queue_files(self):
        n = 0
        for d in _QUEUE_DIRS:
            for _root, _dirs, files in os.walk(os.path.join(self.spool_dir, d)):
                n += len(files)
        return n

    def queue_empty(self):
        return self._queue_files() == 0

    def wait_queue_empty(self, timeout=10):
        # twice in a row: a message is renamed between queue directories atomically, but a new
        # bounce is created a moment before its original leaves the queue
        def settled():
            if not self.queue_empty():
                return False
            time.sleep(0.05)
            return self.queue_empty()
        return wait_for(settled, timeout, what="an empty Postfix queue under %s" % self.spool_dir)

    # -- logs
    def log_text(self):
        try:
            with open(self.log_path, "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_offset(self):
        return len(self.log_text())

    def log_tail(self, lines=60):
        return "".join(self.log_text().splitlines(True)[-lines:])

    def wait_log(self, regex, timeout=10, since=0):
        rx = re.compile(regex, re.M) if isinstance(regex, str) else regex
        try:
            return wait_for(lambda: rx.search(self.log_text(), since), timeout,
                            what="log line /%s/ in %s" % (rx.pattern, self.log_path))
        except TimeoutError as e:
            raise TimeoutError("%s\n---- tail of the log:\n%s" % (e, self.log_tail(30))) from None

    # cleanup(8) compares a new queue file's time stamp with time(2) and warns once per process
    # when the file is ahead ("file system clock is N seconds ahead of local clock", then
    # "resetting file time stamps"). On kernels with fine-grained file time stamps that happens
    # when a file is made in the last milliseconds of a second, as time(2) still reads the
    # coarse clock: harmless, Postfix resets the stamp and delivers at once.
    _CLOCK_WARNING_RX = re.compile(r": warning: (?:file system clock is 1 seconds ahead of local"
                                   r" clock|resetting file time stamps - this hurts performance)$")

    def problems(self, since=0):
        """Every warning, error, fatal or panic line Postfix logged, less the clock pair above."""
        return [m.group(0) for m in self.log_findall(r"^.*(?:warning|error|fatal|panic): .*$", since)
                if not self._CLOCK_WARNING_RX.search(m.group(0))]

    def log_findall(self, regex, since=0):
        rx = re.compile(regex, re.M) if isinstance(regex, str) else regex
        text = self.log_text()
        return list(rx.finditer(text, since))

    _DELIVERY_RX = re.compile(
        r"^(?P<time>\S+ +\d+ [\d:]+) (?P<host>\S+) (?P<program>postfix(?:/[\w.-]+)*/"
        r"(?:smtp|lmtp|virtual|local|error|discard|pipe))\[\d+\]: (?P<queue_id>[0-9A-Za-z]+): "
        r"to=<(?P<to>[^>]*)>,(?: orig_to=<(?P<orig_to>[^>]*)>,)? relay=(?P<relay>[^,]+), "
        r".*dsn=(?P<dsn>\d\.\d+\.\d+), status=(?P<status>\w+) \((?P<text>.*)\)$", re.M)

    def deliveries(self, since=0):
        """The delivery-attempt log lines (smtp, virtual, error ...) as dicts: time, host, program,
        queue_id, to, orig_to, relay, dsn, status (sent/bounced/deferred/expired...), text,
        reply (the remote reply after "said: ", without "(in reply to ...)") or None."""
        out = []
        for m in self._DELIVERY_RX.finditer(self.log_text(), since):
            d = m.groupdict()
            said = re.search(r"said: (.*?)(?: \(in reply to [^)]*\))?$", d["text"])
            d["reply"] = said.group(1) if said else None
            out.append(d)
        return out

    # -- delivered mail (the local domain's Maildirs)
    def delivered(self, rcpt=None):
        """Messages delivered to the local domain, oldest first, as bytes (with the Return-Path:
        and Delivered-To: headers virtual(8) adds). rcpt: only those delivered to that address."""
        found = []
        for sub in ("new", "cur"):
            d = os.path.join(self.mail_dir, _MAILDIR_NAME, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                p = os.path.join(d, name)
                with contextlib.suppress(OSError):
                    found.append((os.stat(p).st_mtime, name, p))
        want = rcpt.lower() if rcpt else None
        out = []
        for _mt, _name, p in sorted(found):
            try:
                with open(p, "rb") as fh:
                    raw = fh.read()
            except OSError:
                continue
            if want is not None:
                head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
                m = re.search(rb"^Delivered-To: *([^\r\n]*)", head, re.M | re.I)
                if not m or m.group(1).decode("utf-8", "replace").strip().lower() != want:
                    continue
            out.append(raw)
        return out

    def bounces(self, rcpt=None):
        out = []
        for raw in self.delivered(rcpt):
            msg = email.message_from_bytes(raw)
            if (msg.get_content_type() == "multipart/report"
                    and msg.get_param("report-type", "").lower() == "delivery-status"):
                out.append(raw)
        return out
