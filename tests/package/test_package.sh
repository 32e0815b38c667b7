#!/usr/bin/env bash
# test_package.sh BUILD_DIR - the Debian package, end to end, on this machine (run as root):
#   1. cpack -G DEB in BUILD_DIR (already built), then lintian: no errors;
#   2. dpkg -i: the programs, the conffile, the units, the gzipped man pages, the bounceguard
#      user and /var/lib/bounceguard are where they belong;
#   3. the daemons are started from the installed units' ExecStart lines, as the units' user
#      (no systemd as PID 1 here), on a free loopback port / a private socket: the policy daemon
#      refuses a recipient suppressed with the installed CLI and lets another through; the
#      milter's socket accepts a connection;
#   4. dpkg --purge leaves no file, directory, user or group of the package behind.
# It installs into the running system, so it refuses to run when bounceguard is already
# installed or its user exists, and always stops its daemons and purges the package on exit.
# Registered in ctest (label "package") only with -DBG_PACKAGE_TEST=ON; scripts/test.sh runs it
# once, alone, after the other tests.
set -euo pipefail
build=$(cd "${1:?usage: test_package.sh BUILD_DIR}" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== package: $*"; }

[[ $(id -u) -eq 0 ]] || fail "must run as root (it installs the package with dpkg)"
for tool in cpack dpkg lintian setpriv; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
done
if dpkg-query -W -f='${Status}' bounceguard 2>/dev/null | grep -q "installed"; then
  fail "a bounceguard package is already installed here; not touching it"
fi
getent passwd bounceguard >/dev/null && fail "a bounceguard user already exists here; not touching it"
[[ -e /var/lib/bounceguard || -e /etc/bounceguard ]] && fail "/var/lib/bounceguard or /etc/bounceguard exists already"

work=$(mktemp -d)
chmod 0755 "$work"
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if dpkg-query -W -f='${Status}' bounceguard 2>/dev/null | grep -q "installed"; then
    dpkg --purge bounceguard >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

step "cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack"; }
debs=("$work"/pkg/bounceguard_*.deb)
[[ -f ${debs[0]} ]] || fail "cpack made no bounceguard_*.deb"
deb=${debs[0]}
dpkg-deb --info "$deb" | sed 's/^/  /'

step "lintian"
# Errors fail the test; warnings are shown for the record.
lintian --fail-on error --tag-display-limit 0 "$deb" | tee "$work/lintian.log" || fail "lintian reports errors"
grep -q '^E:' "$work/lintian.log" && fail "lintian reports errors"

step "dpkg -i"
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i"; }
for f in /usr/bin/bounceguard /usr/sbin/bounceguard-policyd /usr/sbin/bounceguard-milter; do
  [[ -x $f ]] || fail "$f is not installed"
done
for f in /usr/share/man/man8/bounceguard.8.gz /usr/share/man/man8/bounceguard-policyd.8.gz \
         /usr/share/man/man8/bounceguard-milter.8.gz /usr/share/man/man5/bounceguard.toml.5.gz \
         /usr/share/doc/bounceguard/copyright /usr/share/doc/bounceguard/changelog.gz \
         /lib/systemd/system/bounceguard-policyd.service /lib/systemd/system/bounceguard-milter.service \
         /usr/share/bounceguard/bounceguard-dashboard.json; do
  [[ -f $f ]] || fail "$f is not installed"
done
gzip -t /usr/share/man/man8/bounceguard-policyd.8.gz || fail "man page is not valid gzip"
dpkg-query -W -f='${Conffiles}\n' bounceguard | grep -q '^ /etc/bounceguard/bounceguard.toml ' ||
  fail "/etc/bounceguard/bounceguard.toml is not a conffile"
getent passwd bounceguard | grep -q ':/usr/sbin/nologin$' || fail "no bounceguard system user with nologin"
[[ $(stat -c %U:%G:%a /var/lib/bounceguard) == bounceguard:bounceguard:750 ]] ||
  fail "/var/lib/bounceguard: $(stat -c %U:%G:%a /var/lib/bounceguard), want bounceguard:bounceguard:750"
[[ $(stat -c %U:%G:%a /etc/bounceguard/bounceguard.toml) == root:bounceguard:640 ]] ||
  fail "/etc/bounceguard/bounceguard.toml: $(stat -c %U:%G:%a /etc/bounceguard/bounceguard.toml)"
/usr/bin/bounceguard check-config || fail "the installed configuration does not validate"
if command -v systemd-analyze >/dev/null; then
  # Offline check of the unit files (no systemd as PID 1 needed).
  systemd-analyze verify /lib/systemd/system/bounceguard-policyd.service \
    /lib/systemd/system/bounceguard-milter.service 2>&1 | tee "$work/verify.log"
  grep -qiE "unknown|invalid|failed" "$work/verify.log" && fail "systemd-analyze verify"
fi

# Runs a unit's ExecStart (plus extra arguments) the way systemd would: as its User/Group, with
# no new privileges and its UMask; stdout/stderr to a log. Sets $started to the pid.
start_unit() {
  local unit=/lib/systemd/system/$1.service; shift
  local exec user group mask
  exec=$(sed -n 's/^ExecStart=//p' "$unit")
  user=$(sed -n 's/^User=//p' "$unit")
  group=$(sed -n 's/^Group=//p' "$unit")
  mask=$(sed -n 's/^UMask=//p' "$unit")
  [[ -n $exec && -n $user && -n $group ]] || fail "$unit: no ExecStart, User or Group"
  local -a cmd
  read -ra cmd <<<"$exec"
  (umask "${mask:-0022}" && exec setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
     -- "${cmd[@]}" "$@") >"$work/$(basename "$unit").log" 2>&1 &
  started=$!
  pids+=("$started")
}
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
policy_query() {  # policy_query PORT RECIPIENT -> the action line
  local port=$1 rcpt=$2 line
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=127.0.0.1\nclient_name=localhost\nhelo_name=localhost\nsender=sender@example.org\nrecipient=%s\nqueue_id=\ninstance=1.2.3\nsize=100\n\n' "$rcpt" >&3
  IFS= read -r -t 10 line <&3 || line="(no answer)"
  exec 3<&- 3>&-
  echo "$line"
}
policy_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
unix_accepts() {
  /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])' "$1"
}

step "the installed CLI suppresses an address (as the service user, into the default store)"
setpriv --reuid=bounceguard --regid=bounceguard --init-groups -- \
  /usr/bin/bounceguard add dead@example.net >/dev/null || fail "bounceguard add"
[[ $(stat -c %U /var/lib/bounceguard/bounceguard.db) == bounceguard ]] || fail "the store is not the service user's"

step "bounceguard-policyd from its unit's ExecStart"
port=$(free_port)
start_unit bounceguard-policyd --listen "inet:127.0.0.1:$port"
wait_for 20 policy_listening "$port" || { cat "$work"/bounceguard-policyd.service.log >&2; fail "policyd does not listen on $port"; }
answer=$(policy_query "$port" dead@example.net)
echo "  dead@example.net -> $answer"
[[ $answer =~ ^action=(5[0-9][0-9]|REJECT) ]] || fail "policyd did not refuse the suppressed recipient: $answer"
answer=$(policy_query "$port" alive@example.net)
echo "  alive@example.net -> $answer"
[[ $answer == action=DUNNO ]] || fail "policyd did not let a good recipient through: $answer"
[[ $(ps -o user= -p "${pids[-1]}" | tr -d ' ') == bounceguard ]] || fail "policyd does not run as bounceguard"

step "bounceguard-milter from its unit's ExecStart"
mkdir -p "$work/run" && chown bounceguard:bounceguard "$work/run"
start_unit bounceguard-milter --listen "unix:$work/run/milter.sock"
wait_for 20 unix_accepts "$work/run/milter.sock" || { cat "$work"/bounceguard-milter.service.log >&2; fail "the milter socket does not accept"; }
echo "  $work/run/milter.sock accepts ($(stat -c %U:%G:%a "$work/run/milter.sock"))"

step "stop the daemons"
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do
  wait_for 10 bash -c "! kill -0 $p" || fail "pid $p did not stop on SIGTERM"
done
pids=()

step "dpkg --purge"
mapfile -t files < <(dpkg -L bounceguard | while read -r f; do [[ -d $f ]] || echo "$f"; done)
((${#files[@]} > 5)) || fail "dpkg -L lists only ${#files[@]} files"
dpkg --purge bounceguard >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge"; }
for f in "${files[@]}" /etc/bounceguard /var/lib/bounceguard /usr/share/doc/bounceguard /usr/share/bounceguard; do
  [[ -e $f ]] && fail "$f is left after purge"
done
getent passwd bounceguard >/dev/null && fail "the bounceguard user is left after purge"
getent group bounceguard >/dev/null && fail "the bounceguard group is left after purge"
dpkg-query -W bounceguard >/dev/null 2>&1 && fail "dpkg still knows the package after purge"
echo "package: OK (built, lint-clean, installed, answered, purged)"
