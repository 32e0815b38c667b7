#!/usr/bin/env bash
# sanitize.sh - build the whole project with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DBG_SANITIZE=ON) into build-asan/ and run the complete ctest suite under it. Any sanitizer
# report stops the test program with a non-zero exit, so ctest (and CI) fails.
#   BUILD_DIR   build directory (default build-asan)
#   JOBS        parallel build and test jobs (default: nproc)
# Built at -O1 with assertions on (Debug + -O1): fast enough for the suite, still precise traces.
# The benchmarks and fuzz targets are not built (ctest does not need them). The package test
# (label "package") installs into the system and is run by scripts/test.sh separately.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-asan}
jobs=${JOBS:-$(nproc)}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DBG_SANITIZE=ON -DBG_WERROR=ON -DBG_BUILD_BENCH=OFF -DBG_BUILD_FUZZ=OFF -DBG_BUILD_TESTS=ON \
  "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs"

# halt_on_error: the first report ends the program. detect_leaks: LeakSanitizer runs at exit.
# abort_on_error=0 so the exit status is the sanitizer's (1), not a core-dumping SIGABRT.
# detect_stack_use_after_return stays off: the daemons' fork/exec tests would be far slower.
# tests/lsan.supp: the leaks that are not ours (libpqxx's), each with its written reason; add to
# it only that way.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_invalid_pointer_pairs=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:report_error_type=1
export LSAN_OPTIONS=report_objects=1:suppressions=$PWD/tests/lsan.supp
(cd "$build" && ctest --output-on-failure -j"$jobs" -LE package)
echo "sanitize: the whole suite is clean under ASan + UBSan"
