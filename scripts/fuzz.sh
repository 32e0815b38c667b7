#!/usr/bin/env bash
# fuzz.sh SECONDS - run every fuzz target in build-fuzz/tests/fuzz for SECONDS each, seeded from
# the test corpora (tests/fuzz/seeds/TARGET plus the shared bounce corpus where it applies).
# Fails when a target finds a crash, a leak or a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
dir=build-fuzz/tests/fuzz
shopt -s nullglob
targets=("$dir"/fuzz_*)
((${#targets[@]})) || { echo "fuzz: no fuzz targets in $dir" >&2; exit 1; }
for t in "${targets[@]}"; do
  name=$(basename "$t")
  work=$(mktemp -d)
  seeds=(tests/fuzz/seeds/"$name")
  [[ $name == fuzz_dsn ]] && seeds+=(tests/corpus/dsn ../shared/corpus/sisimai-dev/emails)
  existing=()
  for s in "${seeds[@]}"; do [[ -d $s ]] && existing+=("$s"); done
  echo "fuzz: $name for ${seconds}s (seeds: ${existing[*]:-none})"
  "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$work/" "$work" "${existing[@]}" 2>"$work/log" || {
    tail -40 "$work/log" >&2
    echo "fuzz: $name FAILED (artifacts in $work)" >&2
    exit 1
  }
  grep -E "^stat::number_of_executed_units" "$work/log" | sed "s/^/fuzz: $name /"
  rm -rf "$work"
done
echo "fuzz: all targets clean"
