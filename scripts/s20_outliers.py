#!/usr/bin/env python3
"""Outlier eigenvalues of W_k = W0 + dW_k over training (S20), from ltr
train trajectories.

usage: scripts/s20_outliers.py TRAJ.h5 [TRAJ.h5 ...] [--every 20]

For every --every-th snapshot it prints the step, the eigenvalue of W_k
with the largest real part, the number of eigenvalues outside the bulk
(|lambda| > max(1.1 g, 0.1), the circular law's radius is g), and the
largest real part among them. One block per file, then a summary line:
the first step at which an eigenvalue's real part exceeds 1 (the linear
dynamics around 0 become unstable there: S20's flip-flop builds its
memories that way) or -1.
"""
import argparse

import h5py
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+")
    p.add_argument("--every", type=int, default=20)
    a = p.parse_args()
    for path in a.files:
        with h5py.File(path, "r") as f:
            g = float(f["config"].attrs["g"])
            steps = f["step"][()]
            weights = f["weights"]
            radius = max(1.1 * g, 0.1)
            first_unstable = -1
            print(f"# {path}: g = {g:g}, bulk radius {radius:.2f}")
            print("# step  max Re(lambda)  outliers  max Re(outlier)")
            for k in range(len(steps)):
                # /weights is row-major W[i, j]: the matrix as stored.
                lam = np.linalg.eigvals(weights[k])
                top = lam[np.argmax(lam.real)]
                out = lam[np.abs(lam) > radius]
                if first_unstable < 0 and top.real > 1:
                    first_unstable = int(steps[k])
                if k % a.every == 0 or k == len(steps) - 1:
                    re_out = out.real.max() if out.size else float("nan")
                    print(f"{int(steps[k]):6d}  {top.real:8.3f}{top.imag:+.3f}i"
                          f"  {out.size:4d}  {re_out:8.3f}")
            print(f"# first step with Re(lambda) > 1: {first_unstable}")


if __name__ == "__main__":
    main()
