#!/usr/bin/env bash
# build.sh - configure and build bounceguard in build/ (BUILD_DIR to change). Extra arguments
# go to cmake's configure step, e.g. scripts/build.sh -DBG_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
werror=OFF
[[ ${CI:-} == true ]] && werror=ON
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBG_WERROR="$werror" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
