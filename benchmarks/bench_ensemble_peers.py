"""CP-ALS and TCA ensembles in ltr against TensorLy and tensortools, side by
side in one process, on planted problems.

Usage (from the repository, after the build; the peers from their source):

    PYTHONPATH=build/python:/path/to/tensorly:/path/to/tensortools \\
        /usr/bin/python3 benchmarks/bench_ensemble_peers.py \\
        [--threads 2] [--part ensemble|parafac|all] [--repeats 1]

Neither peer is a Debian package: bring their sources onto the machine
(`git clone https://github.com/tensorly/tensorly`,
`https://github.com/ahwillia/tensortools`) and put the directories holding
`tensorly/` and `tensortools/` on PYTHONPATH. tensortools imports numba,
tqdm and munkres (Debian: python3-numba python3-tqdm python3-munkres).
A missing peer is skipped with a line saying so.

Parts:
  ensemble: the TCA ensemble of tensortools' README: ranks 1-8 x 3 restarts,
    CP-ALS, tolerance 1e-5, at most 500 iterations, on 200 x 100 x 500 with
    planted rank 5 plus 5 % noise. Both tools stop a fit at the same test:
    tensortools' cp_als when the relative error ||X - M|| / ||X|| fell by less
    than tol in the last sweep (FitResult.update: improvement = previous -
    current), ltr when it changed by less than tol (CpOptions::tolerance; ALS
    never raises it, so the two agree; from the same start both stop at the
    same sweep with the same errors, measured). Starts: tensortools draws
    every restart N(0, 1) (numpy.random, seeded); ltr its defaults: restart 0
    of each rank from nvecs (EnsembleOptions::nvecs_first), the others
    N(0, 1). ltr.rank_ensemble with acceleration 'line-search' (the default)
    and 'none', and with random starts only (nvecs_first=False, tensortools'
    scheme), against tensortools.Ensemble(fit_method='cp_als').fit. Prints
    the wall times, the ratios, the iterations, and per rank the best
    relative error of each.
  parafac: CP-ALS at rank 10 on the 200 x 100 x 500 planted rank-10 tensor of
    bench_cp_als.cpp: (a) 50 iterations, tol 0, ltr.parafac vs TensorLy's
    parafac, both without line search (TensorLy's default); (b) to
    convergence, tol 1e-8 (TensorLy's default), n_iter_max 500: both with and
    without linesearch=True. Prints times, ratios, iterations and errors.
"""
import argparse
import subprocess
import time

import numpy as np

DIMS = (200, 100, 500)


def planted(rank, seed):
    """Unit N(0, 1) factor columns, weights from 2 down to ~1 times
    sqrt(IJK), plus Gaussian noise of 5 % of the RMS entry (the recipe of
    bench_cp_als.cpp and tests/planted.h)."""
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) for n in DIMS]
    factors = [f / np.linalg.norm(f, axis=0) for f in factors]
    weights = np.sqrt(np.prod(DIMS)) * (2.0 - np.arange(rank) / rank)
    x = np.einsum("r,ir,jr,kr->ijk", weights, *factors, optimize=True)
    sigma = 0.05 * np.linalg.norm(x) / np.sqrt(x.size)
    x += sigma * rng.standard_normal(x.shape)
    return x


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed(run):
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def relative_error(x, weights, factors):
    model = np.einsum("r,ir,jr,kr->ijk", weights, *factors, optimize=True)
    return np.linalg.norm(x - model) / np.linalg.norm(x)


def ensemble(args, ltr):
    ranks, restarts, tol, max_iter = list(range(1, 9)), 3, 1e-5, 500
    x = planted(5, 2)
    print(f"\nTCA ensemble: {DIMS[0]}x{DIMS[1]}x{DIMS[2]}, planted rank 5 + 5 % noise; "
          f"ranks 1-8 x {restarts} restarts, CP-ALS, tol {tol}, <= {max_iter} iterations")
    print("  load before:", uptime())
    rows = []  # (name, seconds, iterations, {rank: best error})
    for name, acceleration, nvecs_first in (("ltr line-search", "line-search", True),
                                            ("ltr none", "none", True),
                                            ("ltr random starts", "line-search", False)):
        seconds, ens = timed(lambda: ltr.rank_ensemble(
            x, ranks, restarts, method="cp-als", tol=tol, n_iter_max=max_iter,
            init="random", seed=4, corcondia=False, threads=args.threads,
            acceleration=acceleration, nvecs_first=nvecs_first, progress=False))
        errors = dict(zip(ranks, ens.relative_error.min(axis=1)))
        rows.append((name, seconds, int(ens.iterations.sum()), errors))
    try:
        import tensortools as tt
    except ImportError as e:
        print(f"  tensortools is not importable ({e}): skipped")
        tt = None
    if tt is not None:
        # tensortools draws its starts from scipy.random, an alias of
        # numpy.random that scipy >= 1.10 no longer has.
        import scipy
        if not hasattr(scipy, "random"):
            scipy.random = np.random
        np.random.seed(4)
        ens = tt.Ensemble(fit_method="cp_als", fit_options=dict(tol=tol, max_iter=max_iter))
        seconds, _ = timed(lambda: ens.fit(x, ranks=ranks, replicates=restarts,
                                           verbose=False))
        errors = {r: min(ens.objectives(r)) for r in ranks}
        iterations = sum(len(res.obj_hist) for r in ranks for res in ens.results[r])
        rows.append(("tensortools cp_als", seconds, iterations, errors))
    print("  load after:", uptime())
    for name, seconds, iterations, _ in rows:
        print(f"  {name:20s} {seconds:8.2f} s  {iterations:6d} iterations")
    if tt is not None:
        for name, seconds, _, _ in rows[:-1]:
            print(f"  tensortools / {name}: {rows[-1][1] / seconds:.1f}x")
    print("  best relative error per rank: " + ", ".join(r[0] for r in rows))
    for r in ranks:
        print(f"    rank {r}: " + "  ".join(f"{row[3][r]:.6f}" for row in rows))


def ratio(value, e_ltr, e_tl, tol):
    """The time ratio, unless the two runs stopped at different errors (to
    convergence from different starts: then they solved different problems)."""
    if tol and abs(e_ltr - e_tl) > 1e-4 * max(e_ltr, e_tl):
        return "different end points: no ratio"
    return f"ratio {value:.1f}x"


def parafac(args, ltr):
    rank = 10
    x = planted(rank, 1)
    try:
        import tensorly
        from tensorly.decomposition import parafac as tl_parafac
        tensorly.set_backend("numpy")
    except ImportError as e:
        print(f"\nTensorLy is not importable ({e}): the parafac part is skipped")
        return
    print(f"\nCP-ALS rank {rank} on {DIMS[0]}x{DIMS[1]}x{DIMS[2]} (planted rank {rank} + 5 % "
          f"noise), random init; TensorLy {tensorly.__version__}")
    print("  load before:", uptime())

    def run_ltr(iterations, tol, linesearch):
        cp = ltr.parafac(x, rank, n_iter_max=iterations, init="random", tol=tol,
                         random_state=3, linesearch=linesearch, threads=args.threads)
        return cp.summary.iterations, cp.summary.relative_error

    def run_tensorly(iterations, tol, linesearch):
        cp, errors = tl_parafac(x, rank, n_iter_max=iterations, init="random", tol=tol,
                                random_state=3, linesearch=linesearch, return_errors=True)
        # TensorLy records no error on its line-search iterations: count sweeps
        # by the error it reports at the end instead.
        return len(errors), relative_error(x, *cp)

    for label, iterations, tol, searches in (
            ("(a) 50 iterations, tol 0", 50, 0, (False,)),
            ("(b) to convergence, tol 1e-8, <= 500 iterations", 500, 1e-8, (False, True))):
        print(f"  {label}:")
        for linesearch in searches:
            for _ in range(args.repeats):
                t_ltr, (it_ltr, e_ltr) = timed(lambda: run_ltr(iterations, tol, linesearch))
                t_tl, (it_tl, e_tl) = timed(lambda: run_tensorly(iterations, tol, linesearch))
                print(f"    linesearch={linesearch!s:5s}: ltr {t_ltr:.3f} s ({it_ltr} it, error "
                      f"{e_ltr:.6f}); TensorLy {t_tl:.3f} s ({it_tl} errors recorded, error "
                      f"{e_tl:.6f}); " + ratio(t_tl / t_ltr, e_ltr, e_tl, tol))
    print("  load after:", uptime())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--part", choices=["ensemble", "parafac", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of each parafac pair")
    args = parser.parse_args()
    import ltr
    print(f"bench_ensemble_peers: ltr {ltr.__version__}, {args.threads} threads, numpy "
          f"{np.__version__}")
    if args.part in ("ensemble", "all"):
        ensemble(args, ltr)
    if args.part in ("parafac", "all"):
        parafac(args, ltr)


if __name__ == "__main__":
    main()
