#!/usr/bin/env bash
# The one command that tests ar-suite: installs missing system packages, configures,
# builds, and runs every test with ctest; then builds libs/ with AddressSanitizer +
# UndefinedBehaviorSanitizer and runs all their tests again (unit and integration: the
# Kafka mock cluster and redis-server runs included). Exits non-zero on any failure.
#
#   AR_BUILD_DIR=...     build directory (default build/release)
#   AR_SKIP_SANITIZE=1   skip the sanitizer run
#   AR_CTEST_ARGS="..."  extra ctest arguments (e.g. "-L unit")
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

"$root/deploy/local/install-deps.sh"

build=${AR_BUILD_DIR:-$root/build/release}
echo "== configure + build ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs"

echo "== tests"
# shellcheck disable=SC2086
ctest --test-dir "$build" --output-on-failure -j"$jobs" ${AR_CTEST_ARGS:-}

if [ "${AR_SKIP_SANITIZE:-0}" != "1" ]; then
  asan=${AR_ASAN_BUILD_DIR:-$root/build/asan}
  echo "== libs/ tests under AddressSanitizer + UndefinedBehaviorSanitizer ($asan)"
  cmake -S "$root" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAR_SANITIZE=ON \
    -DAR_LIBS_ONLY=ON -DAR_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build "$asan" -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$asan" --output-on-failure -j"$jobs"
fi
