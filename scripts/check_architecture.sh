#!/usr/bin/env bash
# The rules of docs/architecture.md that a grep can check. Prints each breach
# and exits 1 if there is one. Run from anywhere: bash scripts/check_architecture.sh
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
breach() { echo "architecture: $1"; status=1; }

# The library never prints: no standard streams, no printf family.
hits=$(grep -rnE 'std::(cout|cerr|clog)|[^n]printf\(|\bputs\(' lib/ || true)
[ -n "$hits" ] && breach "the library prints (return the text, or use RunContext::Report):"$'\n'"$hits"

# Nor does the Python binding from C++: progress goes to a callable or the
# logging module, warnings to Python's warnings (python/src/call.h).
hits=$(grep -rnE 'std::(cout|cerr|clog)|[^n]printf\(|\bputs\(' python/src/ || true)
[ -n "$hits" ] && breach "the Python binding prints from C++ (use Call's progress or warnings.warn):"$'\n'"$hits"

# ... and never reads process-wide state: signal flags, the MPI world, the
# environment (the MPI launcher detection of core/distributed.cpp aside).
hits=$(grep -rnE 'InterruptRequested|InterruptSignal|RequestInterrupt|distributed::(Rank|Size|IsRoot)\(' lib/ || true)
[ -n "$hits" ] && breach "process-wide state in the library (use the RunContext):"$'\n'"$hits"
hits=$(grep -rn 'getenv' lib/ | grep -v '^lib/src/core/distributed.cpp' || true)
[ -n "$hits" ] && breach "the library reads the environment:"$'\n'"$hits"

# HDF5 only in the formats layer.
hits=$(grep -rlnE '#include [<"](H5Cpp|hdf5|H5[A-Za-z]*)\.h[>"]' lib/ tools/ python/ 2> /dev/null | grep -v '^lib/src/formats/' || true)
[ -n "$hits" ] && breach "HDF5 headers outside lib/src/formats:"$'\n'"$hits"

# matio (MATLAB files) only in the formats layer, in mat_file.cpp.
hits=$(grep -rlnE '#include [<"]matio[A-Za-z_]*\.h[>"]' lib/ tools/ python/ 2> /dev/null | grep -v '^lib/src/formats/' || true)
[ -n "$hits" ] && breach "matio headers outside lib/src/formats:"$'\n'"$hits"

# Test names that ctest's discovery cannot split: a '[' or ']' in a name
# (CMake list brackets) silently merges the tests after it into one entry
# that runs none of them.
hits=$(grep -rnE 'TEST_CASE\("[^"]*[][]' tests/ || true)
[ -n "$hits" ] && breach "a test name holds '[' or ']' (ctest would skip the tests after it):"$'\n'"$hits"

# Sizes of files and functions.
python3 scripts/check_sizes.py . || status=1

[ $status -eq 0 ] && echo "architecture: every rule holds"
exit $status
