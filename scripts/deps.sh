#!/usr/bin/env bash
# deps.sh - install every Debian package bounceguard's build, tests and demo need.
# Idempotent and non-interactive: installs only what is missing. Run as root on Debian 12.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config clang libclang-rt-14-dev
  # libraries (shared/docs/DESIGN.md "Chosen dependencies")
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev libre2-dev libgmime-3.0-dev
  libsqlite3-dev libpq-dev libpqxx-dev libmilter-dev libasio-dev nlohmann-json3-dev libidn2-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the store tests start a private PostgreSQL cluster (initdb, pg_ctl)
  postgresql
  # the end-to-end tests and the demo run a private Postfix instance (postfix -c DIR) on loopback,
  # drive the milter with miltertest, and script the remote MX and clients in Python (stdlib only)
  postfix miltertest python3
  # the Sendmail end-to-end test: m4 builds its sendmail.cf, the other two are sendmail-bin's
  # runtime libraries (Sendmail itself is extracted below, never installed)
  m4 liblockfile1 libwrap0
  # CI checks: clang-tidy (scripts/tidy.sh); the package test builds a .deb (cpack needs
  # dpkg-dev's dpkg-shlibdeps and file), lints it and installs it
  clang-tidy lintian dpkg-dev file
)

# tests/e2e/test_sendmail.py runs a real Sendmail from Debian's packages, extracted with dpkg-deb -x
# into this folder and never installed (sendmail-bin conflicts with postfix: apt would remove it).
# BG_SENDMAIL_DIR moves it; the test reads the same variable.
sendmail_dir=${BG_SENDMAIL_DIR:-/var/cache/bounceguard-tests/sendmail}
fetch_sendmail() {
  if [[ -x $sendmail_dir/root/usr/libexec/sendmail/sendmail && -f $sendmail_dir/root/usr/share/sendmail/cf/m4/cf.m4 ]]; then
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: Sendmail for the end-to-end test is missing in $sendmail_dir; run this script as root" >&2
    exit 1
  fi
  echo "deps: fetching Sendmail (extracted, not installed) into $sendmail_dir"
  local tmp
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  mkdir "$tmp/debs" "$tmp/root"
  chown _apt "$tmp/debs" 2>/dev/null || true   # apt downloads as _apt
  (cd "$tmp/debs" && { apt-get download -qq sendmail-bin sendmail-base sendmail-cf 2>/dev/null ||
    { apt-get update -qq && apt-get download -qq sendmail-bin sendmail-base sendmail-cf; }; })
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  (cd "$tmp/debs" && ls -1 -- *.deb) > "$tmp/root/.debs"  # the versions, for the record
  mkdir -p "$sendmail_dir"
  rm -rf "$sendmail_dir/root"
  mv "$tmp/root" "$sendmail_dir/root"
  rm -rf "$tmp"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
  fetch_sendmail
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing packages: ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks its questions through debconf: "Local only" writes a loopback-only system
# configuration. bounceguard never starts the system instance; its tests and demo run their own.
debconf-set-selections <<'PRESEED'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string localhost.localdomain
postfix postfix/destinations string localhost.localdomain, localhost
postfix postfix/protocols select ipv4
PRESEED
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fetch_sendmail
echo "deps: done"
