#!/usr/bin/python3
"""Compares the float datasets of the HDF5 files under two directories (as written by
scripts/behaviour_snapshot.sh) and prints the largest differences, each relative to the
largest magnitude of its dataset. Usage: h5compare.py BEFORE_DIR AFTER_DIR"""
import glob
import os
import sys

import h5py
import numpy as np

before, after = sys.argv[1], sys.argv[2]
worst = {}
for a in sorted(glob.glob(f"{before}/**/*.h5", recursive=True)):
    b = os.path.join(after, os.path.relpath(a, before))
    with h5py.File(a) as fa, h5py.File(b) as fb:
        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or obj.dtype.kind != "f":
                return
            x, y = obj[()], fb[name][()]
            if x.shape != y.shape:
                worst[(os.path.relpath(a, before), name)] = float("inf")
            elif not np.array_equal(x, y, equal_nan=True):
                scale = np.nanmax(np.abs(x)) or 1.0
                worst[(os.path.relpath(a, before), name)] = np.nanmax(np.abs(x - y)) / scale
        fa.visititems(visit)
for (f, name), d in sorted(worst.items(), key=lambda kv: -kv[1])[:12]:
    print(f"{d:.2e} {f}:{name}")
print(f"{len(worst)} float datasets differ" + (f"; the largest by {max(worst.values()):.2e}" if worst else ""))
