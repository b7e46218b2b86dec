#!/usr/bin/env python3
"""Runs S20's own training code (model.py, task_generators.py of
frschu/neurips_2020_interplay_randomness_structure, notebooks/) with the
settings of its generate_nonlinear notebook ("full" scenario) and prints
what `ltr analyze` reports, so that ltr can be compared with the reference
implementation run by run.

usage: scripts/s20_reference.py S20_NOTEBOOKS_DIR TASK G SEED [--units 256]
           [--steps S] [--double] [--threads 1] [--dump FILE.npz]

Needs PyTorch (Debian: python3-torch). S20's code is not part of ltr (GPL);
pass the notebooks directory of a clone. Prints one JSON line: ||dW||_F of
the final weights and of the last recorded snapshot (S20's figure uses the
latter: 200 snapshots, each taken before its step's update) and at every
20th snapshot (delta_w_norm_history, to see it drift after convergence), the
convergence step (first loss below 5 % of the first), the first and last
training loss, the functional rank on fresh 512-trial batches, and the
shuffle loss over the first training loss, and the truncation losses of
ranks 0-10 over that of rank 0. --dump FILE.npz also saves the loss of every
training step and the initial weights (scripts/s20_same_init.py trains ltr
from the same weights).
"""
import argparse
import json
import sys
import time

import numpy as np

TASKS = {  # S20's generate_nonlinear: steps, dims, parameters
    "flipflop": (1000, (2, 2), dict(
        t_max=50, fixation_duration=1, stimulus_duration=1,
        decision_delay_duration=5, stim_delay_duration_min=5,
        stim_delay_duration_max=25, input_amp=1, target_amp=0.5,
        fixate=False)),
    "mante": (2000, (4, 1), dict(
        choices=np.arange(2), fixation_duration=3, stimulus_duration=20,
        delay_duration=5, decision_duration=20, input_amp=1.,
        target_amp=0.5, context_amp=1., rel_input_std=0.05,
        coherences=np.array([-8, -4, -2, -1, 1, 2, 4, 8]) / 8.,
        fixate=True)),
    "romo": (6000, (1, 2), dict(
        fixation_duration=3, stimulus_duration=1, decision_delay_duration=5,
        decision_duration=10, stim_delay_duration_min=2,
        stim_delay_duration_max=8, input_amp_min=0.5, input_amp_max=1.5,
        min_input_diff=0.2, target_amp=0.5, fixate=True)),
}


def initial_weights(n, n_in, n_out, g, dtype=np.float32):
    """S20's initialisation (generate_nonlinear, run_training), drawn from
    numpy's global RNG (the caller seeds it): W_in (n_in x n), W_out
    (n x n_out) and W0 = g J (n x n), in S20's orientation and precision."""
    wrec_0 = np.random.normal(0, 1 / np.sqrt(n), (n, n))
    wio = np.random.normal(0, 1, (n, n_in + n_out))
    wio /= np.linalg.norm(wio, axis=0)[None, :]
    wio *= np.sqrt(n)
    wi_init = wio[:, :n_in].T.copy()
    wo_init = wio[:, n_in:].copy() / n
    return (wi_init.astype(dtype), wo_init.astype(dtype),
            (g * wrec_0).astype(dtype))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("s20_dir")
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("g", type=float)
    p.add_argument("seed", type=int)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--double", action="store_true",
                   help="float64 instead of S20's float32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dump", metavar="FILE.npz",
                   help="also save the per-step training losses and the "
                   "initial weights (wi, wrec0, wo) there")
    a = p.parse_args()
    sys.path.insert(0, a.s20_dir)
    import torch
    torch.set_num_threads(a.threads)
    if a.double:
        torch.set_default_dtype(torch.float64)
    from model import RNN, train, run_net  # S20's code
    import task_generators

    steps, (n_in, n_out), params = TASKS[a.task]
    steps = a.steps or steps
    n = a.units
    dims = [n_in, n, n_out]
    dt = 0.5
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    task = getattr(task_generators, a.task)(dims, dt, **params)
    if a.double:  # the generators build float32 arrays
        f32 = task
        task = lambda b: tuple(x.astype(np.float64) for x in f32(b))
    dtype = np.float64 if a.double else np.float32
    wi_init, wo_init, wrec_init = initial_weights(n, n_in, n_out, a.g, dtype)
    net = RNN(dims, 0., dt, g=a.g, wi_init=wi_init, wo_init=wo_init,
              wrec_init=wrec_init,
              train_wi=True, train_wrec=True, train_wo=True,
              train_brec=False, nonlinearity="tanh",
              readout_nonlinearity=None)
    rec_step = max(1, steps // 200)
    start = time.time()
    losses, _, w_init, w_last, w_train, _, _ = train(
        net, task, steps, 32, 0.05 / n, rec_step=rec_step,
        optimizer="adam", verbose=False)
    seconds = time.time() - start
    wi, wrec0, wo, brec = w_init
    wi_l, wrec_l, wo_l, brec_l = w_last
    dw = wrec_l - wrec0
    dw_snap = w_train["wrec"][-1] - wrec0
    below = np.nonzero(losses < 0.05 * losses[0])[0]

    def loss_of(w):
        t = RNN(dims, 0., dt, g=None, wi_init=wi_l, wo_init=wo_l,
                wrec_init=w, brec_init=brec_l)
        return float(run_net(t, task, batch_size=512)[-1])

    u, s, vt = np.linalg.svd(dw)
    rank_loss = [loss_of(wrec0 + (u[:, :r] * s[:r]) @ vt[:r])
                 for r in range(26)]
    hit = [r for r in range(26) if rank_loss[r] < 0.05 * rank_loss[0]]
    shuffled = wrec0.reshape(-1).copy()
    np.random.shuffle(shuffled)
    shuffle = loss_of(shuffled.reshape(n, n) + dw)
    if a.dump:
        np.savez(a.dump, losses=losses, wi=wi, wrec0=wrec0, wo=wo)
    print(json.dumps(dict(
        task=a.task, g=a.g, seed=a.seed, units=n, steps=steps,
        dtype="float64" if a.double else "float32",
        delta_w_norm=float(np.linalg.norm(dw)),
        delta_w_norm_snapshot=float(np.linalg.norm(dw_snap)),
        convergence_step=int(below[0]) if below.size else -1,
        first_loss=float(losses[0]), final_loss=float(losses[-1]),
        functional_rank=hit[0] if hit else -1,
        truncation_loss_ratio=[l / rank_loss[0] for l in rank_loss[:11]],
        shuffle_over_first_loss=shuffle / float(losses[0]),
        delta_w_norm_history=[  # (step, ||dW||_F) at every 20th snapshot
            (int(k * rec_step), float(np.linalg.norm(w_train["wrec"][k] - wrec0)))
            for k in range(0, len(w_train["wrec"]), 20)],
        delta_w_in_norm=float(np.linalg.norm(wi_l - wi)),
        delta_w_out_norm=float(np.linalg.norm(wo_l - wo)),
        seconds=seconds)))


if __name__ == "__main__":
    main()
