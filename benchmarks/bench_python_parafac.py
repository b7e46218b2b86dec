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

What it prints, for each of the alternating repeats and as medians:
  - the wall time of ltr.parafac and of tensorly's parafac and their ratio
    (target >= 10x);
  - the C++ figure, run in every repeat: `bench_cp_als --threads T
    --iterations 45 --no-ensemble` times a full ltr::Cp call of 5 + 45 = 50
    iterations (best of 3) from a random start it draws separately
    ("random init"); one ltr.parafac call does both, so the overhead is
    best of 3 ltr.parafac / (init + full call) - 1 (target <= 5 %);
  - where the Python time goes: wall time minus the library's own time
    (summary.seconds), against what numpy needs to copy the input and to
    zero-fill a new array and copy the input in (the binding's conversion
    into the library's zero-initialised tensor).
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

    binary = pathlib.Path(args.bench_cp_als)
    if not binary.exists():
        print(f"  no {binary}: build the benchmarks (cmake --build build) to measure the "
              "overhead against C++")
        binary = None

    run_ltr(0)  # warm-up: first-touch of the library's buffers
    # Each repeat: the C++ benchmark (best of 3 calls), three ltr.parafac
    # calls (the first for the ratio, the best of the three against C++),
    # one TensorLy call.
    ours, theirs, outside, overheads = [], [], [], []
    for repeat in range(args.repeats):
        line = f"  repeat {repeat + 1}:"
        if binary:
            init, full, _ = cpp_benchmark(binary, args.threads)
            line += f" C++ {init + full:.3f} s;"
        calls = []
        for _ in range(3):
            wall, cores, cp = timed(lambda: run_ltr(repeat + 3))
            calls.append(wall)
            outside.append(wall - cp.summary.seconds)
        ours.append(calls[0])
        line += (f" ltr.parafac {calls[0]:.3f} s ({cores:.2f} cores; best of 3 "
                 f"{min(calls):.3f} s, relative error {cp.summary.relative_error:.4f})")
        if binary:
            overheads.append(min(calls) / (init + full) - 1)
        if tensorly_parafac is not None:
            wall_t, cores_t, tcp = timed(lambda: run_tensorly(repeat + 3))
            theirs.append(wall_t)
            err = np.linalg.norm(x - tensorly.cp_to_tensor(tcp)) / np.linalg.norm(x)
            line += f"; tensorly {wall_t:.3f} s ({cores_t:.2f} cores, relative error {err:.4f})"
        print(line)

    ltr_median = statistics.median(ours)
    print(f"\nltr.parafac: median {ltr_median:.3f} s ({ltr_median / ITERATIONS * 1e3:.1f} ms "
          f"per iteration)")
    if theirs:
        tl_median = statistics.median(theirs)
        print(f"tensorly parafac: median {tl_median:.3f} s ({tl_median / ITERATIONS * 1e3:.1f} "
              f"ms per iteration)")
        print(f"ratio tensorly / ltr: {tl_median / ltr_median:.1f}x of the medians, "
              f"{min(theirs) / min(ours):.1f}x of the best  (target >= 10x)")

    # Where the Python call's time goes. The binding's conversion allocates
    # the library's Tensor3 (zero-filled by its constructor) and copies the
    # array in: numpy's full + copyto is the same work.
    copy_times = [timed(lambda: np.array(x, order="C", copy=True))[0] for _ in range(5)]
    zero_copy_times = [timed(lambda: np.copyto(np.full(x.shape, 0.0), x))[0] for _ in range(5)]
    print(f"\nPython layer: wall - library time (summary.seconds) = "
          f"{statistics.median(outside) * 1e3:.1f} ms per call (median), "
          f"{statistics.median(outside) / ltr_median * 100:.1f} % of the call; for the "
          f"{x.nbytes / 1e6:.0f} MB input numpy takes {statistics.median(copy_times) * 1e3:.1f} "
          f"ms to copy it and {statistics.median(zero_copy_times) * 1e3:.1f} ms to zero-fill a "
          f"new array and copy it in (what the conversion into the library's tensor does)")
    if overheads:
        print(f"Python call overhead vs C++ bench_cp_als --threads {args.threads} --iterations "
              f"{ITERATIONS - 5} --no-ensemble (random init + full Cp call with {ITERATIONS} "
              f"iterations, best of 3, against ltr.parafac's best of 3 in the same repeat): "
              f"median {statistics.median(overheads) * 100:+.1f} % "
              f"({', '.join(f'{o * 100:+.1f}' for o in overheads)})  (target <= 5 %)")
    print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    sys.exit(main())
