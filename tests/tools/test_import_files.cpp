// ltr import on crafted files: NWB-like files that break the schema (each
// refused with one line and no output), NaN alignments dropped with a
// count, and .npy/.npz arrays written by numpy read back exactly.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "ltr/formats/io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace ltr {
namespace {

// A small valid NWB-like file (3 units, a 4-trial table) and broken copies.
const char* kCraft = R"(
import h5py, numpy as np, sys
d = sys.argv[1]
def good(path, index=(3, 5, 9), stop=None, table=True, start=(0.0, 1.0, np.nan, 3.0)):
    f = h5py.File(path, 'w')
    f.attrs['nwb_version'] = '2.4.0'
    u = f.create_group('units')
    u['spike_times'] = np.array([0.1, 0.5, 1.2, 0.05, 3.3, 0.2, 1.1, 1.15, 3.9])
    u['spike_times_index'] = np.array(index, dtype=np.uint8)
    u['id'] = np.array([10, 11, 12])
    if table:
        t = f.create_group('intervals/trials')
        t['id'] = np.arange(4)
        t['start_time'] = np.array(start)
        t['stop_time'] = np.array(stop if stop is not None else [0.9, 1.9, 2.9, 3.9])
        t['kind'] = np.array(['b', 'a', 'b', 'c'], dtype=h5py.string_dtype())
        t['go_time'] = np.array([0.1, 1.1, 2.1, 3.1])
        t['tags'] = np.array([1, 2, 3, 4, 5]); t['tags_index'] = np.array([1, 2, 4, 5])
    ts = np.arange(40) * 0.1
    f['acquisition/rate/data'] = np.stack([ts, 2 * ts], axis=1)
    f['acquisition/rate/timestamps'] = ts
    f['acquisition/back/data'] = np.zeros(3)
    f['acquisition/back/timestamps'] = np.array([0.0, 2.0, 1.0])
    f['acquisition/short/data'] = np.zeros(3)
    f['acquisition/short/timestamps'] = np.array([0.0, 2.0])
    return f
good(d + '/good.nwb').close()
good(d + '/past_end.nwb', index=(3, 5, 12)).close()
good(d + '/decreasing.nwb', index=(5, 3, 9)).close()
good(d + '/lengths.nwb', stop=[0.9, 1.9, 2.9]).close()
good(d + '/no_tables.nwb', table=False).close()
f = good(d + '/nan_spike.nwb'); f['units/spike_times'][1] = np.nan; f.close()
f = h5py.File(d + '/no_units.nwb', 'w'); f.attrs['nwb_version'] = '2.4.0'; f.close()
)";

struct Fixture {
  test::ScratchDir dir;
  bool ok = false;
  Fixture() {
    if (!test::HavePythonH5py()) return;
    const std::string py =
        test::RunPython(std::string("import sys\nsys.argv = ['c', '") +
                            dir.path() + "']\n" + kCraft,
                        &ok);
    INFO(py);
    REQUIRE(ok);
  }
  std::string operator/(const std::string& name) const { return dir / name; }
};

// Runs `args` with -o OUT and checks: exit 1, one line containing `what`,
// no OUT.
void CheckRefused(const Fixture& f,
                  const std::string& args,
                  const std::string& what) {
  const std::string out = f / "out.h5";
  const test::RunResult r = test::RunLtr("import " + args + " -o " + out);
  INFO(args);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(test::CountLines(r.err) == 1);
  CHECK_THAT(r.err, Contains(what));
  CHECK(!fs::exists(out));
}

}  // namespace

TEST_CASE("import refuses NWB files that break the schema", "[import]") {
  Fixture f;
  if (!f.ok) {
    WARN("python3 with h5py not found; skipped");
    return;
  }
  const std::string w = " --window 0:1";
  CheckRefused(f,
               f / "past_end.nwb" + w,
               "entry 2 (12) in '" + f / "past_end.nwb" +
                   "' is past the end of /units/spike_times (9 spikes)");
  CheckRefused(f, f / "decreasing.nwb" + w, "decreases (after 5)");
  CheckRefused(f,
               f / "lengths.nwb" + w,
               "column 'stop_time' has 3 rows but id has 4 (columns of "
               "different lengths)");
  CheckRefused(f, f / "no_units.nwb" + w, "has no /units");
  CheckRefused(f,
               f / "good.nwb --table encoding" + w,
               "no table 'encoding' in /intervals of '" + f / "good.nwb" +
                   "'; its tables are: trials");
  CheckRefused(f, f / "no_tables.nwb" + w, "(--table none bins");
  CheckRefused(f,
               f / "good.nwb --align cue_time" + w,
               "has no column 'cue_time'; its columns are: go_time, kind, "
               "start_time, stop_time, tags");
  CheckRefused(f, f / "good.nwb --align kind" + w, "is a string column");
  CheckRefused(f, f / "good.nwb --condition-column tags" + w, "is ragged");
  CheckRefused(f, f / "good.nwb --units 10,13" + w, "no unit with id 13");
  CheckRefused(f, f / "good.nwb", "give --window A:B");
  CheckRefused(f, f / "good.nwb --window 0:1 --bin 3", "holds no bin");
  CheckRefused(f,
               f / "good.nwb --window 0:1 --bin 0.3",
               "window 0:1 is 3.33333 bins of 0.3 s, not a whole number");
}

TEST_CASE("import cuts a series into the trials and masks bins without data",
          "[import]") {
  Fixture f;
  if (!f.ok) {
    WARN("python3 with h5py not found; skipped");
    return;
  }
  const std::string out = f / "series.h5";
  const test::RunResult r =
      test::RunLtr("import " + f / "good.nwb" +
                   " --series rate --window 0:1.5 --bin 0.25 -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err,
             Contains("1 of 4 trials dropped") &&
                 Contains("4 of 36 entries have no sample"));
  const Tensor3 x = io::ReadTensor3(out, "/activity");
  const Mask3 mask = io::ReadMask3(out, "/mask");
  REQUIRE(x.dims() == Dims{3, 6, 2});
  // Channel 0 is the time itself, channel 1 twice it: interpolation at the
  // bin centres gives them back.
  CHECK(x(1, 2, 0) == Approx(1.625).epsilon(1e-12));
  CHECK(x(1, 2, 1) == Approx(3.25).epsilon(1e-12));
  CHECK(x(2, 3, 0) == Approx(3.875).epsilon(1e-12));
  CHECK(mask(2, 3, 0) == 1);
  CHECK(mask(2, 4, 0) == 0);  // 4.125 s, past the last sample (3.9 s)
  CHECK(x(2, 4, 0) == 0);
  // The mean of the samples in each bin: 0.0, 0.1, 0.2 in [0, 0.25).
  const std::string mean = f / "mean.h5";
  REQUIRE(test::RunLtr("import " + f / "good.nwb" +
                       " --series rate --series-mode mean --window 0:1 --bin "
                       "0.25 -o " +
                       mean)
              .exit_code == 0);
  CHECK(io::ReadTensor3(mean, "/activity")(0, 0, 0) ==
        Approx(0.1).epsilon(1e-12));
  CheckRefused(f,
               f / "good.nwb --series back --window 0:1",
               "timestamps decrease at sample 2");
  CheckRefused(f,
               f / "good.nwb --series short --window 0:1",
               "has 3 samples but 2 timestamps");
  CheckRefused(f,
               f / "good.nwb --series nope --window 0:1",
               "its series are: /acquisition/back, /acquisition/rate, "
               "/acquisition/short");
}

TEST_CASE("import drops NaN alignments with a count and codes string columns",
          "[import]") {
  Fixture f;
  if (!f.ok) {
    WARN("python3 with h5py not found; skipped");
    return;
  }
  const std::string out = f / "good.h5";
  const test::RunResult r = test::RunLtr(
      "import " + f / "good.nwb" +
      " --window 0:1 --bin 0.25 --condition-column kind -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err ==
        "ltr import: warning: 1 of 4 trials dropped: start_time is NaN\n");
  CHECK(io::ReadIntVector(out, "/trial_id") ==
        std::vector<std::int64_t>{0, 1, 3});
  // kind b, a, c (trial 2 dropped) -> codes of the sorted names a, b, c.
  CHECK(io::ReadIntVector(out, "/condition") ==
        std::vector<std::int64_t>{1, 0, 2});
  CHECK(io::ReadStringAttribute(out, "/condition", "names") ==
        "[\"a\", \"b\", \"c\"]");
  CHECK(io::DoubleAttributeOr(out, "/import", "trials_dropped", -1) == 1);
  // Unit 10: 0.1, 0.5 in trial 0 (bins 0, 2); 1.2 in trial 1 (bin 0).
  const Tensor3 x = io::ReadTensor3(out, "/activity");
  REQUIRE(x.dims() == Dims{3, 4, 3});
  CHECK(x(0, 0, 0) == 1);
  CHECK(x(0, 2, 0) == 1);
  CHECK(x(1, 0, 0) == 1);
  // Unit 12: 1.1, 1.15 in trial 1 bin 0; 3.9 in trial 3 bin 3.
  CHECK(x(1, 0, 2) == 2);
  CHECK(x(2, 3, 2) == 1);
  CHECK(x.AsVector().sum() == 9);  // every spike of trials 0, 1 and 3
  // Rates over the 3 s kept: unit 10 1/s, 11 2/3 /s, 12 4/3 /s; the epoch
  // column coded like the condition.
  const std::string rated = f / "rated.h5";
  const test::RunResult m = test::RunLtr(
      "import " + f / "good.nwb" +
      " --window 0:1 --bin 0.25 --min-rate 1 --epoch-column kind -o " + rated);
  INFO(m.err);
  REQUIRE(m.exit_code == 0);
  CHECK_THAT(m.err, Contains("1 neurons below 1 spikes/s dropped"));
  CHECK(io::ReadIntVector(rated, "/unit_id") ==
        std::vector<std::int64_t>{10, 12});
  CHECK(io::ReadTensor3(rated, "/activity").dims() == Dims{3, 4, 2});
  CHECK(io::ReadIntVector(rated, "/epoch") ==
        std::vector<std::int64_t>{1, 0, 2});
  CHECK(io::ReadStringAttribute(rated, "/epoch", "names") ==
        "[\"a\", \"b\", \"c\"]");
  CHECK(io::ReadStringAttribute(rated, "/import", "preprocessing") ==
        "min_rate=1");
  // A NaN spike time is ignored, with a count.
  const test::RunResult nan = test::RunLtr("import " + f / "nan_spike.nwb" +
                                           " --window 0:1 -o " + f / "n.h5");
  CHECK(nan.exit_code == 0);
  CHECK_THAT(nan.err,
             Contains("warning: 1 spike times are NaN and were ignored"));
  CHECK(io::ReadTensor3(f / "n.h5", "/activity").AsVector().sum() == 8);
  // Every count zero: likely times of another clock.
  const test::RunResult z = test::RunLtr("import " + f / "good.nwb" +
                                         " --window 10:11 -o " + f / "z.h5");
  CHECK(z.exit_code == 0);
  CHECK_THAT(z.err, Contains("warning: no spike falls in any trial's window"));
}

TEST_CASE("import reads .npy and .npz arrays as numpy wrote them", "[import]") {
  test::ScratchDir dir;
  bool ok = false;
  const std::string py =
      test::RunPython("import numpy as np\nd = '" + dir.path() + R"('
x = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4) - 5.5
np.save(d + '/c_f8.npy', x)
np.save(d + '/f_f8.npy', np.asfortranarray(x))
np.save(d + '/c_f4.npy', x.astype('<f4'))
np.save(d + '/f_i4.npy', np.asfortranarray(np.round(x).astype('<i4')))
np.save(d + '/c_i8.npy', np.round(x).astype('<i8'))
np.save(d + '/c_u1.npy', np.abs(np.round(x)).astype('u1'))
np.save(d + '/c_b1.npy', x > 0)
np.save(d + '/c_i2.npy', np.round(x).astype('<i2'))
np.savez(d + '/two.npz', counts=np.asfortranarray(x), other=np.zeros(3))
np.savez_compressed(d + '/comp.npz', counts=x.astype('<f4'))
np.save(d + '/ref.npy', x)
np.save(d + '/flat.npy', np.zeros(5))
)",
                      &ok);
  if (!ok && !test::HavePythonH5py()) {
    WARN("python3 with numpy not found; skipped");
    return;
  }
  INFO(py);
  REQUIRE(ok);
  // The reference, (trial, time, neuron) = x as stored.
  auto reference = [&](const std::string& kind) {
    Tensor3 x(2, 3, 4);
    for (Index n = 0; n < x.size(); ++n) {
      double v = static_cast<double>(n) - 5.5;
      if (kind == "int") v = std::nearbyint(v);
      if (kind == "abs") v = std::abs(std::nearbyint(v));
      if (kind == "bool") v = v > 0;
      x.data()[n] = v;
    }
    return x;
  };
  const std::vector<std::pair<std::string, std::string>> files = {
      {"c_f8.npy", ""},
      {"f_f8.npy", ""},
      {"c_f4.npy", ""},
      {"f_i4.npy", "int"},
      {"c_i8.npy", "int"},
      {"c_u1.npy", "abs"},
      {"c_b1.npy", "bool"},
      {"c_i2.npy", "int"},
      {"two.npz --variable counts", ""},
      {"comp.npz", ""}};
  for (const auto& [file, kind] : files) {
    const std::string out = dir / "out.h5";
    const test::RunResult r =
        test::RunLtr("import " + dir / file + " --dt 0.1 -o " + out);
    INFO(file);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const Tensor3 x = io::ReadTensor3(out, "/activity");
    const Tensor3 want = reference(kind);
    REQUIRE(x.dims() == want.dims());
    CHECK(x.AsVector() == want.AsVector());
    CHECK(io::ReadDoubleAttribute(out, "/", "dt") == 0.1);
    fs::remove(out);
  }
  // --axes: stored neuron,time,trial is brought to trial,time,neuron.
  // Options of the other kind of input are errors, not silence (exit 2).
  const test::RunResult table = test::RunLtr(
      "import " + dir / "ref.npy" + " --table trials -o " + dir / "t.h5");
  CHECK(table.exit_code == 2);
  CHECK_THAT(table.err, Contains("--table is ignored here: it applies to NWB"));
  const std::string out = dir / "axes.h5";
  REQUIRE(test::RunLtr("import " + dir / "ref.npy" +
                       " --axes neuron,time,trial -o " + out)
              .exit_code == 0);
  const Tensor3 x = io::ReadTensor3(out, "/activity");
  const Tensor3 ref = reference("");
  REQUIRE(x.dims() == Dims{4, 3, 2});
  CHECK(x(3, 1, 0) == ref(0, 1, 3));
  CHECK(x(1, 2, 1) == ref(1, 2, 1));
  // An archive of two arrays needs --variable; a 1-D array is refused.
  const test::RunResult two =
      test::RunLtr("import " + dir / "two.npz -o " + dir / "two.h5");
  CHECK(two.exit_code == 1);
  CHECK_THAT(two.err,
             Contains("holds 2 arrays (counts, other); name one with "
                      "--variable"));
  const test::RunResult flat =
      test::RunLtr("import " + dir / "flat.npy -o " + dir / "flat.h5");
  CHECK(flat.exit_code == 1);
  CHECK_THAT(flat.err, Contains("has 1 dimensions; import needs 3"));
  CHECK(!fs::exists(dir / "two.h5"));
  CHECK(!fs::exists(dir / "flat.h5"));
}

}  // namespace ltr
