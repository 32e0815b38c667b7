#!/usr/bin/env bash
# test_install_postfix.sh BUILD_DIR [PATH] - INSTALL.md's Postfix path, word by word, on this
# machine (run as root): the blocks of INSTALL.md marked for PATH (install_blocks.py; "postfix",
# the policy daemon, by default, or "postfix-milter") are run in order, as a postmaster would
# paste them, against the system Postfix and the Debian package built from BUILD_DIR; each must
# exit 0 and print what its marker expects (the suppressed recipient accepted in observe mode
# and refused at RCPT TO once enforcing).
#   - The package is made with cpack into WORK/build, and the blocks run in WORK, so that the
#     document's `./build/bounceguard_*_amd64.deb` is that package.
#   - No systemd as PID 1 here: `systemctl` and `journalctl` are small stand-ins (docs_shims.sh)
#     that run a unit's ExecStart as its User/Group/UMask with its runtime directory, send its
#     ExecReload signal, and show the daemon's output; `systemctl reload postfix` is
#     `postfix reload`. Anything else they are asked is an error, so the document cannot use a
#     command the test does not really run.
#   - Safety: /etc/postfix is copied aside and made loopback-only, relaying nowhere
#     (inet_interfaces = loopback-only, default_transport and relay_transport = error, no
#     relayhost) before the system Postfix is started (a running one is stopped first); the SMTP
#     client only talks to 127.0.0.1:25 and ends each session before DATA.
#   - On exit, even on failure: the daemons are stopped, Postfix is stopped, /etc/postfix is
#     restored (and Postfix started again if it was running before), the package is purged.
# Registered in ctest (label "package") with -DBG_PACKAGE_TEST=ON; scripts/test.sh runs it once,
# alone, after the package test.
set -euo pipefail
build=$(cd "${1:?usage: test_install_postfix.sh BUILD_DIR [postfix|postfix-milter]}" && pwd)
path=${2:-postfix}
case $path in
  postfix) daemon=bounceguard-policyd min_blocks=6 ;;
  postfix-milter) daemon=bounceguard-milter min_blocks=5 ;;
  *) echo "FAIL: unknown path $path" >&2; exit 1 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
doc=$(cd "$here/../.." && pwd)/INSTALL.md
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== install-$path: $*"; }

[[ $(id -u) -eq 0 ]] || fail "must run as root (it installs the package and configures the system Postfix)"
for tool in cpack dpkg apt-get setpriv postfix postconf /usr/bin/python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
done
if dpkg-query -W -f='${Status}' bounceguard 2>/dev/null | grep -q "installed"; then
  fail "a bounceguard package is already installed here; not touching it"
fi
getent passwd bounceguard >/dev/null && fail "a bounceguard user already exists here; not touching it"
[[ -e /var/lib/bounceguard || -e /etc/bounceguard ]] && fail "/var/lib/bounceguard or /etc/bounceguard exists already"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free 10045 || fail "something listens on 127.0.0.1:10045 (the policy daemon's default) already"
port_free 10046 || fail "something listens on 127.0.0.1:10046 (INSTALL.md's milter port) already"

work=$(mktemp -d)
chmod 0755 "$work"
export BG_SHIM_DIR=$work/shim
mkdir -p "$BG_SHIM_DIR" "$work/bin"
postfix_started=0
postfix_was_running=0
cleanup() {
  local rc=$?
  set +e
  for f in "$BG_SHIM_DIR"/*.pid; do
    [[ -f $f ]] || continue
    kill -TERM "$(cat "$f")" 2>/dev/null
  done
  sleep 0.5
  for f in "$BG_SHIM_DIR"/*.pid; do
    [[ -f $f ]] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  ((postfix_started)) && postfix stop >/dev/null 2>&1
  if [[ -d $work/etc-postfix ]]; then
    rm -rf /etc/postfix && cp -a "$work/etc-postfix" /etc/postfix
  fi
  ((postfix_was_running)) && postfix start >/dev/null 2>&1
  if dpkg-query -W -f='${Status}' bounceguard 2>/dev/null | grep -q "installed"; then
    dpkg --purge bounceguard >/dev/null 2>&1
  fi
  rm -rf /run/bounceguard "$work"
  exit "$rc"
}
trap cleanup EXIT

step "the system Postfix, loopback only and relaying nowhere (/etc/postfix copied aside)"
cp -a /etc/postfix "$work/etc-postfix"
if postfix status >/dev/null 2>&1; then
  postfix_was_running=1
  postfix stop >/dev/null 2>&1 || fail "postfix stop"
fi
for _ in $(seq 100); do port_free 25 && break; sleep 0.1; done
port_free 25 || fail "something other than the system Postfix listens on 127.0.0.1:25"
postconf -e inet_interfaces=loopback-only default_transport=error relay_transport=error relayhost=
[[ -z $(postconf -nh smtpd_recipient_restrictions) ]] ||
  fail "main.cf has smtpd_recipient_restrictions already; INSTALL.md's step 3 assumes Debian's main.cf"
postfix check || fail "postfix check"
postfix start >/dev/null 2>&1 || fail "postfix start"
postfix_started=1
for _ in $(seq 100); do port_free 25 || break; sleep 0.1; done
port_free 25 && fail "the system Postfix does not listen on 127.0.0.1:25"

step "cpack -G DEB into $work/build"
(cd "$build" && cpack -G DEB -B "$work/build" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack"; }
ls "$work"/build/bounceguard_*_amd64.deb >/dev/null || fail "cpack made no bounceguard_*_amd64.deb"

step "the blocks of INSTALL.md marked install-test: $path"
n=$(/usr/bin/python3 "$here/install_blocks.py" "$doc" "$path" "$work/blocks") || fail "install_blocks.py"
((n >= min_blocks)) || fail "only $n marked blocks; the $path path has at least $min_blocks"
ln -s "$here/docs_shims.sh" "$work/bin/systemctl"
ln -s "$here/docs_shims.sh" "$work/bin/journalctl"
# The documented python3 is Debian's (/usr/bin/python3); put it first whatever PATH says.
ln -s /usr/bin/python3 "$work/bin/python3"
for script in "$work"/blocks/*.sh; do
  echo "-- $(head -n 1 "$script" | sed 's/^# //')"
  sed '1d; s/^/   $ /' "$script"
  out=$script.out
  if ! (cd "$work" && PATH="$work/bin:$PATH" bash -eo pipefail "$script") >"$out" 2>&1; then
    sed 's/^/   | /' "$out"
    for log in "$BG_SHIM_DIR"/*.log; do [[ -f $log ]] && { echo "   $log:"; sed 's/^/   | /' "$log"; }; done
    fail "the block at $(head -n 1 "$script" | sed 's/^# //') failed"
  fi
  sed 's/^/   | /' "$out"
  while IFS= read -r re; do
    [[ -n $re ]] || continue
    /usr/bin/python3 -c 'import re,sys; sys.exit(0 if re.search(sys.argv[1], open(sys.argv[2]).read(), re.M) else 1)' \
      "$re" "$out" || fail "the block at $(head -n 1 "$script" | sed 's/^# //') did not print /$re/"
  done <"${script%.sh}.expect"
done

step "after the walkthrough"
pid=$(cat "$BG_SHIM_DIR/$daemon.pid")
[[ $(ps -o user= -p "$pid" | tr -d ' ') == bounceguard ]] || fail "$daemon does not run as bounceguard"
[[ $(stat -c %U /var/lib/bounceguard/bounceguard.db) == bounceguard ]] || fail "the store is not the service user's"
grep -q '^mode = "enforce"' /etc/bounceguard/bounceguard.toml || fail "the configuration is not back to enforce"
echo "install-$path: OK ($n blocks of INSTALL.md: installed, $daemon observed, enforced at RCPT TO)"
