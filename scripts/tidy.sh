#!/usr/bin/env bash
# tidy.sh [BUILD_DIR] - run clang-tidy (configuration: .clang-tidy) over every source file of
# common/ and cli/ listed in BUILD_DIR/compile_commands.json (default build/, which must have been
# built: some headers are generated). Every finding is an error: the script fails on the first
# file with one, so a new warning fails CI.
#   JOBS   parallel clang-tidy processes (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=${JOBS:-$(nproc)}
tidy=$(command -v clang-tidy-14 || command -v clang-tidy) || { echo "tidy: clang-tidy not installed" >&2; exit 1; }
db="$build/compile_commands.json"
[[ -f $db ]] || { echo "tidy: no $db (configure and build $build first)" >&2; exit 1; }
src=$(pwd)
# The files of common/ and cli/ that the build compiles (not the generated ones, not tests).
mapfile -t files < <(/usr/bin/python3 - "$db" "$src" <<'PY'
import json, os, sys
db, src = sys.argv[1], os.path.realpath(sys.argv[2])
seen = set()
for entry in json.load(open(db)):
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path, src)
    if rel.split(os.sep)[0] in ("common", "cli") and rel not in seen:
        seen.add(rel)
        print(rel)
PY
)
((${#files[@]})) || { echo "tidy: no common/ or cli/ files in $db" >&2; exit 1; }
echo "tidy: ${#files[@]} files with $("$tidy" --version | grep -o 'version [0-9.]*')"
# The compile commands carry GCC's warning flags; clang does not know all of them.
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 "$tidy" -p "$build" --quiet \
  --extra-arg=-Wno-unknown-warning-option 2> >(grep -v '^[0-9]* warnings* generated' >&2)
echo "tidy: clean"
