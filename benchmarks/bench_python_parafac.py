"""ltr.parafac against TensorLy's parafac in the same process, and the Python
call's overhead against the C++ benchmark, on the CP benchmark tensor of
bench_cp_als.cpp: 200 x 100 x 500, planted rank 10 plus 5 % noise, rank 10,
50 iterations, random init, tol 0.

Usage (from the repository, after the build):

    PYTHONPATH=build/python:/path/to/tensorly /usr/bin/python3 \\
        benchmarks/bench_python_parafac.py [--threads 2] [--repeats 3]

TensorLy is not a Debian package. To measure it, bring its source onto the
machine yourself (e.g. `git clone https://github.com/tensorly/tensorly`; it
needs numpy and, for some functions, scipy) and put the directory that holds
its `tensorly/` package on PYTHONPATH; it is never copied into this project.
Without it the script says so, skips TensorLy and still measures ltr and
the overhead.

What it prints:
  - the median and best wall time of ltr.parafac and of tensorly's parafac
    over alternating repeats, and their ratio (target >= 10x);
  - the C++ figure: `bench_cp_als --threads T --iterations 45 --no-ensemble`
    times a full ltr::Cp call of 5 + 45 = 50 iterations (best of 3) from a
    random start it draws separately ("random init"); the Python call does
    both, so the overhead is best(ltr.parafac) / (init + full call) - 1
    (target <= 5 %);
  - where the Python time goes: the library's own time (summary.seconds)
    against the wall time, and the cost of one copy of the input (the
    binding copies the array once into the library's tensor).
"""
import argparse
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIMS, RANK, ITERATIONS = (200, 100, 500), 10, 50


def benchmark_tensor():
    """The recipe of bench_cp_als.cpp (tests/planted.h), drawn with numpy: unit
    N(0, 1) factor columns, weights evenly spaced from 2 down to ~1 times
    sqrt(IJK), plus Gaussian noise of 5 % of the RMS entry."""
    rng = np.random.default_rng(1)
    factors = [rng.standard_normal((n, RANK)) for n in DIMS]
    factors = [f / np.linalg.norm(f, axis=0) for f in factors]
    weights = np.sqrt(np.prod(DIMS)) * (2.0 - np.arange(RANK) / RANK)
    x = np.einsum("r,ir,jr,kr->ijk", weights, *factors, optimize=True)
    sigma = 0.05 * np.linalg.norm(x) / np.sqrt(x.size)
    x += sigma * rng.standard_normal(x.shape)
    return x


def timed(run):
    """(wall seconds, CPU seconds / wall seconds, result)."""
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    return wall, used / wall, result


def cpp_benchmark(binary, threads):
    """(random init s, full 50-iteration Cp call s) from bench_cp_als."""
    out = subprocess.run([str(binary), "--threads", str(threads), "--iterations",
                          str(ITERATIONS - 5), "--no-ensemble"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if "random init" in line and "full Cp call" in line:
            words = line.replace(";", "").split()
            init = float(words[words.index("init") + 1])
            full = float(words[words.index("iterations") + 1])
            calls = int(words[words.index("with") + 1])
            assert calls == ITERATIONS, line
            return init, full, out
    raise RuntimeError("bench_cp_als printed no 'full Cp call' line:\n" + out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2,
                        help="ltr's and bench_cp_als's threads (bench_cp_als's default 2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bench-cp-als", default=os.environ.get(
        "BENCH_CP_ALS", str(ROOT / "build" / "bin" / "bench_cp_als")))
    args = parser.parse_args()

    import ltr
    try:
        from tensorly.decomposition import parafac as tensorly_parafac
        import tensorly
        tensorly.set_backend("numpy")
        tensorly_version = tensorly.__version__
    except ImportError:
        tensorly_parafac = None

    print("load before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    x = benchmark_tensor()
    print(f"bench_python_parafac: {DIMS[0]}x{DIMS[1]}x{DIMS[2]} float64 ({x.nbytes / 1e6:.0f} MB), "
          f"rank {RANK}, {ITERATIONS} iterations, init random, tol 0; ltr {ltr.__version__} "
          f"with {args.threads} threads, {args.repeats} alternating repeats")
    if tensorly_parafac is None:
        print("  TensorLy is not importable (not a Debian package: fetch its source and put it "
              "on PYTHONPATH): measuring ltr and the overhead only")
    else:
        print(f"  TensorLy {tensorly_version} (numpy backend; numpy {np.__version__})")

    def run_ltr(seed):
        cp = ltr.parafac(x, RANK, n_iter_max=ITERATIONS, init="random", tol=0,
                         random_state=seed, threads=args.threads)
        assert cp.summary.iterations == ITERATIONS
        return cp

    def run_tensorly(seed):
        return tensorly_parafac(x, RANK, n_iter_max=ITERATIONS, init="random", tol=0,
                                random_state=seed)

    run_ltr(0)  # warm-up: first-touch of the library's buffers
    ours, theirs, library = [], [], []
    for repeat in range(args.repeats):
        wall, cores, cp = timed(lambda: run_ltr(repeat + 3))
        ours.append((wall, cores))
        library.append(cp.summary.seconds)
        print(f"  repeat {repeat + 1}: ltr.parafac {wall:.3f} s ({cores:.2f} cores, "
              f"library {cp.summary.seconds:.3f} s, relative error "
              f"{cp.summary.relative_error:.4f})", end="")
        if tensorly_parafac is not None:
            wall_t, cores_t, tcp = timed(lambda: run_tensorly(repeat + 3))
            theirs.append((wall_t, cores_t))
            err = np.linalg.norm(x - tensorly.cp_to_tensor(tcp)) / np.linalg.norm(x)
            print(f"; tensorly {wall_t:.3f} s ({cores_t:.2f} cores, relative error {err:.4f})",
                  end="")
        print()

    ltr_median = statistics.median(w for w, _ in ours)
    ltr_best = min(w for w, _ in ours)
    print(f"\nltr.parafac: median {ltr_median:.3f} s, best {ltr_best:.3f} s "
          f"({ltr_median / ITERATIONS * 1e3:.1f} ms per iteration)")
    if theirs:
        tl_median = statistics.median(w for w, _ in theirs)
        print(f"tensorly parafac: median {tl_median:.3f} s, best "
              f"{min(w for w, _ in theirs):.3f} s ({tl_median / ITERATIONS * 1e3:.1f} ms per "
              f"iteration)")
        tl_best = min(w for w, _ in theirs)
        print(f"ratio tensorly / ltr: {tl_median / ltr_median:.1f}x of the medians, "
              f"{tl_best / ltr_best:.1f}x of the best  (target >= 10x)")

    # Where the Python call's time goes.
    # The binding's conversion allocates the library's Tensor3 (zero-filled
    # by its constructor) and copies the array in: numpy's zeros + copy is
    # the same work.
    copy_times = [timed(lambda: np.array(x, order="C", copy=True))[0] for _ in range(5)]
    zero_copy_times = [timed(lambda: np.copyto(np.full(x.shape, 0.0), x))[0] for _ in range(5)]
    outside = statistics.median(w - s for (w, _), s in zip(ours, library))
    print(f"\nPython layer: wall - library time = {outside * 1e3:.1f} ms per call (median), "
          f"{outside / ltr_median * 100:.1f} % of the call; for the {x.nbytes / 1e6:.0f} MB "
          f"input numpy takes {statistics.median(copy_times) * 1e3:.1f} ms to copy it and "
          f"{statistics.median(zero_copy_times) * 1e3:.1f} ms to zero-fill a new array and "
          f"copy it in (what the conversion into the library's tensor does)")

    binary = pathlib.Path(args.bench_cp_als)
    if not binary.exists():
        print(f"no {binary}: build the benchmarks (cmake --build build) for the overhead")
    else:
        init, full, _ = cpp_benchmark(binary, args.threads)
        cpp = init + full
        print(f"C++ bench_cp_als --threads {args.threads} --iterations {ITERATIONS - 5} "
              f"--no-ensemble: random init {init:.3f} s + full Cp call with {ITERATIONS} "
              f"iterations {full:.3f} s (best of 3) = {cpp:.3f} s")
        print(f"Python call overhead: best ltr.parafac {ltr_best:.3f} s / {cpp:.3f} s - 1 = "
              f"{(ltr_best / cpp - 1) * 100:+.1f} %  (target <= 5 %)")
    print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    sys.exit(main())
