#!/usr/bin/env bash
# Run every test: installs what is missing, then builds twice and runs ctest on both —
# gcc with -Werror, and clang with ASan+UBSan plus the libFuzzer targets (bounded time).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/firmware/install-deps.sh"
jobs=$(nproc)

echo "== build 1/2: gcc, -Werror =="
cmake -S "$src" -B "$src/build/ci-gcc" -DINKAN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$src/build/ci-gcc" -j"$jobs"
echo "== build 2/2: clang, ASan+UBSan, fuzzers =="
CC=clang cmake -S "$src" -B "$src/build/ci-asan" -DINKAN_WERROR=ON -DINKAN_SANITIZE=ON \
	-DINKAN_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$src/build/ci-asan" -j"$jobs"

rc=0
echo "== tests: gcc build =="
ctest --test-dir "$src/build/ci-gcc" --output-on-failure -j2 || rc=1
echo "== tests: ASan+UBSan build (and fuzzers) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$src/build/ci-asan" --output-on-failure -j2 || rc=1
exit "$rc"
