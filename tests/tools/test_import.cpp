// ltr import against numpy: the counts of an import equal a numpy binning
// of the same spike times exactly, on the shared NWB recordings, and every
// malformed file is refused with one line and no output.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "ltr/formats/io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace ltr {
namespace {

const std::string kNwb = std::string(LTR_SOURCE_DIR) + "/../shared/data/nwb/";

// Reads the NWB with h5py, cuts and bins with numpy by the convention of
// BinSpikes (bin floor((t - A) / bin) for A <= t < B, bins < round((B -
// A) / bin)), and compares every count, the bin times, trial and unit ids
// and (string or numeric) condition codes with OUT exactly.
const char* kNumpyBinning = R"(
import sys, h5py, numpy as np
nwb, out, table, align, window, b, units, cond = sys.argv[1:9]
b = float(b)
f = h5py.File(nwb, 'r'); o = h5py.File(out, 'r')
st = f['units/spike_times'][:]
idx = f['units/spike_times_index'][:].astype(np.int64)
ids = f['units/id'][:].astype(np.int64)
starts = np.concatenate([[0], idx[:-1]])
pick = list(range(len(ids))) if units == '-' else \
    [list(ids).index(int(u)) for u in units.split(',')]
if table == 'none':
    aligns = np.array([0.0]); trial_ids = np.array([0]); rows = np.array([0])
else:
    g = f['intervals/' + table]
    column = g[align][:]
    rows = np.nonzero(~np.isnan(column))[0]
    aligns = column[rows]; trial_ids = g['id'][:][rows]
if window == '-':
    ws = 0.0; we = (np.floor(st.max() / b) + 1) * b
else:
    ws, we = (float(v) for v in window.split(':'))
nb = int(round((we - ws) / b))
counts = np.zeros((len(aligns), nb, len(pick)))
for j, u in enumerate(pick):
    s = st[starts[u]:idx[u]]
    for i, a in enumerate(aligns):
        rel = s - a
        rel = rel[(rel >= ws) & (rel < we)]
        k = np.floor((rel - ws) / b)
        k = k[k < nb].astype(np.int64)
        np.add.at(counts[i, :, j], k, 1)
x = o['activity'][:]
assert x.shape == counts.shape, (x.shape, counts.shape)
assert np.array_equal(x, counts), np.abs(x - counts).max()
assert np.allclose(o['time'][:], ws + (np.arange(nb) + 0.5) * b, rtol=0, atol=1e-9)  # centres
assert np.array_equal(o['trial_id'][:], trial_ids)
assert np.array_equal(o['unit_id'][:], ids[pick])
assert np.array_equal(o['alignment_time'][:], aligns)
assert o.attrs['dt'] == b
if cond != '-':
    c = f['intervals/' + table + '/' + cond][:][rows]
    if c.dtype.kind in 'OS':
        c = [v.decode() if isinstance(v, bytes) else v for v in c]
        names = sorted(set(c))
        import json
        assert json.loads(o['condition'].attrs['names']) == names
        c = np.array([names.index(v) for v in c])
    assert np.array_equal(o['condition'][:], c)
print(int(counts.sum()), counts.shape)
)";

struct Case {
  std::string file, table, align, window, bin, units, condition;
};

void CheckAgainstNumpy(const Case& c) {
  const std::string input = kNwb + c.file;
  test::ScratchDir dir;
  const std::string out = dir / "rec.h5";
  std::string args = "import " + input + " --table " + c.table + " --bin " +
                     c.bin + " -o " + out;
  if (c.table != "none") args += " --align " + c.align;
  if (c.window != "-") args += " --window " + c.window;
  if (c.units != "-") args += " --units " + c.units;
  if (c.condition != "-") args += " --condition-column " + c.condition;
  INFO(args);
  const test::RunResult r = test::RunLtr(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string script = kNumpyBinning;
  { std::ofstream(dir / "check.py") << script; }
  bool ok = false;
  const std::string py = test::RunPython(
      "import sys, runpy\nsys.argv = ['check', '" + input + "', '" + out +
          "', '" + c.table + "', '" + c.align + "', '" + c.window + "', '" +
          c.bin + "', '" + c.units + "', '" + c.condition +
          "']\nrunpy.run_path('" + (dir / "check.py") +
          "', run_name='__main__')\n",
      &ok);
  INFO(py);
  CHECK(ok);
}

bool HaveSharedNwb() {
  if (!fs::exists(kNwb)) {
    WARN("shared NWB files not found at " + kNwb + "; skipped");
    return false;
  }
  if (!test::HavePythonH5py()) {
    WARN("python3 with h5py not found; skipped");
    return false;
  }
  return true;
}

// A TimeSeries cut by numpy: np.interp at bin centres, or the mean of the
// samples in each bin (BinSpikes' convention on the sample times); NaN
// (no sample) is 0 and masked.
const char* kNumpySeries = R"(
import sys, h5py, numpy as np
nwb, out, series, table, window, b, mode = sys.argv[1:8]
b = float(b)
f = h5py.File(nwb, 'r'); o = h5py.File(out, 'r')
g = f[series]; data = g['data'][:].astype(float)
data = data[:, None] if data.ndim == 1 else data
if 'timestamps' in g: ts = g['timestamps'][:]
else: ts = g['starting_time'][()] + np.arange(len(data)) / g['starting_time'].attrs['rate']
if table == 'none': aligns = np.array([0.0])
else: aligns = f['intervals/' + table + '/start_time'][:]
if window == '-': ws = 0.0; we = (np.floor(ts[-1] / b) + 1) * b
else: ws, we = (float(v) for v in window.split(':'))
nb = int(round((we - ws) / b))
want = np.full((len(aligns), nb, data.shape[1]), np.nan)
for i, a in enumerate(aligns):
    if mode == 'interpolate':
        centre = a + (ws + (np.arange(nb) + 0.5) * b)
        for c in range(data.shape[1]):
            want[i, :, c] = np.interp(centre, ts, data[:, c], left=np.nan, right=np.nan)
    else:
        rel = ts - a
        keep = (rel >= ws) & (rel < we)
        k = np.floor((rel[keep] - ws) / b).astype(np.int64); d = data[keep]
        d = d[k < nb]; k = k[k < nb]
        for j in np.unique(k): want[i, j, :] = d[k == j].mean(axis=0)
mask = ~np.isnan(want); want[~mask] = 0
x = o['activity'][:]
assert x.shape == want.shape, (x.shape, want.shape)
err = np.abs(x - want).max() / max(1.0, np.abs(want).max())
assert err < 1e-12, err
if mask.all(): assert 'mask' not in o
else: assert np.array_equal(o['mask'][:], mask.astype(np.uint8))
print(err, int((~mask).sum()))
)";

void CheckSeriesAgainstNumpy(const std::string& input,
                             const std::string& series,
                             const std::string& name,
                             const std::string& table,
                             const std::string& window,
                             const std::string& bin,
                             const std::string& mode) {
  test::ScratchDir dir;
  const std::string out = dir / "rec.h5";
  std::string args = "import " + input + " --series " + name + " --table " +
                     table + " --bin " + bin + " --series-mode " + mode +
                     " -o " + out;
  if (window != "-") args += " --window " + window;
  INFO(args);
  const test::RunResult r = test::RunLtr(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  { std::ofstream(dir / "check.py") << kNumpySeries; }
  bool ok = false;
  const std::string py = test::RunPython(
      "import sys, runpy\nsys.argv = ['check', '" + input + "', '" + out +
          "', '" + series + "', '" + table + "', '" + window + "', '" + bin +
          "', '" + mode + "']\nrunpy.run_path('" + (dir / "check.py") +
          "', run_name='__main__')\n",
      &ok);
  INFO(py);
  CHECK(ok);
}

}  // namespace

TEST_CASE("import cuts the septum LFP series as numpy does", "[import][real]") {
  if (!HaveSharedNwb()) return;
  const std::string f = kNwb + "septum_no_trials.nwb";
  const std::string s = "/processing/ecephys/LFP/ElectricalSeries_lfp";
  CheckSeriesAgainstNumpy(f, s, s, "none", "-", "0.01", "interpolate");
  CheckSeriesAgainstNumpy(f, s, s, "none", "0:0.08", "0.004", "mean");
  // Bins past the last sample (t = 0.0792 s) are masked.
  CheckSeriesAgainstNumpy(f,
                          s,
                          "ElectricalSeries_lfp",
                          "none",
                          "0.01:0.11",
                          "0.002",
                          "interpolate");
}

TEST_CASE("import bins the human MTL spike times as numpy does",
          "[import][real]") {
  if (!HaveSharedNwb()) return;
  const std::string f = "human_mtl_sub-4_ses-4.nwb";
  CheckAgainstNumpy({f,
                     "encoding_table",
                     "start_time",
                     "-0.5:1.5",
                     "0.05",
                     "-",
                     "stimCategory"});
  CheckAgainstNumpy({f,
                     "recognition_table",
                     "response_time",
                     "-1:0.5",
                     "0.01",
                     "0,5,34",
                     "old_new"});
  CheckAgainstNumpy(
      {f, "timediscrimination_table", "start_time", "0:1.2", "0.3", "-", "-"});
  CheckAgainstNumpy(
      {f, "encoding_table", "boundary1_time", "-0.25:0.25", "0.001", "-", "-"});
}

TEST_CASE("import bins the ALM spike times as numpy does", "[import][real]") {
  if (!HaveSharedNwb()) return;
  const std::string f = "alm_sub-anm369963_ses-20170228.nwb";
  // stop_time is NaN in every trial: tolerated, it is not used.
  CheckAgainstNumpy({f, "trials", "start_time", "-1:2", "0.02", "-", "type"});
  CheckAgainstNumpy(
      {f, "trials", "start_time", "0:7.5", "0.25", "-", "response"});
  CheckAgainstNumpy(
      {f, "trials", "start_time", "-0.3:0.7", "0.001", "-", "is_good"});
}

TEST_CASE("import bins the septum recording without trials as numpy does",
          "[import][real]") {
  if (!HaveSharedNwb()) return;
  const std::string f = "septum_no_trials.nwb";
  CheckAgainstNumpy({f, "none", "-", "-", "0.1", "-", "-"});
  CheckAgainstNumpy({f, "none", "-", "0:100", "0.5", "3,1", "-"});
  CheckAgainstNumpy({f, "none", "-", "-5:1600", "0.01", "-", "-"});
  // Without --table none the missing trials table is named, with the hint.
  test::ScratchDir dir;
  const test::RunResult r =
      test::RunLtr("import " + kNwb + f + " --window 0:1 -o " + (dir / "o.h5"));
  CHECK(r.exit_code == 1);
  CHECK(test::CountLines(r.err) == 1);
  CHECK_THAT(r.err, Contains("no table 'trials'") && Contains("--table none"));
  CHECK(!fs::exists(dir / "o.h5"));
}

}  // namespace ltr
