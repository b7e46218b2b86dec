// ltr import of MATLAB files against scipy + numpy: the counts of Onken's
// spike-time cells equal a numpy binning of scipy.io.loadmat's times
// exactly (trial s * repeats + r = repeat r of stimulus s, MATLAB's column
// order of the outer cell; /condition the stimulus), and a numeric array
// maps its --axes as numpy's transpose does.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.h"

namespace fs = std::filesystem;

namespace ltr {
namespace {

const std::string kRetina =
    std::string(LTR_SOURCE_DIR) + "/../shared/data/onken_retina/";

const char* kNumpyBinning = R"(
import sys, h5py, numpy as np, scipy.io
mat, out, ws, we, b = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:6])
cells = scipy.io.loadmat(mat)['Spikes'].flatten(order='F')  # MATLAB's linear order
neurons, repeats = cells[0].shape
nb = int(round((we - ws) / b))
counts = np.zeros((len(cells) * repeats, nb, neurons))
for s, stim in enumerate(cells):
    for r in range(repeats):
        for n in range(neurons):
            t = np.asarray(stim[n, r], dtype=float).ravel() * 1e-3
            t = t[(t >= ws) & (t < we)]
            k = np.floor((t - ws) / b).astype(np.int64)
            np.add.at(counts[s * repeats + r, :, n], k[k < nb], 1)
o = h5py.File(out, 'r')
x = o['activity'][:]
assert x.shape == counts.shape, (x.shape, counts.shape)
assert np.array_equal(x, counts), np.abs(x - counts).max()
assert np.array_equal(o['condition'][:], np.repeat(np.arange(len(cells)), repeats))
print(int(counts.sum()), (counts == 0).mean())
)";

bool HaveRetina() {
  if (!fs::exists(kRetina)) {
    WARN("shared Onken files not found at " + kRetina + "; skipped");
    return false;
  }
  bool ok = false;
  test::RunPython("import scipy.io, h5py\n", &ok);
  if (!ok) WARN("python3 with scipy and h5py not found; skipped");
  return ok;
}

void CheckAgainstNumpy(const std::string& file,
                       const std::string& window,
                       const std::string& bin) {
  test::ScratchDir dir;
  const std::string out = dir / "rec.h5";
  const std::string args = "import " + kRetina + file +
                           " --variable Spikes --time-unit ms --window " +
                           window + " --bin " + bin + " -o " + out;
  INFO(args);
  const test::RunResult r = test::RunLtr(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  { std::ofstream(dir / "check.py") << kNumpyBinning; }
  const std::string a = window.substr(0, window.find(':'));
  const std::string b = window.substr(window.find(':') + 1);
  bool ok = false;
  const std::string py =
      test::RunPython("import sys, runpy\nsys.argv = ['check', '" + kRetina +
                          file + "', '" + out + "', '" + a + "', '" + b +
                          "', '" + bin + "']\nrunpy.run_path('" +
                          (dir / "check.py") + "', run_name='__main__')\n",
                      &ok);
  INFO(py);
  CHECK(ok);
}

}  // namespace

TEST_CASE("import bins Onken's MATLAB spike cells as numpy bins loadmat's",
          "[import][real]") {
  if (!HaveRetina()) return;
  CheckAgainstNumpy("NaturalImages1.mat", "0:0.3", "0.01");
  CheckAgainstNumpy("NaturalImages1.mat", "0.05:0.25", "0.02");
  CheckAgainstNumpy("Shifts1.mat", "0:0.31", "0.01");
  CheckAgainstNumpy("Shifts1.mat", "-0.01:0.29", "0.05");
}

TEST_CASE("import reads a MATLAB array in the order --axes names", "[import]") {
  bool ok = false;
  test::RunPython("import scipy.io\n", &ok);
  if (!ok) {
    WARN("python3 with scipy not found; skipped");
    return;
  }
  test::ScratchDir dir;
  const std::string mat = dir / "a.mat", out = dir / "rec.h5";
  const std::string make =
      "import numpy as np, scipy.io\n"
      "x = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)  # time, neuron, "
      "trial\n"
      "scipy.io.savemat('" +
      mat + "', {'data': x, 'other': 1.0})\n";
  test::RunPython(make, &ok);
  REQUIRE(ok);
  const test::RunResult r = test::RunLtr("import " + mat +
                                         " --variable data --axes "
                                         "time,neuron,trial --dt 0.5 -o " +
                                         out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string check =
      "import numpy as np, h5py\n"
      "x = np.arange(24, dtype=float).reshape(2, 3, 4)\n"
      "o = h5py.File('" +
      out +
      "', 'r')\n"
      "assert np.array_equal(o['activity'][:], x.transpose(2, 0, 1))\n"
      "assert o.attrs['dt'] == 0.5\n";
  test::RunPython(check, &ok);
  CHECK(ok);
  const test::RunResult two = test::RunLtr("import " + mat + " -o " + out);
  CHECK(two.exit_code == 1);
  CHECK(two.err.find("name one with --variable") != std::string::npos);
}

}  // namespace ltr
