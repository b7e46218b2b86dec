"""The tables of docs/real-data.md from the outputs of scripts/real_data.sh.

    python3 scripts/real_data_tables.py OUT_DIR
"""
import sys

import h5py
import numpy as np


def tca_table(path):
    """Per rank: deviance, held-out deviance, rel. error, similarity (best fit
    of the ensemble; held-out: the cross-validation's first column)."""
    with h5py.File(path, "r") as f:
        e, cv = f["ensemble"], f["crossval"]
        ranks = e["ranks"][:]
        print(f"{path}: ensemble {e.attrs['seconds']:.1f} s, "
              f"cross-validation {cv.attrs['seconds']:.1f} s")
        print("| rank | deviance | held-out deviance (min) | rel. error "
              "| held-out rel. error | similarity |")
        print("|---|---|---|---|---|---|")
        for i, r in enumerate(ranks):
            best = e[f"rank_{r}/run_0"].attrs
            sim = e["similarity"][i, 1:]
            print(f"| {r} | {best['poisson_deviance']:.0f} "
                  f"| {cv['test_deviance'][i, 0]:.1f} "
                  f"({cv['test_deviance'][i].min():.1f}) "
                  f"| {best['relative_error']:.4f} "
                  f"| {cv['test_error'][i, 0]:.4f} "
                  f"| {sim.mean() if sim.size else float('nan'):.3f} |")


def trial_factors(path, rank, labels, names, times):
    """Mean of each component's trial factor (lambda_r times its unit-norm
    column, so the numbers are in the units of the data) per label, the
    fraction of its variance the labels explain (eta squared) and the time
    (bin centre, s after the alignment) where its time factor peaks."""
    with h5py.File(path, "r") as f:
        g = f[f"ensemble/rank_{rank}/run_0"]
        trial = g["factors/0"][:] * g["weights"][:]
        peaks = times[np.argmax(g["factors/1"][:], axis=0)]
    print(f"{path} rank {rank}: trial factor by condition")
    head = " | ".join(names) if names else "per-condition means"
    print(f"| component | time-factor peak | {head} | eta² |")
    print("|---" * (4 + (len(names) if names else 1) - 1) + "|")
    for r in range(trial.shape[1]):
        t = trial[:, r]
        groups = [t[labels == c] for c in np.unique(labels)]
        between = sum(len(g) * (g.mean() - t.mean()) ** 2 for g in groups)
        eta2 = between / ((t - t.mean()) ** 2).sum()
        if names:
            cells = " | ".join(
                f"{g.mean():.3g} ± {g.std(ddof=1) / np.sqrt(len(g)):.2g}"
                for g in groups)
        else:
            means = np.array([g.mean() for g in groups])
            cells = f"{means.min():.2f} to {means.max():.2f}"
        print(f"| {r + 1} | {peaks[r]:.2f} s | {cells} | {eta2:.2f} |")


def fit_table(path):
    with h5py.File(path, "r") as f:
        a = f["fit"].attrs
        if "cv" in f:
            cv = f["cv"]
            print(f"{path}: rank sweep, chosen rank {cv.attrs['chosen_rank']}")
            print("| rank | train loss | held-out loss | held-out R² |")
            print("|---|---|---|---|")
            for i, r in enumerate(cv["ranks"][:]):
                k = int(np.argmin(cv["test_loss"][i]))
                print(f"| {r} | {cv['train_loss'][i, k]:.5f} "
                      f"| {cv['test_loss'][i, k]:.5f} "
                      f"| {cv['test_r2'][i, k]:.4f} |")
        print(f"{path}: null train loss {a['null_train_loss']:.5f}, "
              f"train loss {a['train_loss']:.5f}, held-out loss "
              f"{a['test_loss']:.5f} ({a['test_entries']} entries), "
              f"R² {a['test_r2']:.4f}, median R² {a['test_r2_median']:.4f}, "
              f"bits/spike (vs each neuron's mean) "
              f"{a['test_bits_per_spike']:.4f}, {a['iterations']} iterations, "
              f"{a['seconds']:.1f} s")


def main(out):
    for name in ("mtl", "retina"):
        for method in ("ncp-hals", "cp-apr"):
            tca_table(f"{out}/{name}_tca_{method}.h5")
            print()
    with h5py.File(f"{out}/mtl.h5", "r") as f:
        category, mtl_time = f["condition"][:].ravel(), f["time"][:]
    with h5py.File(f"{out}/retina.h5", "r") as f:
        image = f["condition"][:].ravel()
        # the window starts at 0.5 ms (MATLAB import writes no /time)
        retina_time = 0.0005 + (np.arange(f["activity"].shape[1]) + 0.5) * 0.01
    for method in ("ncp-hals", "cp-apr"):
        trial_factors(f"{out}/mtl_tca_{method}.h5", 2, category,
                      ["NB (0)", "SB (1)", "HB (2)"], mtl_time)
        print()
        trial_factors(f"{out}/retina_tca_{method}.h5", 4, image, None,
                      retina_time)
        print()
    fit_table(f"{out}/mtl_fit.h5")
    fit_table(f"{out}/retina_fit.h5")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/real-data")
