#!/usr/bin/env bash
# test.sh - install what is missing, build, and run every test:
#   1. the unit, corpus and CLI tests through ctest (build/);
#   2. clang-tidy over common/ and cli/ (scripts/tidy.sh, configuration in .clang-tidy);
#   3. a short libFuzzer smoke of every fuzz target, built with clang (build-fuzz/);
#   4. the whole ctest suite again under ASan + UBSan (scripts/sanitize.sh, build-asan/);
#   5. the Debian package test, then INSTALL.md's Postfix path run word by word (tests/docs),
#      alone, last (they install into this system and start its Postfix; ctest label "package").
# FUZZ_SECONDS sets the smoke length per target (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

echo "== build"
scripts/build.sh -DBG_PACKAGE_TEST=ON
echo "== tests"
(cd build && ctest --output-on-failure -j"$(nproc)" -LE package)

echo "== clang-tidy"
scripts/tidy.sh build

echo "== fuzz smoke"
BUILD_DIR=build-fuzz CC=clang CXX=clang++ scripts/build.sh -DBG_BUILD_FUZZ=ON -DBG_BUILD_TESTS=OFF \
  -DBG_BUILD_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

echo "== sanitizers"
scripts/sanitize.sh

echo "== package"
(cd build && ctest --output-on-failure --no-tests=error -L package)
