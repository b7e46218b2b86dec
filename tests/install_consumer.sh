#!/usr/bin/env bash
# Installs ltr from build dir $1 into a scratch prefix, then configures,
# builds and runs tests/consumer against it with find_package(ltr).
set -euo pipefail
build=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$source_dir/consumer" -B "$scratch/build" \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" >/dev/null
LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$scratch/build/consumer"

# The Python package, when built: importable from the prefix's site-packages
# with no LD_LIBRARY_PATH (the module finds libltr by its relative rpath).
site=$(sed -n 's/^LTR_PYTHON_INSTALL_DIR:STRING=//p' "$build/CMakeCache.txt")
if [ -n "$site" ]; then
  python=$(sed -n 's/^_\?Python3_EXECUTABLE:[A-Z]*=//p' "$build/CMakeCache.txt" | head -1)
  (cd "$scratch" && env -u LD_LIBRARY_PATH PYTHONPATH="$scratch/prefix/$site" "$python" -c "
import ltr, sys
assert ltr.__file__.startswith('$scratch/prefix/'), ltr.__file__
weights, factors = ltr.parafac(ltr._tensors.CPTensor(None, [[[1.0]], [[2.0]], [[3.0]]]).to_tensor(), 1)
print('python package', ltr.__version__, 'from', ltr.__file__)")
fi
