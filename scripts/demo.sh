#!/usr/bin/env bash
# demo.sh - install what is missing, build, and show bounceguard at work on a real mail system: a
# private Postfix on 127.0.0.1 with bounceguard-milter (and bounceguard-policyd) attached, a
# scripted remote MX that refuses one recipient as unknown, one as over quota and one because our
# IP is on a blocklist; bounceguard learns from Postfix's bounce, refuses the re-send to the dead
# address at once, and suppresses neither the full mailbox nor the blocklisted one.
# Run as root on Debian 12 (the private Postfix needs it); nothing leaves loopback, the instance
# lives in a temporary directory. BUILD_DIR picks the build directory (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
build=${BUILD_DIR:-build}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Part 1: one reply, classified (bounceguard explain). Not every 550 means a dead address:"
"$build/cli/bounceguard" explain "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"

say "Part 2: the whole story on a private Postfix"
exec /usr/bin/python3 tests/e2e/demo.py "$build"
