#!/usr/bin/env bash
# Builds libltr, the ltr tool and the tests with AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer in build-sanitize/ (clang-14,
# as scripts/fuzz.sh; see scripts/sanitized-build.sh), and runs the fast
# tests there. Any sanitizer report stops the process that made it, so the
# test fails. docs/reliability.md ("Sanitizers") says what it costs.
#
#   bash scripts/sanitize.sh
#   LTR_SANITIZE_BUILD=dir  build tree (default build-sanitize)
#   LTR_JOBS=N              build and test parallelism (default: nproc)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LTR_SANITIZE_BUILD:-$root/build-sanitize}
jobs=${LTR_JOBS:-$(nproc)}
LTR_JOBS=$jobs bash "$root/scripts/sanitized-build.sh" "$build" ltr_bin ltr_tests

# LeakSanitizer stops the process with ptrace at exit; where ptrace is not
# allowed (some containers) it cannot run, so check once and say so.
leaks=1
if ASAN_OPTIONS=detect_leaks=1 "$build/bin/ltr" --version 2>&1 |
    grep -q "LeakSanitizer has encountered a fatal error"; then
  echo "sanitize.sh: LeakSanitizer cannot run here (ptrace not allowed); leak checks off" >&2
  leaks=0
fi
export ASAN_OPTIONS="detect_leaks=$leaks:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Fast tests, as in scripts/test.sh, except the installed-package test: it
# builds a user project against libltr without the sanitizer flags.
ctest --test-dir "$build" -LE "slow|install" --output-on-failure -j"$jobs"
