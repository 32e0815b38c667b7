#!/usr/bin/env bash
# test.sh - install what is missing, build, and run every test:
#   1. the unit, corpus and CLI tests through ctest (build/);
#   2. a short libFuzzer smoke of every fuzz target, built with clang (build-fuzz/).
# FUZZ_SECONDS sets the smoke length per target (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

echo "== build"
scripts/build.sh
echo "== tests"
(cd build && ctest --output-on-failure -j"$(nproc)")

echo "== fuzz smoke"
BUILD_DIR=build-fuzz CC=clang CXX=clang++ scripts/build.sh -DBG_BUILD_FUZZ=ON -DBG_BUILD_TESTS=OFF \
  -DBG_BUILD_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
