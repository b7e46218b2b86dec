// MATLAB .mat files through libmatio: the only code that includes matio.h.
// matio prints nothing unless its logging is initialised (we never do), and
// its v7.3 reads go through HDF5, whose error stacks QuietHdf5 silences.
#include "ltr/formats/mat_file.h"

#include <matio.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include "formats/hdf5_common.h"
#include "ltr/core/error.h"

namespace ltr {

namespace {

namespace fs = std::filesystem;
using io::Quote;

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};
using MatPtr = std::unique_ptr<mat_t, MatCloser>;
using VarPtr = std::unique_ptr<matvar_t, VarFreer>;

// The first 128 bytes: a MAT file's header (text, then the version and
// endian fields at 124), or an HDF5 signature at 0.
std::string Header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string header(128, '\0');
  in.read(header.data(), 128);
  header.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  return header;
}

// Why matio could not open `path`, which exists and is readable.
std::string WhyNotMat(const std::string& path) {
  const std::string header = Header(path);
  if (header.compare(0, 8, "\x89HDF\r\n\x1a\n") == 0)
    return "an HDF5 file without MATLAB's v7.3 header, not a MAT file (an "
           "NWB or ltr file?)";
  const bool v73 = header.size() == 128 &&
                   ((header.compare(124, 4, std::string("\0\x02IM", 4)) == 0) ||
                    (header.compare(124, 4, std::string("\x02\0MI", 4)) == 0));
  if (v73)
    return "a MATLAB v7.3 file that libmatio cannot open (truncated, or a "
           "libmatio built without HDF5?)";
  return "not a MATLAB .mat file (v4, v5 or v7.3)";
}

MatPtr OpenMat(const std::string& path) {
  io::QuietHdf5();
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw FileError("cannot open " + Quote(path) + ": no such file");
  if (fs::is_directory(path, ec))
    throw FileError("cannot open " + Quote(path) + ": it is a directory");
  if (!std::ifstream(path, std::ios::binary))
    throw FileError("cannot open " + Quote(path) + ": permission denied");
  mat_t* mat = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
  if (mat == nullptr)
    throw FileError("cannot open " + Quote(path) + ": " + WhyNotMat(path));
  return MatPtr(mat);
}

std::vector<Index> DimsOf(const matvar_t& var) {
  std::vector<Index> dims;
  for (int d = 0; d < var.rank; ++d)
    dims.push_back(static_cast<Index>(var.dims[d]));
  return dims;
}

size_t Numel(const matvar_t& var) {
  size_t n = 1;
  for (int d = 0; d < var.rank; ++d) n *= var.dims[d];
  return var.rank > 0 ? n : 0;
}

std::string DimsText(const std::vector<Index>& dims) {
  std::string text;
  for (size_t d = 0; d < dims.size(); ++d)
    text += (d ? "x" : "") + std::to_string(dims[d]);
  return text;
}

std::string ClassName(const matvar_t& var) {
  static const std::array<const char*, 18> kNames = {"unknown",
                                                     "cell",
                                                     "struct",
                                                     "object",
                                                     "char",
                                                     "sparse",
                                                     "double",
                                                     "single",
                                                     "int8",
                                                     "uint8",
                                                     "int16",
                                                     "uint16",
                                                     "int32",
                                                     "uint32",
                                                     "int64",
                                                     "uint64",
                                                     "function",
                                                     "opaque"};
  const auto c = static_cast<size_t>(var.class_type);
  std::string name = c < kNames.size() ? kNames[c] : "unknown";
  if (var.isLogical) name = "logical";
  return var.isComplex ? "complex " + name : name;
}

MatVariable Describe(const matvar_t& var) {
  return {var.name ? var.name : "", ClassName(var), DimsOf(var)};
}

// "cell 60x1", for "... is a cell 60x1 array".
std::string KindOf(const matvar_t& var) {
  return var.rank > 0 ? ClassName(var) + " " + DimsText(DimsOf(var))
                      : ClassName(var);
}

// "WHAT (cell 2x1) is not EXPECTED", and why when matio knows no class.
std::string NotA(const matvar_t& var,
                 const std::string& what,
                 const std::string& expected) {
  std::string message = what + " (" + KindOf(var) + ") is not " + expected;
  if (var.class_type != MAT_C_EMPTY) return message;
  return message + (Numel(var) > 0
                        ? "; libmatio found no MATLAB class for it (a v7.3 "
                          "file written without MATLAB's null-terminated "
                          "MATLAB_class attributes?)"
                        : "; it has no MATLAB class (file truncated or "
                          "corrupt?)");
}

bool IsRealNumeric(const matvar_t& var) {
  return var.class_type >= MAT_C_DOUBLE && var.class_type <= MAT_C_UINT64 &&
         !var.isComplex;
}

// The variable, or an error that lists what the file has.
VarPtr ReadVariable(mat_t* mat,
                    const std::string& path,
                    const std::string& name) {
  if (matvar_t* var = Mat_VarRead(mat, name.c_str())) return VarPtr(var);
  const MatVariables present = ListMatVariables(path);
  for (const MatVariable& v : present)
    if (v.name == name)
      throw Error("variable " + Quote(name) + " in " + Quote(path) +
                  " cannot be read (file truncated or corrupt?)");
  throw Error("no variable " + Quote(name) + " in " + Quote(path) +
              (present.empty() ? "; it has no variables"
                               : "; it has: " + DescribeMatVariables(present)));
}

template <typename T>
void Convert(const void* data, size_t n, double* out) {
  const T* in = static_cast<const T*>(data);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(in[i]);
}

// A real numeric variable's values as doubles, in MATLAB's column-major
// order. `what` names it in errors.
std::vector<double> ColumnMajorValues(const matvar_t& var,
                                      const std::string& what) {
  const size_t n = Numel(var);
  std::vector<double> out(n);
  if (n == 0) return out;
  const size_t size = Mat_SizeOf(var.data_type);
  if (var.data == nullptr || size == 0 || var.nbytes / size < n)
    throw Error(what + " has no readable data (file truncated or corrupt?)");
  switch (var.data_type) {
    case MAT_T_DOUBLE:
      Convert<double>(var.data, n, out.data());
      break;
    case MAT_T_SINGLE:
      Convert<float>(var.data, n, out.data());
      break;
    case MAT_T_INT8:
      Convert<std::int8_t>(var.data, n, out.data());
      break;
    case MAT_T_UINT8:
      Convert<std::uint8_t>(var.data, n, out.data());
      break;
    case MAT_T_INT16:
      Convert<std::int16_t>(var.data, n, out.data());
      break;
    case MAT_T_UINT16:
      Convert<std::uint16_t>(var.data, n, out.data());
      break;
    case MAT_T_INT32:
      Convert<std::int32_t>(var.data, n, out.data());
      break;
    case MAT_T_UINT32:
      Convert<std::uint32_t>(var.data, n, out.data());
      break;
    case MAT_T_INT64:
      Convert<std::int64_t>(var.data, n, out.data());
      break;
    case MAT_T_UINT64:
      Convert<std::uint64_t>(var.data, n, out.data());
      break;
    default:
      throw Error(what + " has a data type ltr does not read (" +
                  std::to_string(static_cast<int>(var.data_type)) + ")");
  }
  return out;
}

// Column-major values of an array of `dims` in row-major order.
std::vector<double> ToRowMajor(const std::vector<double>& column_major,
                               const std::vector<Index>& dims) {
  const size_t rank = dims.size();
  std::vector<size_t> stride(rank, 1);  // row-major strides
  for (size_t d = rank; d-- > 1;)
    stride[d - 1] = stride[d] * static_cast<size_t>(dims[d]);
  std::vector<double> out(column_major.size());
  std::vector<Index> at(rank, 0);  // subscripts, the first fastest
  for (double value : column_major) {
    size_t row_major = 0;
    for (size_t d = 0; d < rank; ++d)
      row_major += static_cast<size_t>(at[d]) * stride[d];
    out[row_major] = value;
    for (size_t d = 0; d < rank && ++at[d] == dims[d]; ++d) at[d] = 0;
  }
  return out;
}

// "'Spikes{3}{5,2}' in 'f.mat'" (MATLAB's 1-based indices).
std::string CellName(const std::string& path,
                     const std::string& variable,
                     size_t stimulus,
                     Index neuron = -1,
                     Index repeat = -1) {
  std::string name = variable + "{" + std::to_string(stimulus + 1) + "}";
  if (neuron >= 0)
    name += "{" + std::to_string(neuron + 1) + "," +
            std::to_string(repeat + 1) + "}";
  return Quote(name) + " in " + Quote(path);
}

// One trial's sorted spike times in seconds; `what` names the entry.
std::vector<double> SpikeTimes(const matvar_t* entry,
                               const std::string& what,
                               double unit) {
  if (entry == nullptr)
    throw Error(what + " cannot be read (file truncated or corrupt?)");
  if (Numel(*entry) == 0) return {};  // [] or {}: a trial without spikes
  if (!IsRealNumeric(*entry))
    throw Error(NotA(*entry, what, "a real numeric vector of spike times"));
  if (entry->rank != 2 || (entry->dims[0] != 1 && entry->dims[1] != 1))
    throw Error(what + " is a " + DimsText(DimsOf(*entry)) +
                " array; spike times must be a vector");
  std::vector<double> times = ColumnMajorValues(*entry, what);
  for (double& t : times) {
    if (!std::isfinite(t * unit)) {
      std::ostringstream value;
      value << t;
      throw Error(what + " has a non-finite spike time (" + value.str() + ")");
    }
    t *= unit;
  }
  std::sort(times.begin(), times.end());
  return times;
}

// The neurons x repeats cell of one stimulus, checked against the first.
const matvar_t& StimulusCell(const matvar_t& spikes,
                             size_t s,
                             const std::string& path,
                             const std::string& variable) {
  const matvar_t* cell =
      Mat_VarGetCell(const_cast<matvar_t*>(&spikes), static_cast<int>(s));
  const std::string what = CellName(path, variable, s);
  if (cell == nullptr)
    throw Error(what + " cannot be read (file truncated or corrupt?)");
  if (cell->class_type != MAT_C_CELL)
    throw Error(
        NotA(*cell, what, "a neurons x repeats cell array of spike times"));
  if (cell->rank != 2)
    throw Error(what + " is " + DimsText(DimsOf(*cell)) +
                "; a stimulus cell is neurons x repeats");
  if (s > 0) {
    const matvar_t& first = StimulusCell(spikes, 0, path, variable);
    if (first.dims[0] != cell->dims[0] || first.dims[1] != cell->dims[1])
      throw Error(what + " is " + DimsText(DimsOf(*cell)) + " but " +
                  CellName(path, variable, 0) + " is " +
                  DimsText(DimsOf(first)) +
                  ": every stimulus cell must have the same neurons x "
                  "repeats");
  }
  return *cell;
}

// Appends the trials of stimulus s (one per repeat) to `out`.
void AppendStimulus(const matvar_t& cell,
                    size_t s,
                    const std::string& path,
                    const std::string& variable,
                    double unit,
                    MatSpikeImport* out) {
  const Index neurons = static_cast<Index>(cell.dims[0]);
  const Index repeats = static_cast<Index>(cell.dims[1]);
  for (Index r = 0; r < repeats; ++r) {
    std::vector<std::vector<double>> trial(static_cast<size_t>(neurons));
    for (Index n = 0; n < neurons; ++n) {
      const matvar_t* entry = Mat_VarGetCell(const_cast<matvar_t*>(&cell),
                                             static_cast<int>(n + neurons * r));
      trial[static_cast<size_t>(n)] =
          SpikeTimes(entry, CellName(path, variable, s, n, r), unit);
    }
    out->spikes.times.push_back(std::move(trial));
    out->stimulus.push_back(static_cast<std::int64_t>(s));
    out->repeat.push_back(r);
  }
}

}  // namespace

std::string MatVariable::Line() const {
  return name + " (" + class_name + " " + DimsText(dims) + ")";
}

std::string DescribeMatVariables(const MatVariables& variables) {
  std::string text;
  for (const MatVariable& v : variables)
    text += (text.empty() ? "" : ", ") + v.Line();
  return text;
}

MatVariables ListMatVariables(const std::string& path) {
  const MatPtr mat = OpenMat(path);
  MatVariables variables;
  while (matvar_t* raw = Mat_VarReadNextInfo(mat.get())) {
    const VarPtr var(raw);
    variables.push_back(Describe(*var));
  }
  return variables;
}

DenseArray ReadMatArray(const std::string& path, const std::string& variable) {
  const MatPtr mat = OpenMat(path);
  const VarPtr var = ReadVariable(mat.get(), path, variable);
  const std::string what = "variable " + Quote(variable) + " in " + Quote(path);
  if (!IsRealNumeric(*var))
    throw Error(NotA(*var, what, "a real numeric or logical array"));
  DenseArray array;
  array.dims = DimsOf(*var);
  array.type = ClassName(*var);
  array.values = ToRowMajor(ColumnMajorValues(*var, what), array.dims);
  return array;
}

MatSpikeImport ReadMatSpikeCells(const std::string& path,
                                 const std::string& variable,
                                 double time_unit_seconds) {
  if (!(time_unit_seconds > 0) || !std::isfinite(time_unit_seconds))
    throw Error("the time unit must be a positive number of seconds");
  const MatPtr mat = OpenMat(path);
  const VarPtr spikes = ReadVariable(mat.get(), path, variable);
  const std::string what = "variable " + Quote(variable) + " in " + Quote(path);
  if (spikes->class_type != MAT_C_CELL)
    throw Error(NotA(*spikes,
                     what,
                     "a cell array of stimulus cells (neurons x repeats cell "
                     "arrays of spike times)"));
  const size_t stimuli = Numel(*spikes);
  if (stimuli == 0) throw Error(what + " is an empty cell array");
  MatSpikeImport out;
  out.stimulus_dims = DimsOf(*spikes);
  for (size_t s = 0; s < stimuli; ++s)
    AppendStimulus(StimulusCell(*spikes, s, path, variable),
                   s,
                   path,
                   variable,
                   time_unit_seconds,
                   &out);
  const Index neurons =
      static_cast<Index>(StimulusCell(*spikes, 0, path, variable).dims[0]);
  for (Index n = 0; n < neurons; ++n) out.spikes.unit_ids.push_back(n);
  const size_t trials = out.spikes.times.size();
  for (size_t k = 0; k < trials; ++k)
    out.spikes.trial_ids.push_back(static_cast<std::int64_t>(k));
  out.spikes.alignment_times.assign(trials,
                                    std::numeric_limits<double>::quiet_NaN());
  return out;
}

}  // namespace ltr
