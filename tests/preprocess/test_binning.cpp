// Spike binning's convention at the edges, and each preprocessing step of
// `ltr import` against the same computation in numpy.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/preprocess/binning.h"
#include "test_support.h"

using Catch::Matchers::Contains;

namespace ltr {

TEST_CASE(
    "BinSpikes counts a spike at t in bin floor((t - start) / bin) when start "
    "<= t < stop",
    "[preprocess]") {
  TrialSpikes s;
  s.unit_ids = {7, 8};
  s.trial_ids = {0};
  // Unit 7: on the window's start (counted in bin 0), on the boundary of
  // bins 1 and 2 (bin 2), just before the stop (last bin), on the stop and
  // before the start (not counted).
  s.times = {{{-0.5, -0.25, 0.0, 0.9999, 1.0, -0.6}, {}}};
  const SpikeBinning b{-0.5, 1.0, 0.25};
  REQUIRE(BinCount(b) == 6);
  const Tensor3 x = BinSpikes(s, b);
  REQUIRE(x.dims() == Dims{1, 6, 2});
  CHECK(x(0, 0, 0) == 1);
  CHECK(x(0, 1, 0) == 1);
  CHECK(x(0, 2, 0) == 1);
  CHECK(x(0, 5, 0) == 1);
  CHECK(x.AsVector().sum() == 4);
  CHECK_THROWS_WITH(BinCount({0, 1, 0}),
                    Contains("bin width must be positive"));
  CHECK_THROWS_WITH(BinCount({0, 1, 0.4}), Contains("not a whole number"));
}

TEST_CASE("SmoothTime keeps a constant and renormalises at the ends",
          "[preprocess]") {
  Tensor3 ones(2, 7, 3, 1.0);
  const Tensor3 smooth = SmoothTime(ones, 1.5);
  for (double v : smooth.values()) CHECK(v == Approx(1.0).epsilon(1e-15));
  Tensor3 impulse(1, 9, 1);
  impulse(0, 4, 0) = 1;
  const Tensor3 y = SmoothTime(impulse, 1.0);
  CHECK(y(0, 3, 0) == Approx(y(0, 5, 0)));
  CHECK(y(0, 4, 0) > y(0, 3, 0));
}

TEST_CASE("import's preprocessing equals numpy's computation",
          "[preprocess][import]") {
  test::ScratchDir dir;
  bool ok = false;
  const char* kSteps = R"(
import sys, json, numpy as np, h5py
d = sys.argv[1]
rng = np.random.default_rng(3)
x = rng.poisson(0.7, size=(5, 20, 6)).astype(float)
x[:, :, 2] = 0; x[0, 3, 2] = 1   # a nearly silent neuron
np.save(d + '/x.npy', x)
dt = 0.05
def smooth(x, sd):
    s = sd / dt; half = int(np.ceil(4 * s)); k = np.arange(-half, half + 1)
    w = np.exp(-k.astype(float) ** 2 / (2 * s * s)); out = np.empty_like(x)
    for j in range(x.shape[1]):
        lo, hi = max(0, j - half), min(x.shape[1] - 1, j + half)
        ww = w[lo - j + half:hi - j + half + 1]
        out[:, j, :] = np.tensordot(ww, x[:, lo:hi + 1, :], axes=([0], [1])) / ww.sum()
    return out
def baseline(x, a, b):
    j = np.arange(x.shape[1]); begin = 0 + j * dt
    sel = (begin >= a) & (begin + dt <= b)
    return x - x[:, sel, :].mean(axis=(0, 1), keepdims=True)
def soft(x, eps):
    r = x.max(axis=(0, 1), keepdims=True) - x.min(axis=(0, 1), keepdims=True)
    return x / (r + eps)
def zscore(x):
    return (x - x.mean(axis=(0, 1), keepdims=True)) / x.std(axis=(0, 1), keepdims=True)
rate = x.sum(axis=(0, 1)) / (x.shape[0] * x.shape[1] * dt)
keep = rate >= 1.0
cases = {
  '--sqrt': np.sqrt(x),
  '--smooth-sd 0.1': smooth(x, 0.1),
  '--baseline 0:0.25': baseline(x, 0, 0.25),
  '--soft-normalize 0.01': soft(x, 0.01),
  '--min-rate 1 --zscore': zscore(x[:, :, keep]),
  '--min-rate 1 --sqrt --smooth-sd 0.08 --baseline 0.1:0.3 --soft-normalize 0.5 --zscore':
      zscore(soft(baseline(smooth(np.sqrt(x[:, :, keep]), 0.08), 0.1, 0.3), 0.5)),
}
print(json.dumps({k: None for k in cases}))
json.dump({k: v.tolist() for k, v in cases.items()}, open(d + '/want.json', 'w'))
)";
  const std::string setup = test::RunPython(
      "import sys\nsys.argv = ['s', '" + dir.path() + "']\n" + kSteps, &ok);
  if (!ok && !test::HavePythonH5py()) {
    WARN("python3 with numpy not found; skipped");
    return;
  }
  INFO(setup);
  REQUIRE(ok);
  const char* kCompare = R"(
import sys, json, numpy as np, h5py
d, flags, out = sys.argv[1:4]
want = np.array(json.load(open(d + '/want.json'))[flags])
got = h5py.File(out, 'r')['activity'][:]
assert got.shape == want.shape, (got.shape, want.shape)
err = np.abs(got - want).max()
assert err < 1e-12, err
print(err)
)";
  for (const char* flags :
       {"--sqrt",
        "--smooth-sd 0.1",
        "--baseline 0:0.25",
        "--soft-normalize 0.01",
        "--min-rate 1 --zscore",
        "--min-rate 1 --sqrt --smooth-sd 0.08 --baseline 0.1:0.3 "
        "--soft-normalize 0.5 --zscore"}) {
    const std::string out = dir / "out.h5";
    const test::RunResult r = test::RunLtr(
        "import " + dir / "x.npy" + " --dt 0.05 " + flags + " -o " + out);
    INFO(flags);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string py =
        test::RunPython("import sys\nsys.argv = ['c', '" + dir.path() + "', '" +
                            flags + "', '" + out + "']\n" + kCompare,
                        &ok);
    INFO(py);
    CHECK(ok);
    std::filesystem::remove(out);
  }
  // Each step is recorded: the chain in the order applied.
  const std::string out = dir / "chain.h5";
  const test::RunResult r =
      test::RunLtr("import " + dir / "x.npy" +
                   " --dt 0.05 --min-rate 1 --sqrt --zscore -o " + out);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("1 neurons below 1 spikes/s dropped"));
  CHECK(io::ReadStringAttribute(out, "/import", "preprocessing") ==
        "min_rate=1,sqrt,zscore");
  CHECK(io::ReadDoubleAttribute(out, "/import", "zscore") == 1);
}

}  // namespace ltr
