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
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing packages: ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
