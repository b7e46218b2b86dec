#!/usr/bin/env python3
"""PyTorch reference of `ltr train --task flipflop` (docs/train.md), timed.

The same work as ltr's default run: N = 256 tanh units, W = W0 + dW with
W0 = g J fixed (g = 0.9, J_ij ~ N(0, 1/N)), dW, W_in, W_out trained,
x_{t+1} = (1 - alpha) x_t + alpha (W tanh(x_t) + W_in u_t), alpha = dt = 0.5,
x_0 = 0, output z_t = W_out^T tanh(x_t) (no output tanh), loss
1/2 sum mask (z - target)^2 / sum mask, Adam (0.9, 0.999, 1e-8) at
lr = 0.05 / N, a fresh batch of 32 flip-flop trials (100 bins) per step.
The batch is drawn with NumPy (same distribution as ltr, not the same
numbers) and counts in the time, as ltr's task generator does.

usage: bench_train_torch.py [steps=300] [threads=0 (PyTorch's default)]
[dtype=float32|float64 (float32 = PyTorch's default)]
Prints one line: "torch: S steps in T s (threads K, dtype D), loss A -> B".
"""
import sys
import time

import numpy as np
import torch

UNITS, BATCH, BINS, DT, G = 256, 32, 100, 0.5, 0.9


def flipflop_batch(rng, batch):
    """S20's flip-flop: pulses of +-1 for 1 tau on a random channel, the first
    at t = 1, each next onset the previous + U(5, 25) + 5; from onset + 5
    to the next onset the pulsed channel's target is 0.5 sign, the other 0,
    both observed (mask 1); mask 0 elsewhere."""
    u = np.zeros((BINS, batch, 2))
    target = np.zeros((BINS, batch, 2))
    mask = np.zeros((BINS, batch, 2))
    pulse, settle = int(1.0 / DT + 1e-9), int(5.0 / DT + 1e-9)
    for j in range(batch):
        onsets, onset = [], 1.0
        while int(onset / DT + 1e-9) < BINS:
            onsets.append(int(onset / DT + 1e-9))
            onset += rng.uniform(5.0, 25.0) + 5.0
        for n, begin in enumerate(onsets):
            channel = rng.integers(2)
            sign = -1.0 if rng.uniform() < 0.5 else 1.0
            end = onsets[n + 1] if n + 1 < len(onsets) else BINS
            u[begin:begin + pulse, j, channel] = sign
            target[begin + settle:end, j, channel] = 0.5 * sign
            mask[begin + settle:end, j, :] = 1.0
    return u, target, mask


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    dtype = getattr(torch, sys.argv[3]) if len(sys.argv) > 3 else torch.float32
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n = UNITS
    w0 = (G / n**0.5) * torch.randn(n, n, dtype=dtype)
    w_in = torch.randn(n, 2, dtype=dtype)
    w_in *= n**0.5 / w_in.norm(dim=0)
    w_out = torch.randn(n, 2, dtype=dtype)
    w_out *= (1.0 / n**0.5) / w_out.norm(dim=0)
    dw = torch.zeros(n, n, dtype=dtype, requires_grad=True)
    w_in.requires_grad_(True)
    w_out.requires_grad_(True)
    optimizer = torch.optim.Adam([w_in, dw, w_out], lr=0.05 / n)
    alpha = DT
    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        u, target, mask = (torch.tensor(a, dtype=dtype)
                           for a in flipflop_batch(rng, BATCH))
        w_t = (w0 + dw).t()  # row-vector states: x W^T
        drive = u @ w_in.t()  # (bins, batch, n)
        x = torch.zeros(BATCH, n, dtype=dtype)
        outputs = []
        for t in range(BINS):
            r = torch.tanh(x)
            outputs.append(r @ w_out)
            if t + 1 < BINS:
                x = (1 - alpha) * x + alpha * (r @ w_t + drive[t])
        z = torch.stack(outputs)
        loss = 0.5 * (mask * (z - target)**2).sum() / mask.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    print("torch: %d steps in %.2f s (threads %d, dtype %s), loss %.4g -> %.4g"
          % (steps, seconds, torch.get_num_threads(), str(dtype)[6:],
             losses[0], losses[-1]))


if __name__ == "__main__":
    main()
