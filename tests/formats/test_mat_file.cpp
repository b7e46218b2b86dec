// MATLAB .mat input: the Onken retina spike cells against scipy.io.loadmat,
// numeric arrays of every class written by scipy.io.savemat (v5) and by
// h5py in MATLAB's v7.3 layout, the axis mapping onto trial x time x
// neuron, and every malformed case.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ltr/core/error.h"
#include "ltr/formats/mat_file.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ltr;
using Catch::Matchers::Contains;

namespace {

const std::string kOnken = LTR_SOURCE_DIR "/../shared/data/onken_retina/";

bool HaveScipy() {
  static const bool have = [] {
    bool ok = false;
    test::RunPython("import scipy.io, numpy, h5py\n", &ok);
    return ok;
  }();
  return have;
}

// Runs a Python script that must succeed; its stdout.
std::string Python(const std::string& script) {
  bool ok = false;
  const std::string out = test::RunPython(script, &ok);
  INFO(out);
  REQUIRE(ok);
  return out;
}

// The message of the ltr::Error `body` throws, checked to be one line.
template <typename Body>
std::string ErrorOf(Body body) {
  try {
    body();
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find('\n') == std::string::npos);
    return m;
  }
  return "no error";
}

// MATLAB's v7.3 layout written with h5py: a 512-byte userblock holding the
// MAT header (version 0x0200), dims reversed in HDF5, MATLAB_class as a
// null-terminated string (libmatio does not read h5py's default null-padded
// one), cells as object references into /#refs#, empties as their dims
// with MATLAB_empty.
const char* kV73Writer = R"PY(
import h5py, numpy as np
def setclass(obj, name, nullterm=True):
    tid = h5py.h5t.C_S1.copy(); tid.set_size(len(name))
    tid.set_strpad(h5py.h5t.STR_NULLTERM if nullterm else h5py.h5t.STR_NULLPAD)
    aid = h5py.h5a.create(obj.id, b'MATLAB_class', tid, h5py.h5s.create(h5py.h5s.SCALAR))
    aid.write(np.array(name.encode(), dtype='S%d' % len(name)), mtype=tid)
CLASS = {'float64': 'double', 'float32': 'single', 'bool': 'logical'}
def numeric(group, name, a):
    a = np.atleast_2d(np.asarray(a))
    if a.size == 0:
        d = group.create_dataset(name, data=np.array(a.shape, dtype=np.uint64))
        d.attrs['MATLAB_empty'] = np.uint8(1)
        setclass(d, 'double')
        return d
    d = group.create_dataset(name, data=(a.astype(np.uint8) if a.dtype == bool else a).T)
    setclass(d, CLASS.get(a.dtype.name, a.dtype.name))
    if a.dtype == bool: d.attrs['MATLAB_int_decode'] = np.int32(1)
    return d
COUNT = [0]
def cell(f, group, name, cells):
    refs = np.empty(cells.shape[::-1], dtype=h5py.ref_dtype)
    for idx in np.ndindex(cells.shape):
        COUNT[0] += 1
        v, sub = cells[idx], 'r%d' % COUNT[0]
        made = cell(f, f['#refs#'], sub, v) if v.dtype == object else numeric(f['#refs#'], sub, v)
        refs[idx[::-1]] = made.ref
    d = group.create_dataset(name, data=refs)
    setclass(d, 'cell')
    return d
def v73(path, write):
    with h5py.File(path, 'w', userblock_size=512) as f:
        f.require_group('#refs#')
        write(f)
    head = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Dec  1 00:00:00 2026 HDF5 schema 1.00 .'
    with open(path, 'r+b') as out:
        out.write((head.ljust(116, b' ') + b'\0' * 8 + b'\x00\x02IM').ljust(512, b'\0'))
)PY";

// Onken-style cells: 2 stimuli (2x1) of 3 neurons x 2 repeats with an
// empty trial, an unsorted vector, a column and an int16 vector.
const char* kSmallCells = R"PY(
def small_cells():
    inner = np.empty((3, 2), dtype=object)
    for n in range(3):
        for r in range(2):
            inner[n, r] = np.array([[10.0 * n + r, 2.5]])
    inner[1, 0] = np.zeros((0, 0))
    inner[2, 1] = np.array([[9.0], [1.0], [5.0]])
    second = inner.copy()
    second[0, 0] = np.array([[7, 3]], dtype=np.int16)
    outer = np.empty((2, 1), dtype=object)
    outer[0, 0], outer[1, 0] = inner, second
    return outer
)PY";

// Checks the reading of small_cells() in ms.
void CheckSmallCells(const MatSpikeImport& m) {
  REQUIRE(m.spikes.times.size() == 4);  // 2 stimuli x 2 repeats
  CHECK(m.stimulus == std::vector<std::int64_t>{0, 0, 1, 1});
  CHECK(m.repeat == std::vector<std::int64_t>{0, 1, 0, 1});
  CHECK(m.stimulus_dims == std::vector<Index>{2, 1});
  CHECK(m.spikes.unit_ids == std::vector<std::int64_t>{0, 1, 2});
  CHECK(m.spikes.trial_ids == std::vector<std::int64_t>{0, 1, 2, 3});
  REQUIRE(m.spikes.alignment_times.size() == 4);
  CHECK(std::isnan(m.spikes.alignment_times[3]));
  const auto& t = m.spikes.times;
  CHECK(t[0][0] == std::vector<double>{0.0, 2.5 * 1e-3});
  CHECK(t[0][1].empty());
  CHECK(t[1][1] == std::vector<double>{2.5 * 1e-3, 11 * 1e-3});
  CHECK(t[1][2] == std::vector<double>{1 * 1e-3, 5 * 1e-3, 9 * 1e-3});
  CHECK(t[2][0] == std::vector<double>{3 * 1e-3, 7 * 1e-3});
  CHECK(t[3][2] == t[1][2]);
}

// Every numeric class in a 2x3x4 array of distinct values (and the checks
// below): 'd' is arange(24) in C order, so a wrong order shows.
const char* kNumericArrays = R"PY(
base = np.arange(24).reshape(2, 3, 4)
arrays = {
    'd': base.astype(np.float64), 'f': (base * 0.5 - 3).astype(np.float32),
    'i8': (base - 12).astype(np.int8), 'u8': base.astype(np.uint8),
    'i16': (base - 100).astype(np.int16), 'u16': (base * 1000).astype(np.uint16),
    'i32': (base - 70000).astype(np.int32), 'u32': (base + 3000000000).astype(np.uint32),
    'i64': (base - 2**40).astype(np.int64), 'u64': (base + 2**41).astype(np.uint64),
    'b': (base % 3 == 0), 'm': base[0].astype(np.float64), 'row': np.arange(5.0),
    'col': np.arange(5.0).reshape(5, 1), 'e': np.zeros((0, 0)),
}
)PY";

// Every array of kNumericArrays as the values numpy prints, in C order.
void CheckNumericArrays(const std::string& file) {
  std::vector<double> base(24);
  for (int i = 0; i < 24; ++i) base[static_cast<size_t>(i)] = i;
  auto expect = [&](const std::string& name, double scale, double offset) {
    const DenseArray a = ReadMatArray(file, name);
    INFO(name);
    CHECK(a.dims == std::vector<Index>{2, 3, 4});
    REQUIRE(a.values.size() == 24);
    for (size_t i = 0; i < 24; ++i)
      CHECK(a.values[i] == base[i] * scale + offset);
  };
  expect("d", 1, 0);
  expect("f", 0.5, -3);
  expect("i8", 1, -12);
  expect("u8", 1, 0);
  expect("i16", 1, -100);
  expect("u16", 1000, 0);
  expect("i32", 1, -70000);
  expect("u32", 1, 3e9);
  expect("i64", 1, -0x1p40);
  expect("u64", 1, 0x1p41);
  CHECK(ReadMatArray(file, "d").type == "double");
  CHECK(ReadMatArray(file, "i16").type == "int16");
  const DenseArray b = ReadMatArray(file, "b");
  CHECK(b.type == "logical");
  for (size_t i = 0; i < 24; ++i) CHECK(b.values[i] == (i % 3 == 0 ? 1 : 0));
  const DenseArray m = ReadMatArray(file, "m");
  CHECK(m.dims == std::vector<Index>{3, 4});
  CHECK(m.values == std::vector<double>(base.begin(), base.begin() + 12));
  CHECK(ReadMatArray(file, "row").dims == std::vector<Index>{1, 5});
  CHECK(ReadMatArray(file, "col").dims == std::vector<Index>{5, 1});
  CHECK(ReadMatArray(file, "col").values == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(ReadMatArray(file, "e").values.empty());
}

}  // namespace

TEST_CASE("MAT: the Onken spike cells equal scipy.io.loadmat's, every time",
          "[formats][mat]") {
  if (!fs::exists(kOnken) || !HaveScipy()) {
    WARN("the Onken files (" + kOnken +
         ") or python3 with scipy and h5py "
         "not found; skipped");
    return;
  }
  struct Case {
    const char* file;
    std::vector<Index> stimulus_dims;
    size_t neurons, repeats;
  };
  for (const Case& c : {Case{"NaturalImages1.mat", {60, 1}, 38, 30},
                        Case{"Shifts1.mat", {9, 9}, 23, 19}}) {
    const std::string file = kOnken + c.file;
    INFO(file);
    const MatSpikeImport m = ReadMatSpikeCells(file, "Spikes", 1e-3);
    const size_t stimuli =
        static_cast<size_t>(c.stimulus_dims[0] * c.stimulus_dims[1]);
    CHECK(m.stimulus_dims == c.stimulus_dims);
    REQUIRE(m.spikes.times.size() == stimuli * c.repeats);
    REQUIRE(m.spikes.unit_ids.size() == c.neurons);
    // One line per stimulus (MATLAB's linear order), repeat and neuron:
    // s r n count times..., the times in seconds as repr prints them.
    std::istringstream lines(Python(
        "import scipy.io as sio, numpy as np\n"
        "S = sio.loadmat('" +
        file +
        "')['Spikes']\n"
        "for s, cell in enumerate(S.ravel(order='F')):\n"
        "    for r in range(cell.shape[1]):\n"
        "        for n in range(cell.shape[0]):\n"
        "            t = np.sort(cell[n, r].astype(np.float64).ravel()) * "
        "1e-3\n"
        "            print(s, r, n, t.size, *[repr(float(x)) for x in t])\n"));
    size_t rows = 0, spikes = 0, differ = 0, labels_differ = 0;
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream in(line);
      size_t s, r, n, count;
      in >> s >> r >> n >> count;
      const size_t trial = s * c.repeats + r;
      REQUIRE(trial < m.spikes.times.size());
      labels_differ += m.stimulus[trial] != static_cast<std::int64_t>(s) ||
                       m.repeat[trial] != static_cast<std::int64_t>(r);
      std::vector<double> expected(count);
      for (double& t : expected) {
        std::string text;
        in >> text;
        t = std::strtod(text.c_str(), nullptr);
      }
      differ += m.spikes.times[trial][n] != expected;
      spikes += count;
      ++rows;
    }
    CHECK(rows == stimuli * c.repeats * c.neurons);
    CHECK(differ == 0);
    CHECK(labels_differ == 0);
    CHECK(spikes == (c.neurons == 38 ? 79714u : 30938u));
  }
}

TEST_CASE("MAT: NaturalImages1 binned at 10 ms is 96.6 % zeros, as numpy",
          "[formats][mat]") {
  const std::string file = kOnken + "NaturalImages1.mat";
  if (!fs::exists(file) || !HaveScipy()) {
    WARN("the Onken files or python3 with scipy not found; skipped");
    return;
  }
  // numpy's count of zero bins: 30 bins of 10 ms over [0, 300) ms per trial
  // and neuron, on the integer millisecond times (exact).
  const std::string out = Python(
      "import scipy.io as sio, numpy as np\n"
      "S = sio.loadmat('" +
      file +
      "')['Spikes']\n"
      "zeros = total = 0\n"
      "for cell in S.ravel(order='F'):\n"
      "    for t in cell.ravel(order='F'):\n"
      "        t = t.ravel().astype(np.int64)\n"
      "        c = np.bincount(t[(t >= 0) & (t < 300)] // 10, minlength=30)\n"
      "        zeros += int((c == 0).sum()); total += c.size\n"
      "print(zeros, total)\n");
  std::istringstream in(out);
  long numpy_zeros = 0, numpy_total = 0;
  in >> numpy_zeros >> numpy_total;
  const MatSpikeImport m = ReadMatSpikeCells(file, "Spikes", 1.0);  // ms
  long zeros = 0, total = 0;
  for (const auto& trial : m.spikes.times)
    for (const auto& unit : trial) {
      std::vector<int> counts(30, 0);
      for (double t : unit)
        if (t >= 0 && t < 300) ++counts[static_cast<size_t>(t) / 10];
      for (int c : counts) zeros += c == 0;
      total += 30;
    }
  CHECK(total == 1800 * 38 * 30);
  CHECK(numpy_total == total);
  CHECK(zeros == numpy_zeros);
  const double fraction = static_cast<double>(zeros) / total;
  INFO("fraction of zero counts " << fraction);
  CHECK(fraction == Approx(0.966).margin(0.001));
}

TEST_CASE("MAT: spike cells of v5 and v7.3 files, trials stimulus-major",
          "[formats][mat]") {
  if (!HaveScipy()) {
    WARN("python3 with scipy and h5py not found; skipped");
    return;
  }
  test::ScratchDir dir;
  Python(std::string(kV73Writer) + kSmallCells +
         "import scipy.io as sio\n"
         "sio.savemat('" +
         dir / "v5.mat" +
         "', {'Spikes': small_cells()})\n"
         "sio.savemat('" +
         dir / "v5z.mat" +
         "', {'Spikes': small_cells()}, do_compression=True)\n"
         "v73('" +
         dir / "v73.mat" +
         "', lambda f: cell(f, f, 'Spikes', small_cells()))\n");
  for (const char* name : {"v5.mat", "v5z.mat", "v73.mat"}) {
    INFO(name);
    CheckSmallCells(ReadMatSpikeCells(dir / name, "Spikes", 1e-3));
    const MatVariables vars = ListMatVariables(dir / name);
    REQUIRE(vars.size() == 1);
    CHECK(vars[0].Line() == "Spikes (cell 2x1)");
  }
}

TEST_CASE("MAT: numeric arrays of every class read back equal, row-major",
          "[formats][mat]") {
  if (!HaveScipy()) {
    WARN("python3 with scipy and h5py not found; skipped");
    return;
  }
  test::ScratchDir dir;
  Python(std::string(kV73Writer) + kNumericArrays +
         "import scipy.io as sio\n"
         "sio.savemat('" +
         dir / "v5.mat" +
         "', arrays)\n"
         "sio.savemat('" +
         dir / "v5z.mat" +
         "', arrays, do_compression=True)\n"
         "v73('" +
         dir / "v73.mat" +
         "', lambda f: [numeric(f, k, v) for k, v in arrays.items()])\n");
  for (const char* name : {"v5.mat", "v5z.mat", "v73.mat"}) {
    INFO(name);
    CheckNumericArrays(dir / name);
  }
  // v4 holds 2-D doubles only.
  Python("import numpy as np, scipy.io as sio\n" + std::string(kNumericArrays) +
         "sio.savemat('" + dir / "v4.mat" +
         "', {'m': arrays['m'], 'row': arrays['row']}, format='4')\n");
  const DenseArray m = ReadMatArray(dir / "v4.mat", "m");
  CHECK(m.dims == std::vector<Index>{3, 4});
  CHECK(m.values[7] == 7);
  CHECK(ReadMatArray(dir / "v4.mat", "row").dims == std::vector<Index>{1, 5});
  const MatVariables vars = ListMatVariables(dir / "v5.mat");
  REQUIRE(vars.size() == 15);
  CHECK(DescribeMatVariables(vars).find("d (double 2x3x4), f (single 2x3x4)") ==
        0);
}

TEST_CASE("MAT: a time x neuron x condition array as trial x time x neuron",
          "[formats][mat]") {
  DenseArray a;  // x(i, j, k) = 100 i + 10 j + k, 2 x 3 x 4, row-major
  a.dims = {2, 3, 4};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) a.values.push_back(100 * i + 10 * j + k);
  const Tensor3 x = ToTrialTimeNeuron(a, "time,neuron,condition");
  CHECK(x.dims() == Dims{4, 2, 3});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(x(k, i, j) == 100 * i + 10 * j + k);
  CHECK(ToTrialTimeNeuron(a, "trial,time,neuron").dims() == Dims{2, 3, 4});
  a.dims = {6, 4};  // MATLAB's 6x4x1: one trial
  CHECK(ToTrialTimeNeuron(a, "time,neuron,trial").dims() == Dims{1, 6, 4});
  a.dims = {2, 3, 4, 1};
  CHECK(ToTrialTimeNeuron(a, "neuron,time,stimulus").dims() == Dims{4, 3, 2});
  a.dims = {2, 3, 2, 2};
  CHECK_THAT(ErrorOf([&] { ToTrialTimeNeuron(a, "time,neuron,trial"); }),
             Contains("the array is 4-D (2x3x2x2)"));
  a.dims = {2, 3, 4};
  CHECK_THAT(ErrorOf([&] { ToTrialTimeNeuron(a, "time,neuron,repeat"); }),
             Contains("the axes 'time,neuron,repeat' do not name trial, time "
                      "and neuron once each ('repeat' is not an axis name"));
}

TEST_CASE("MAT: malformed files and variables get one-line errors",
          "[formats][mat]") {
  if (!HaveScipy()) {
    WARN("python3 with scipy and h5py not found; skipped");
    return;
  }
  test::ScratchDir dir;
  const std::string f = dir / "bad.mat";
  Python(
      std::string(kV73Writer) + kSmallCells +
      "import scipy.io as sio, scipy.sparse\n"
      "def with_entry(v):\n"
      "    c = small_cells(); c[1, 0] = c[1, 0].copy(); c[1, 0][2, 1] = v\n"
      "    return c\n"
      "ragged = small_cells(); ragged[1, 0] = np.empty((3, 3), dtype=object)\n"
      "for i in np.ndindex(3, 3): ragged[1, 0][i] = np.zeros((0, 0))\n"
      "inner_cell = np.empty((1, 1), dtype=object); inner_cell[0, 0] = "
      "np.ones((1, 2))\n"
      "numeric_stimulus = small_cells(); numeric_stimulus[1, 0] = np.ones((3, "
      "2))\n"
      "sio.savemat('" +
      f +
      "', {\n"
      "  'a': np.ones((3, 4)), 'Spikes': small_cells(), 'ragged': ragged,\n"
      "  'matrix': with_entry(np.ones((2, 3))), 'nan': "
      "with_entry(np.array([1.0, np.nan])),\n"
      "  'inf': with_entry(np.array([np.inf])), 'nested': "
      "with_entry(inner_cell),\n"
      "  'numeric_stimulus': numeric_stimulus, 'text': 'hello',\n"
      "  'z': np.array([1 + 2j]), 's': {'x': 1.0}, 'sp': "
      "scipy.sparse.eye(3).tocsc()})\n"
      "open('" +
      dir / "text.mat" +
      "', 'w').write('not a MAT file\\n' * 20)\n"
      "h5py.File('" +
      dir / "plain.h5" +
      "', 'w')['x'] = np.ones(3)\n"
      "def nullpad(f):\n"
      "    d = f.create_dataset('x', data=np.ones((2, 3)))\n"
      "    setclass(d, 'double', nullterm=False)\n"
      "v73('" +
      dir / "nullpad.mat" +
      "', nullpad)\n"
      "data = open('" +
      kOnken +
      "NaturalImages1.mat', 'rb').read() if "
      "__import__('os').path.exists('" +
      kOnken +
      "NaturalImages1.mat') "
      "else open('" +
      f +
      "', 'rb').read()\n"
      "open('" +
      dir / "truncated.mat" +
      "', 'wb').write(data[:len(data) // 2])\n"
      "open('" +
      dir / "short.mat" + "', 'wb').write(data[:100])\n");
  auto spikes = [&](const std::string& var, double unit = 1e-3) {
    return ErrorOf([&] { ReadMatSpikeCells(f, var, unit); });
  };
  auto array = [&](const std::string& var) {
    return ErrorOf([&] { ReadMatArray(f, var); });
  };
  SECTION("files that are not MAT files") {
    for (const char* name :
         {"missing.mat", "text.mat", "plain.h5", "short.mat"})
      CHECK_THROWS_AS(ReadMatArray(dir / name, "x"), FileError);
    CHECK_THAT(ErrorOf([&] { ListMatVariables(dir / "missing.mat"); }),
               Contains("missing.mat': no such file"));
    CHECK_THAT(ErrorOf([&] { ReadMatArray(dir.path(), "x"); }),
               Contains("it is a directory"));
    CHECK_THAT(ErrorOf([&] { ReadMatArray(dir / "text.mat", "x"); }),
               Contains("text.mat': not a MATLAB .mat file (v4, v5 or v7.3)"));
    CHECK_THAT(
        ErrorOf([&] { ReadMatSpikeCells(dir / "plain.h5", "x", 1); }),
        Contains("plain.h5': an HDF5 file without MATLAB's v7.3 header"));
    CHECK_THAT(
        ErrorOf([&] { ReadMatArray(dir / "nullpad.mat", "x"); }),
        Contains("variable 'x' in '" + dir / "nullpad.mat" +
                 "' (unknown 3x2) is not a real numeric or logical array; "
                 "libmatio found no MATLAB class for it"));
    const std::string truncated = ErrorOf(
        [&] { ReadMatSpikeCells(dir / "truncated.mat", "Spikes", 1e-3); });
    CHECK(truncated != "no error");
    CHECK_THAT(truncated, Contains("truncated.mat"));
  }
  SECTION("a missing variable lists those present") {
    CHECK(array("x") == "no variable 'x' in '" + f +
                            "'; it has: a (double 3x4), Spikes (cell 2x1), "
                            "ragged (cell 2x1), matrix (cell 2x1), nan (cell "
                            "2x1), inf (cell 2x1), nested (cell 2x1), "
                            "numeric_stimulus (cell 2x1), text (char 1x5), z "
                            "(complex double 1x1), s (struct 1x1), sp (sparse "
                            "3x3)");
    CHECK_THAT(spikes("spikes"), Contains("no variable 'spikes' in"));
  }
  SECTION("wrong classes") {
    CHECK(array("Spikes") == "variable 'Spikes' in '" + f +
                                 "' (cell 2x1) is not a real numeric "
                                 "or logical array");
    CHECK_THAT(array("text"), Contains("(char 1x5) is not a real"));
    CHECK_THAT(array("z"), Contains("(complex double 1x1) is not"));
    CHECK_THAT(array("s"), Contains("(struct 1x1) is not"));
    CHECK_THAT(array("sp"), Contains("(sparse 3x3) is not"));
    CHECK(spikes("a") == "variable 'a' in '" + f +
                             "' (double 3x4) is not a cell array of "
                             "stimulus cells (neurons x repeats cell arrays "
                             "of spike times)");
    CHECK(spikes("numeric_stimulus") ==
          "'numeric_stimulus{2}' in '" + f +
              "' (double 3x2) is not a neurons x repeats cell array "
              "of spike times");
    CHECK(spikes("nested") == "'nested{2}{3,2}' in '" + f +
                                  "' (cell 1x1) is not a real numeric "
                                  "vector of spike times");
  }
  SECTION("ragged, non-vector and non-finite spike cells") {
    CHECK(spikes("ragged") == "'ragged{2}' in '" + f +
                                  "' is 3x3 but 'ragged{1}' in '" + f +
                                  "' is 3x2: every stimulus cell must have "
                                  "the same neurons x repeats");
    CHECK(spikes("matrix") == "'matrix{2}{3,2}' in '" + f +
                                  "' is a 2x3 array; spike times must be a "
                                  "vector");
    CHECK(spikes("nan") ==
          "'nan{2}{3,2}' in '" + f + "' has a non-finite spike time (nan)");
    CHECK(spikes("inf") ==
          "'inf{2}{3,2}' in '" + f + "' has a non-finite spike time (inf)");
    CHECK(spikes("Spikes", 0) ==
          "the time unit must be a positive number of seconds");
    CHECK(spikes("Spikes", std::nan("")) ==
          "the time unit must be a positive number of seconds");
    CheckSmallCells(ReadMatSpikeCells(f, "Spikes", 1e-3));  // the good one
  }
}
