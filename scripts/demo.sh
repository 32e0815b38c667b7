#!/usr/bin/env bash
# demo.sh - install what is missing, build, and show bounceguard's classification core at work:
# the same "550" means a dozen different things, and only some of them suppress an address.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
bg=build/cli/bounceguard

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "One reply, explained for a person (bounceguard explain)"
$bg explain "host mx.example.com[192.0.2.1] said: 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser (in reply to RCPT TO command)"

say "A 550 that is OUR problem, not the recipient's: never suppressed"
$bg explain "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"

say "Many replies at once (bounceguard classify: one JSON verdict per line)"
cat <<'REPLIES' | tee /dev/stderr | $bg classify
550 5.1.1 <joe@example.com>: Recipient address rejected: User unknown in virtual mailbox table
552 5.2.2 <ann@example.com>: Mailbox full
550 5.7.1 <bob@example.net>: Relay access denied
550-5.7.26 This mail has been blocked because the sender is unauthenticated. 550 5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.
450 4.2.0 <amy@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html
556 5.1.10 Recipient address has null MX
550 Requested action not taken
REPLIES

say "A whole bounce message (bounceguard parse): one verdict per recipient"
$bg parse --json tests/corpus/dsn/postfix.eml

say "The rules, in the order they are tried (first 12 of $($bg rules | wc -l))"
$bg rules | head -12
echo
echo "The daemons (policy service, milter) and the suppression store come with the next milestones."
