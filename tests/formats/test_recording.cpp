// The recording reader: axes in any stored order, companion datasets beside
// the activity, boolean masks, label columns, and the held-out split a fit
// is given and writes.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/decompose/crossval.h"
#include "ltr/fit/fit.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ltr;
using Catch::Matchers::Contains;

namespace {

using Order = std::array<int, 3>;  // canonical position of each stored axis

// 7 trials x 6 bins x 5 neurons with 2 inputs, a mask with holes and
// condition labels; every value distinct so that a wrong transpose shows.
Recording Canonical() {
  Recording r;
  r.activity = Tensor3(7, 6, 5);
  Rng rng(11);
  for (double& v : r.activity.values()) v = 0.3 * rng.Normal();
  r.inputs = Tensor3(7, 6, 2);
  for (double& v : r.inputs.values()) v = rng.Normal();
  r.mask = Mask3(7, 6, 5, 1);
  (*r.mask)(1, 2, 3) = 0;
  (*r.mask)(6, 0, 4) = 0;
  (*r.mask)(3, 5, 0) = 0;
  r.condition = {0, 1, 0, 1, 2, 2, 0};
  return r;
}

// x (canonical) as stored in `order`.
template <typename T>
DenseTensor3<T> Stored(const DenseTensor3<T>& x, const Order& order) {
  DenseTensor3<T> y(x.dim(order[0]), x.dim(order[1]), x.dim(order[2]));
  Index at[3];
  for (Index i = 0; i < y.dim(0); ++i)
    for (Index j = 0; j < y.dim(1); ++j)
      for (Index k = 0; k < y.dim(2); ++k) {
        at[order[0]] = i;
        at[order[1]] = j;
        at[order[2]] = k;
        y(i, j, k) = x(at[0], at[1], at[2]);
      }
  return y;
}

// The recording stored with its activity in `order` (attribute `axes`,
// none when empty), the mask in the same order without an attribute, the
// inputs as (input, trial, time) with their own attribute.
void WritePermuted(const std::string& path,
                   const Recording& r,
                   const Order& order,
                   const std::string& axes) {
  io::OutputFile out(path, "test");
  out.WriteTensor3("/activity", Stored(r.activity, order), axes);
  if (r.mask) out.WriteMask3("/mask", Stored(*r.mask, order), "");
  if (!r.inputs.empty())
    out.WriteTensor3(
        "/inputs", Stored(r.inputs, {2, 0, 1}), "input,trial,time");
  if (!r.condition.empty())
    out.WriteIntVector("/condition", r.condition, "trial");
  out.SetAttribute("/", "dt", r.dt);
  out.Commit();
}

void WriteCanonical(const std::string& path, const Recording& r) {
  io::OutputFile out(path, "test");
  WriteRecording(r, &out);
  out.Commit();
}

void CheckSame(const Recording& a, const Recording& b) {
  REQUIRE(a.activity.dims() == b.activity.dims());
  CHECK(a.activity.values() == b.activity.values());
  REQUIRE(a.inputs.dims() == b.inputs.dims());
  CHECK(a.inputs.values() == b.inputs.values());
  REQUIRE(a.mask.has_value() == b.mask.has_value());
  if (a.mask) CHECK(a.mask->values() == b.mask->values());
  CHECK(a.condition == b.condition);
}

RecordingSource Source(const std::string& file,
                       const std::string& activity = "/activity") {
  RecordingSource s;
  s.file = file;
  s.activity = activity;
  return s;
}

}  // namespace

TEST_CASE("a recording stored in another axis order reads as the canonical one",
          "[recording]") {
  test::ScratchDir dir;
  const Recording r = Canonical();
  WriteCanonical(dir / "canonical.h5", r);
  const Recording canonical = ReadRecording(dir / "canonical.h5");
  CheckSame(canonical, r);
  for (const auto& [axes, order] : std::vector<std::pair<std::string, Order>>{
           {"trial,neuron,time", {0, 2, 1}},
           {"time,neuron,trial", {1, 2, 0}},
           {"Trials, Cells, Time bins", {0, 2, 1}},
           {"frames x units x trials", {1, 2, 0}}}) {
    INFO(axes);
    const std::string file = dir / "permuted.h5";
    fs::remove(file);
    WritePermuted(file, r, order, axes);
    RecordingReadReport report;
    CheckSame(ReadRecording(Source(file), &report), r);
    CHECK(report.axes_from == "attribute");
    CHECK_THAT(report.Line(),
               Contains("7 trials x 6 time bins x 5 neurons (stored"));
  }
  // Without an attribute the activity is taken as trial,time,neuron.
  const std::string bare = dir / "bare.h5";
  WritePermuted(bare, r, {0, 1, 2}, "");
  RecordingReadReport report;
  CheckSame(ReadRecording(Source(bare), &report), r);
  CHECK(report.axes_from == "assumed");
}

TEST_CASE("the axes option overrides a wrong or missing axes attribute",
          "[recording]") {
  test::ScratchDir dir;
  const Recording r = Canonical();
  // Stored trial,neuron,time but labelled as the canonical order.
  WritePermuted(dir / "mislabelled.h5", r, {0, 2, 1}, "trial,time,neuron");
  WritePermuted(dir / "bare.h5", r, {0, 2, 1}, "");
  for (const char* name : {"mislabelled.h5", "bare.h5"}) {
    INFO(name);
    RecordingSource s = Source(dir / name);
    s.axes = "trial,neuron,time";
    RecordingReadReport report;
    CheckSame(ReadRecording(s, &report), r);
    CHECK(report.axes_from == "given");
    // As labelled, the activity would be 7 x 5 x 6; the inputs, with
    // their own attribute, show the mistake.
    CHECK_THROWS_WITH(
        ReadRecording(dir / name),
        Contains("/inputs is 7 x 6 x 2") && Contains("activity is 7 x 5 x 6"));
  }
}

TEST_CASE(
    "axes that cannot be mapped are refused with the axes the dataset has",
    "[recording]") {
  test::ScratchDir dir;
  const Recording r = Canonical();
  for (const auto& [axes, why] :
       std::vector<std::pair<std::string, std::string>>{
           {"a,b,c", "'a' is not an axis name"},
           {"trial,time,time", "'time' and 'time' are both time"},
           {"trial,time,foo", "'foo' is not an axis name"},
           {"trial,bins,time", "'bins' and 'time' are both time"},
           {"trial,time", "2 names, expected 3"}}) {
    INFO(axes);
    const std::string file = dir / "bad.h5";
    fs::remove(file);
    WritePermuted(file, r, {0, 1, 2}, axes);
    try {
      ReadRecording(file);
      FAIL("no error");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK_THAT(m,
                 Contains("'/activity'") && Contains("has axes '" + axes) &&
                     Contains(why) && Contains("--axes"));
      CHECK(m.find('\n') == std::string::npos);
    }
  }
  CHECK_THROWS_WITH(RecordingAxes("trial,time,input"),
                    Contains("'input' is not an axis name"));
  CHECK(RecordingAxes("input,trial,time", true) == Order{2, 0, 1});
  // A companion's own unmappable attribute is named too.
  {
    io::OutputFile out(dir / "inputs.h5", "test");
    out.WriteTensor3("/activity", r.activity, "trial,time,neuron");
    out.WriteTensor3("/inputs", r.inputs, "trial,time,neuron");
    out.Commit();
  }
  CHECK_THROWS_WITH(ReadRecording(dir / "inputs.h5"),
                    Contains("'/inputs'") && Contains("'neuron' is not"));
  // The command: exit 1 for the file, 2 for a malformed --axes.
  const std::string out = dir / "out.h5";
  auto fit = test::RunLtr("fit " + dir / "bad.h5" + " --rank 1 -o " + out);
  CHECK(fit.exit_code == 1);
  CHECK(test::CountLines(fit.err) == 1);
  CHECK_THAT(fit.err, Contains("has axes 'trial,time'"));
  auto option = test::RunLtr("fit " + dir / "bad.h5" +
                             " --axes trial,time,blob --rank 1 -o " + out);
  CHECK(option.exit_code == 2);
  CHECK_THAT(option.err, Contains("--axes") && Contains("'blob'"));
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("fit and simulate agree on a transposed recording", "[recording]") {
  test::ScratchDir dir;
  const Recording r = Canonical();
  WriteCanonical(dir / "canonical.h5", r);
  WritePermuted(dir / "tnt.h5", r, {0, 2, 1}, "trial,neuron,time");
  WritePermuted(dir / "bare.h5", r, {1, 2, 0}, "");
  const std::string fit =
      " --model ltr --rank 2 --max-iters 5 --threads 1 --seed 3 -o ";
  auto a = test::RunLtr("fit " + dir / "canonical.h5" + fit + dir / "a.h5");
  auto b = test::RunLtr("fit " + dir / "tnt.h5" + fit + dir / "b.h5");
  auto c = test::RunLtr("fit " + dir / "bare.h5" + " --axes time,neuron,trial" +
                        fit + dir / "c.h5");
  INFO(a.err << b.err << c.err);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  REQUIRE(c.exit_code == 0);
  CHECK_THAT(b.out, Contains("stored trial,neuron,time: its axes attribute"));
  CHECK_THAT(c.out, Contains("stored time,neuron,trial: as --axes says"));
  // The same fit, bit for bit (the model, /fit and /heldout).
  test::CheckSameFiles(dir / "a.h5", dir / "b.h5", {"input"});
  test::CheckSameFiles(dir / "a.h5", dir / "c.h5", {"input"});

  // simulate --inputs reads the transposed inputs as fit does.
  auto s1 = test::RunLtr("simulate " + dir / "a.h5" + " --inputs " +
                         dir / "canonical.h5" + " -o " + dir / "s1.h5");
  auto s2 = test::RunLtr("simulate " + dir / "a.h5" + " --inputs " +
                         dir / "tnt.h5" + " -o " + dir / "s2.h5");
  INFO(s1.err << s2.err);
  REQUIRE(s1.exit_code == 0);
  REQUIRE(s2.exit_code == 0);
  const Tensor3 x1 = io::ReadTensor3(dir / "s1.h5", "/activity");
  CHECK(x1.dims() == Dims{7, 6, 5});
  CHECK(x1.values() == io::ReadTensor3(dir / "s2.h5", "/activity").values());
  CHECK(io::ReadTensor3(dir / "s2.h5", "/inputs").values() ==
        r.inputs.values());
  CHECK_THAT(test::RunLtr("pipeline --help").out, Contains("--axes"));
}

TEST_CASE("companions are the activity's siblings, or named anywhere",
          "[recording]") {
  test::ScratchDir dir;
  const Recording r = Canonical();
  const std::string file = dir / "sessions.h5";
  {
    io::OutputFile out(file, "test");
    out.WriteTensor3("/session1/activity", r.activity, "trial,time,neuron");
    out.WriteIntVector("/session1/condition", r.condition, "trial");
    out.WriteMask3("/session1/observed", *r.mask, "trial,time,neuron");
    out.WriteTensor3("/session2/activity", r.activity, "trial,time,neuron");
    // Root datasets of another session (wrong for session1).
    out.WriteIntVector("/condition", {5, 5, 5, 5, 5, 5, 5}, "trial");
    out.WriteMask3("/mask", Mask3(7, 6, 4, 1), "trial,time,neuron");
    out.WriteTensor3("/activity", Tensor3(3, 6, 5), "trial,time,neuron");
    out.SetAttribute("/session1", "dt", 0.02);
    out.Commit();
  }
  RecordingReadReport report;
  const Recording s1 =
      ReadRecording(Source(file, "/session1/activity"), &report);
  CHECK(s1.condition == r.condition);
  CHECK_FALSE(s1.mask.has_value());  // the root /mask is not its sibling
  CHECK(s1.dt == 0.02);
  CHECK(report.companions == std::vector<std::string>{"/session1/condition"});
  CHECK_THAT(
      report.Line(),
      Contains("'/session1/activity'") && Contains("with /session1/condition"));
  // The root mask is not read, with a warning naming the sibling it sought.
  REQUIRE(report.warnings.size() == 1);
  CHECK_THAT(report.warnings[0],
             Contains("'/mask' is not read") && Contains("'/session1/mask'") &&
                 Contains("--mask /mask"));

  // Relative paths: the activity from the root, companions from its group.
  RecordingSource named = Source(file, "session1/activity");
  named.mask = "observed";
  named.condition = "../session1/./condition";
  const Recording s1b = ReadRecording(named, &report);
  CHECK(report.activity == "/session1/activity");
  REQUIRE(s1b.mask.has_value());
  CHECK(s1b.mask->values() == r.mask->values());
  CHECK(s1b.condition == r.condition);
  CHECK(report.warnings.empty());
  // An absolute companion path is taken as it is.
  RecordingSource root_labels = Source(file, "/session2/activity");
  root_labels.condition = "/condition";
  CHECK(ReadRecording(root_labels).condition ==
        std::vector<std::int64_t>(7, 5));
  CHECK(CompanionPath("/s1/activity", "mask") == "/s1/mask");
  CHECK(CompanionPath("/s1/activity", "../mask") == "/mask");
  CHECK(CompanionPath("/s1/activity", "/x/y") == "/x/y");
  CHECK(CompanionPath("/activity", "mask") == "/mask");
  CHECK(CompanionPath("/", "s1//activity") == "/s1/activity");

  // A named companion must exist; the error lists what there is.
  RecordingSource missing = Source(file, "/session1/activity");
  missing.condition = "labels";
  CHECK_THROWS_WITH(ReadRecording(missing),
                    Contains("no dataset '/session1/labels'") &&
                        Contains("its 1-D datasets are: /condition (7), "
                                 "/session1/condition (7)"));
  // A missing activity: the 3-way datasets, with their shapes.
  CHECK_THROWS_WITH(
      ReadRecording(Source(file, "/session3/activity")),
      Contains("no dataset '/session3/activity' in '" + file +
               "'; its 3-way datasets are: /activity (3 x 6 x 5), "
               "/mask (7 x 6 x 4), /session1/activity (7 x 6 x 5), "
               "/session1/observed (7 x 6 x 5), /session2/activity (7 x 6 x "
               "5)"));
  CHECK_THROWS_WITH(
      ReadRecording(Source(file, "/session1")),
      Contains("'/session1' in '" + file + "' is a group, not a dataset"));

  // The command reads the sibling and says so.
  const std::string out = dir / "m.h5";
  auto fit = test::RunLtr("fit " + file +
                          " --dataset /session1/activity --rank 1 "
                          "--max-iters 2 --threads 1 -o " +
                          out);
  INFO(fit.err);
  REQUIRE(fit.exit_code == 0);
  CHECK_THAT(fit.out, Contains("with /session1/condition"));
  CHECK_THAT(fit.err, Contains("ltr fit: warning: '/mask' is not read"));
  // Conditions 0..2 of the sibling, not the root's label 5.
  CHECK(io::ReadMatrix(out, "/model/x0").rows() == 3);
  auto bad = test::RunLtr("fit " + file +
                          " --dataset /session1/activity --epoch nope "
                          "--rank 1 -o " +
                          dir / "n.h5");
  CHECK(bad.exit_code == 1);
  CHECK(test::CountLines(bad.err) == 1);
  CHECK_THAT(bad.err, Contains("no dataset '/session1/nope'"));
}

TEST_CASE("boolean and enum masks and label columns are accepted",
          "[recording]") {
  test::ScratchDir dir;
  const Recording r = Canonical();
  const std::string file = dir / "labels.h5";
  {
    io::OutputFile out(file, "test");
    out.WriteTensor3("/activity", r.activity, "trial,time,neuron");
    Matrix column(7, 1), wide(7, 2);
    for (Index k = 0; k < 7; ++k)
      column(k, 0) = static_cast<double>(r.condition[k]);
    wide.setZero();
    out.WriteMatrix("/condition", column);
    out.WriteMatrix("/wide", wide);
    out.Commit();
  }
  CHECK(ReadRecording(file).condition == r.condition);
  RecordingSource wide = Source(file);
  wide.condition = "/wide";
  CHECK_THROWS_WITH(
      ReadRecording(wide),
      Contains("'/wide'") && Contains("(7, 2)") && Contains("(n, 1) column"));

  if (!test::HavePythonH5py()) {
    WARN("python3 with h5py not available: bool and enum masks not tested");
    return;
  }
  // h5py's bool (an enum over int8), an enum over int16, a float mask, and
  // an axes attribute written as a list of str.
  const std::string h5py_file = dir / "h5py.h5";
  WriteCanonical(dir / "canonical.h5", r);
  bool ok = false;
  test::RunPython(
      "import h5py, numpy as np\n"
      "src = h5py.File('" +
          dir / "canonical.h5" +
          "', 'r')\n"
          "m = src['mask'][()]\n"
          "with h5py.File('" +
          h5py_file +
          "', 'w') as f:\n"
          "    a = f.create_dataset('activity',"
          " data=src['activity'][()].transpose(2, 0, 1))\n"
          "    a.attrs['axes'] = ['neurons', 'trials', 'time']\n"
          "    f['bool'] = (m != 0).transpose(2, 0, 1)\n"
          "    e = h5py.enum_dtype({'MISSING': 0, 'SEEN': 1}, basetype='i2')\n"
          "    f.create_dataset('enum', data=m.transpose(2, 0, 1).astype('i2'),"
          " dtype=e)\n"
          "    f['float'] = m.transpose(2, 0, 1).astype('f4')\n"
          "    f['text'] = np.full((5, 7, 6), b'y')\n"
          "    f['condition'] = src['condition'][()].reshape(7, 1)\n",
      &ok);
  REQUIRE(ok);
  for (const char* mask : {"bool", "enum", "float"}) {
    INFO(mask);
    RecordingSource s = Source(h5py_file);
    s.mask = mask;
    const Recording read = ReadRecording(s);
    CheckSame(read, Recording{r.activity, Tensor3(), r.mask, r.condition});
    CHECK(ReadRecordingMask(s, mask, r.activity.dims()).values() ==
          r.mask->values());
  }
  RecordingSource text = Source(h5py_file);
  text.mask = "text";
  CHECK_THROWS_WITH(ReadRecording(text),
                    Contains("'/text'") &&
                        Contains("is string, expected numeric or boolean"));
  CHECK(io::ReadMask3(h5py_file, "/bool").values() ==
        io::ReadMask3(h5py_file, "/float").values());
  // decompose takes a relative, boolean --mask too.
  auto d =
      test::RunLtr("decompose " + h5py_file +
                   " --rank 1 --mask bool --max-iters 3 -o " + dir / "d.h5");
  INFO(d.err);
  CHECK(d.exit_code == 0);
}

TEST_CASE("a given held-out split replaces the automatic one", "[recording]") {
  Mask3 observed(4, 3, 2, 1);
  observed(0, 0, 0) = 0;
  HoldOutOptions o;
  o.scheme = HoldOut::kGiven;
  std::string error;
  CHECK_FALSE(o.IsValid(&error));
  o.test_mask = Mask3(4, 3, 2, 0);
  (*o.test_mask)(0, 0, 0) = 1;  // unobserved: neither
  (*o.test_mask)(1, 2, 1) = 1;
  (*o.test_mask)(3, 0, 0) = 7;  // any nonzero value
  const HoldOutMasks m = MakeHoldOutMasks(o, observed.dims(), &observed);
  Index test = 0, train = 0;
  for (Index n = 0; n < observed.size(); ++n) {
    test += m.test.values()[n];
    train += m.train.values()[n];
    CHECK(m.test.values()[n] + m.train.values()[n] == observed.values()[n]);
  }
  CHECK(test == 2);
  CHECK(train == 21);
  CHECK(m.test(1, 2, 1) == 1);
  CHECK(m.test(0, 0, 0) == 0);
  CHECK(m.train(0, 0, 0) == 0);
  o.test_mask = Mask3(4, 3, 2, 0);
  CHECK_THROWS_WITH(MakeHoldOutMasks(o, observed.dims(), &observed),
                    Contains("no observed entry"));
  o.test_mask = Mask3(4, 3, 3, 1);
  CHECK_THROWS_WITH(MakeHoldOutMasks(o, observed.dims(), &observed),
                    Contains("4 x 3 x 3"));
}

TEST_CASE(
    "fit --test-mask scores on the given entries and /heldout records them",
    "[recording]") {
  test::ScratchDir dir;
  Recording r = Canonical();
  // A time course shared by the trials, plus noise: something a fit from
  // one initial state can learn (pure noise is refused as a fit no better
  // than the neurons' means).
  r.activity = Tensor3(24, 12, 6);
  Rng rng(4);
  for (Index k = 0; k < 24; ++k)
    for (Index t = 0; t < 12; ++t)
      for (Index n = 0; n < 6; ++n)
        r.activity(k, t, n) =
            0.5 * std::sin(0.5 * static_cast<double>(t + 2 * n)) +
            0.05 * rng.Normal();
  r.inputs = Tensor3();
  r.mask = Mask3(24, 12, 6, 1);
  (*r.mask)(2, 3, 4) = 0;
  r.condition.clear();
  WriteCanonical(dir / "data.h5", r);
  // The same recording stored trial,neuron,time: a mask from the first fit
  // (canonical order, its own axes attribute) still lines up.
  WritePermuted(dir / "tnt.h5", r, {0, 2, 1}, "trial,neuron,time");
  const std::string opts = " --rank 2 --max-iters 40 --threads 1 ";
  const std::string first = dir / "first.h5", second = dir / "second.h5";
  auto a = test::RunLtr("fit " + dir / "data.h5" + opts + "-o " + first);
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  const Mask3 train1 = io::ReadMask3(first, "/heldout/train_mask");
  const Mask3 test1 = io::ReadMask3(first, "/heldout/test_mask");
  CHECK(io::DatasetShape(first, "/heldout/test_mask") ==
        std::vector<Index>{24, 12, 6});
  CHECK(io::ReadStringAttribute(first, "/heldout/test_mask", "axes") ==
        "trial,time,neuron");
  for (const io::DatasetInfo& d : io::Describe(first).datasets)
    if (d.path.rfind("/heldout/", 0) == 0) CHECK(d.dtype == "uint8");
  Index held = 0, guard = 0;
  for (Index n = 0; n < test1.size(); ++n) {
    CHECK(train1.values()[n] + test1.values()[n] <= r.mask->values()[n]);
    held += test1.values()[n];
    guard += r.mask->values()[n] - train1.values()[n] - test1.values()[n];
  }
  CHECK(test1(2, 3, 4) == 0);
  CHECK(held == static_cast<Index>(
                    io::ReadDoubleAttribute(first, "/fit", "test_entries")));
  CHECK(held > 0);
  CHECK(guard > 0);  // the blocks' guard ring

  auto b =
      test::RunLtr("fit " + dir / "tnt.h5" + opts + "--seed 9 --test-mask " +
                   first + ":/heldout/test_mask -o " + second);
  INFO(b.err);
  REQUIRE(b.exit_code == 0);
  const Mask3 test2 = io::ReadMask3(second, "/heldout/test_mask");
  const Mask3 train2 = io::ReadMask3(second, "/heldout/train_mask");
  CHECK(test2.values() == test1.values());
  for (Index n = 0; n < test2.size(); ++n)
    CHECK(train2.values()[n] ==
          (r.mask->values()[n] && !test1.values()[n] ? 1 : 0));
  CHECK(io::ReadDoubleAttribute(second, "/fit", "test_entries") == held);
  // The held-out loss is the data term on exactly those entries: 1/2 the
  // mean squared error of the model's prediction.
  const FittedModel model = ReadModel(second);
  const Tensor3 y = Predict(model, r);
  double sum = 0;
  for (Index n = 0; n < y.size(); ++n)
    if (test1.values()[n]) {
      const double e = y.values()[n] - r.activity.values()[n];
      sum += 0.5 * e * e;
    }
  CHECK(io::ReadDoubleAttribute(second, "/fit", "test_loss") ==
        Approx(sum / static_cast<double>(held)).epsilon(1e-9));

  // A rank sweep shares one split and writes it too.
  auto sweep = test::RunLtr("fit " + dir / "data.h5" +
                            " --ranks 1:2 --max-iters 3 --threads 1 -o " +
                            dir / "sweep.h5");
  INFO(sweep.err);
  REQUIRE(sweep.exit_code == 0);
  CHECK(io::ReadMask3(dir / "sweep.h5", "/heldout/test_mask").values() ==
        test1.values());
  auto given_sweep =
      test::RunLtr("fit " + dir / "data.h5" +
                   " --ranks 1:2 --max-iters 3 --threads 1 "
                   "--test-mask " +
                   first + ":/heldout/test_mask -o " + dir / "gs.h5");
  INFO(given_sweep.err);
  REQUIRE(given_sweep.exit_code == 0);
  CHECK(io::ReadMask3(dir / "gs.h5", "/heldout/test_mask").values() ==
        test1.values());

  // Refused: with --held-out (a bad command line), of another shape, or
  // missing, each in one line and without output.
  const std::string out = dir / "refused.h5";
  {
    io::OutputFile f(dir / "short.h5", "test");
    f.WriteTensor3("/activity", r.activity, "trial,time,neuron");
    f.WriteMask3("/tm", Mask3(24, 12, 5, 1), "trial,time,neuron");
    f.Commit();
  }
  for (const auto& [args, code, message] :
       std::vector<std::tuple<std::string, int, std::string>>{
           {dir / "data.h5" + " --held-out neurons --test-mask " + first +
                ":/heldout/test_mask",
            2,
            "drop --held-out"},
           {dir / "short.h5" + " --test-mask tm",
            1,
            "mask '/tm' in '" + dir / "short.h5" +
                "' is 24 x 12 x 5 (trial x time x neuron), expected the "
                "activity's 24 x 12 x 6"},
           {dir / "data.h5" + " --test-mask /nope", 1, "no dataset '/nope'"},
           {dir / "data.h5" + " --test-mask " + dir / "absent.h5" + ":/m",
            1,
            "absent.h5"}}) {
    auto run = test::RunLtr("fit " + args + opts + "-o " + out);
    INFO(args << "\n" << run.err);
    CHECK(run.exit_code == code);
    CHECK(test::CountLines(run.err) == 1);
    CHECK_THAT(run.err, Contains(message));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("plot draws a transposed recording as the canonical one",
          "[recording]") {
  test::ScratchDir dir;
  const Recording r = Canonical();
  WriteCanonical(dir / "canonical.h5", r);
  WritePermuted(dir / "tnt.h5", r, {1, 2, 0}, "time,neuron,trial");
  for (const char* name : {"canonical", "tnt"}) {
    fs::create_directory(dir / name);
    auto plot = test::RunLtr("plot " + dir / (std::string(name) + ".h5") +
                             " --format svg -o " + dir / name);
    INFO(plot.err);
    if (plot.exit_code != 0 && plot.err.find("gnuplot") != std::string::npos) {
      WARN("gnuplot not available: not compared");
      return;
    }
    REQUIRE(plot.exit_code == 0);
  }
  for (const char* figure :
       {"recording_mean_activity.svg", "recording_trial_average_heatmap.svg"}) {
    INFO(figure);
    const std::string a = test::ReadText(dir / "canonical" + "/" + figure);
    CHECK_FALSE(a.empty());
    CHECK(a == test::ReadText(dir / "tnt" + "/" + figure));
  }
}

TEST_CASE("a recording's labels read without its activity", "[recording]") {
  test::ScratchDir dir;
  const std::string file = dir / "r.h5";
  Recording r = Canonical();
  r.dt = 0.025;
  r.epoch.assign(static_cast<size_t>(r.trials()), 1);
  {
    io::OutputFile out(file, "test");
    WriteRecording(r, &out);
    out.SetAttribute("/", "input", "source.h5");
    out.Commit();
  }
  CHECK(HasRecording(file));
  const RecordingLabels labels = ReadRecordingLabels(file);
  REQUIRE(labels.epoch.has_value());
  CHECK(*labels.epoch == r.epoch);
  CHECK(labels.dt == 0.025);
  CHECK(labels.input == "source.h5");
  const std::string bare = dir / "bare.h5";
  {
    io::OutputFile out(bare, "test");
    out.WriteVector("/v", Vector::Ones(2));
    out.Commit();
  }
  CHECK_FALSE(HasRecording(bare));
  const RecordingLabels none = ReadRecordingLabels(bare);
  CHECK_FALSE(none.epoch.has_value());
  CHECK(none.dt == 0.0);
  CHECK(none.input.empty());
}
