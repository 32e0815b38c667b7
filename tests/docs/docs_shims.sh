#!/usr/bin/env bash
# docs_shims.sh - `systemctl` and `journalctl` for test_install_postfix.sh on a machine without
# systemd as PID 1 (called through symlinks of those names). Only what INSTALL.md's tested path
# uses, done the way systemd does it for the installed units; anything else is an error:
#   systemctl enable --now UNIT...   start UNIT...   run the unit's ExecStart as its User and Group
#                                    (and SupplementaryGroups), with its UMask, no new privileges,
#                                    its RuntimeDirectory created; output to BG_SHIM_DIR/UNIT.log
#   systemctl enable UNIT...         nothing to do here (no boot)
#   systemctl reload UNIT            the unit's ExecReload (kill -HUP $MAINPID), then waits for the
#                                    daemon to log the reload; `reload postfix`: postfix reload
#   systemctl try-reload-or-restart UNIT...   reload those that run, nothing for the others
#   systemctl restart|stop UNIT      SIGTERM (the units' KillSignal), then start for restart
#   journalctl -u UNIT [-u UNIT]...  the daemons' output so far
# systemd's Type=simple reports no readiness: start waits (10 s at most) for the daemon's first
# log line, so that a block's next command does not race its start.
set -euo pipefail
dir=${BG_SHIM_DIR:?BG_SHIM_DIR is not set}
me=$(basename "$0")
die() { echo "$me (test stand-in): $*" >&2; exit 1; }

unit_name() { local u=${1%.service}; [[ $u =~ ^[a-z0-9@-]+$ ]] || die "bad unit name $1"; echo "$u"; }
unit_file() { local f=/lib/systemd/system/$1.service; [[ -f $f ]] || die "no unit $1"; echo "$f"; }
key() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
log_lines() { [[ -f $dir/$1.log ]] && wc -l <"$dir/$1.log" || echo 0; }
wait_log() {  # wait_log UNIT PATTERN: until the unit's log has a new line matching PATTERN
  local before=$2 pattern=$3 i
  for i in $(seq 100); do
    if tail -n +"$((before + 1))" "$dir/$1.log" 2>/dev/null | grep -q -- "$pattern"; then return 0; fi
    sleep 0.1
  done
  die "$1: no log line matching '$pattern' within 10 s"
}
running() { [[ -f $dir/$1.pid ]] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

start() {
  local u=$1 f exec user group supp mask rtdir rtmode groups before
  running "$u" && return 0
  f=$(unit_file "$u")
  exec=$(key "$f" ExecStart); user=$(key "$f" User); group=$(key "$f" Group)
  supp=$(key "$f" SupplementaryGroups); mask=$(key "$f" UMask)
  rtdir=$(key "$f" RuntimeDirectory); rtmode=$(key "$f" RuntimeDirectoryMode)
  [[ -n $exec && -n $user && -n $group ]] || die "$f: no ExecStart, User or Group"
  if [[ -n $rtdir ]]; then
    install -d -o "$user" -g "$group" -m "${rtmode:-0755}" "/run/$rtdir"
  fi
  groups=$(id -G "$user" | tr ' ' ',')
  for g in $supp; do groups+=",$(getent group "$g" | cut -d: -f3)"; done
  local -a cmd
  read -ra cmd <<<"$exec"
  before=$(log_lines "$u")
  (umask "${mask:-0022}" && exec setsid setpriv --reuid="$user" --regid="$group" --groups="$groups" \
     --no-new-privs -- "${cmd[@]}") >>"$dir/$u.log" 2>&1 </dev/null &
  echo $! >"$dir/$u.pid"
  wait_log "$u" "$before" .
}

stop() {
  local u=$1 i
  running "$u" || return 0
  kill -TERM "$(cat "$dir/$u.pid")"
  for i in $(seq 100); do running "$u" || { rm -f "$dir/$u.pid"; return 0; }; sleep 0.1; done
  die "$u did not stop on SIGTERM within 10 s"
}

reload() {
  local u=$1 f before
  if [[ $u == postfix ]]; then postfix reload >/dev/null 2>&1; sleep 1; return; fi
  f=$(unit_file "$u")
  [[ $(key "$f" ExecReload) == '/bin/kill -HUP $MAINPID' ]] || die "$u: ExecReload is not kill -HUP \$MAINPID"
  running "$u" || die "$u is not running"
  before=$(log_lines "$u")
  kill -HUP "$(cat "$dir/$u.pid")"
  wait_log "$u" "$before" "reloaded"
}

case $me in
  systemctl)
    verb=${1:-}; shift || true
    case $verb in
      enable)
        now=0
        [[ ${1:-} == --now ]] && { now=1; shift; }
        (($# > 0)) || die "enable: no unit"
        for u in "$@"; do u=$(unit_name "$u"); unit_file "$u" >/dev/null; ((now)) && start "$u"; done ;;
      start) for u in "$@"; do start "$(unit_name "$u")"; done ;;
      stop) for u in "$@"; do stop "$(unit_name "$u")"; done ;;
      restart)
        for u in "$@"; do
          u=$(unit_name "$u")
          if [[ $u == postfix ]]; then postfix stop >/dev/null 2>&1; postfix start >/dev/null 2>&1; sleep 1
          else stop "$u"; start "$u"; fi
        done ;;
      reload) for u in "$@"; do reload "$(unit_name "$u")"; done ;;
      try-reload-or-restart)
        for u in "$@"; do
          u=$(unit_name "$u")
          unit_file "$u" >/dev/null
          if running "$u"; then reload "$u"; fi
        done ;;
      *) die "unsupported: systemctl $verb $*" ;;
    esac ;;
  journalctl)
    (($# >= 2)) || die "unsupported: journalctl $*"
    while (($# > 0)); do
      [[ $1 == -u && $# -ge 2 ]] || die "unsupported: journalctl $*"
      u=$(unit_name "$2"); shift 2
      cat "$dir/$u.log" 2>/dev/null || true
    done ;;
  *) die "called as $me" ;;
esac
