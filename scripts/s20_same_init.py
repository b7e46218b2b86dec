#!/usr/bin/env python3
"""Trains ltr from the exact initial weights S20's code draws for a seed, so
that the two implementations can be compared from the same start (the
batches are ltr's own, drawn from --batch-seed).

usage: scripts/s20_same_init.py LTR TASK G SEED OUT.h5 [--units 256]
           [--steps S] [--batch-seed B] [--threads 1]

The weights are those of `scripts/s20_reference.py DIR TASK G SEED`
(numpy's RNG seeded with SEED, S20's draws, rounded to float32 as S20's
network holds them). ltr has no option to start from given weights, so the
script starts an ltr run in S20's protocol (--read-after-input, batch 32,
steps/200 between snapshots), stops it at step 0, writes S20's W0, W_in and
W_out into its snapshot 0 and its checkpoint, and resumes it. ltr trains
W = W0_ltr + dW with W0_ltr fixed; the checkpoint's dW starts at
W0_S20 - W0_ltr, so the network is S20's and Adam's steps are the same
(they do not depend on that offset). `ltr analyze` measures dW from
snapshot 0, S20's W0. Analyse the result as usual:
    ltr analyze OUT.h5 --cp-max-rank 0 --fresh-test-batches -o OUT.analysis.h5
Needs numpy and h5py, not PyTorch.
"""
import argparse
import os
import subprocess
import sys

import h5py
import numpy as np

from s20_reference import TASKS, initial_weights


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ltr")
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("g", type=float)
    p.add_argument("seed", type=int)
    p.add_argument("output")
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--batch-seed", type=int, default=None,
                   help="ltr's --seed, which then only draws the batches "
                   "(default: SEED)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    steps, (n_in, n_out), _ = TASKS[a.task]
    steps = a.steps or steps
    n = a.units
    np.random.seed(a.seed)
    wi, wo, w0 = (x.astype(np.float64)
                  for x in initial_weights(n, n_in, n_out, a.g))
    partial = a.output + ".partial"
    for path in (a.output, partial):
        if os.path.exists(path):
            os.remove(path)
    batch_seed = a.seed if a.batch_seed is None else a.batch_seed
    subprocess.run([a.ltr, "train", "--task", a.task, "--units", str(n),
                    "--g", str(a.g), "--seed", str(batch_seed),
                    "--steps", str(steps), "--batch", "32",
                    "--record-every", "2",  # no snapshot at step 1
                    "--threads", str(a.threads), "--read-after-input",
                    "--stop-after-steps", "1", "-o", a.output],
                   check=True, stdout=subprocess.DEVNULL)
    with h5py.File(partial, "r+") as h:
        # The checkpoint packs dW, W_in (N x inputs) and W_out^T column-major.
        x = np.concatenate([(w0 - h["weights"][0]).ravel(order="F"),
                            wi.T.ravel(order="F"), wo.T.ravel(order="F")])
        if x.shape != h["checkpoint/x"].shape or h["checkpoint"].attrs["step"]:
            sys.exit("s20_same_init.py: unexpected checkpoint layout")
        h["checkpoint/x"][...] = x
        h["weights"][0] = w0
        h["w_in"][0] = wi.T
        h["w_out"][0] = wo
        h["config"].attrs["record_every"] = max(1, steps // 200)
    subprocess.run([a.ltr, "train", "--resume", "-o", a.output], check=True)


if __name__ == "__main__":
    main()
