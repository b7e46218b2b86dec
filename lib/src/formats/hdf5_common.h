// Private helpers of the generic HDF5 layer (ltr/formats/io.h): quiet HDF5
// errors turned into one-line ltr::Errors, path checks, group creation and
// the dataset and attribute writers OutputFile and AppendableFile share.
// Only lib/src/formats/ includes this header, and so H5Cpp.h.
#ifndef LTR_SRC_FORMATS_HDF5_COMMON_H_
#define LTR_SRC_FORMATS_HDF5_COMMON_H_

#include <H5Cpp.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"

namespace ltr::io {

using RowMajorMatrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// HDF5 prints a stack of diagnostics on every failure unless told not to; we
// translate its exceptions into one-line ltr::Errors instead.
void QuietHdf5();

std::string Quote(const std::string& s);
// True if `v` is a whole number std::int64_t holds. Checked before any
// conversion: converting NaN or a double outside int64's range to an
// integer is undefined behaviour.
bool IsInt64(double v);
std::string NumberToString(double v);
// The group containing `dataset`.
std::string ParentOf(const std::string& dataset);
// "float64", "int32", "uint8", "string", ...
std::string TypeName(const H5::DataType& type);
std::vector<Index> ShapeOf(const H5::DataSpace& space);
// "(9, 6, 5)", as numpy prints a shape.
std::string ShapeToString(const std::vector<Index>& shape);

// Opens `file` read-only, with one-line errors for a missing, directory,
// non-HDF5 or corrupt file.
H5::H5File OpenForReading(const std::string& file);
// True if every link along `path` exists (H5Lexists needs each parent).
bool PathExists(const H5::H5File& f, const std::string& path);
bool IsDataset(const H5::H5File& f, const std::string& path);

// Runs `body`, turning any HDF5 failure into a one-line error about `what`
// with `hint`, the likely cause.
template <typename Body>
auto Guard(const std::string& what,
           Body body,
           const char* hint = "file truncated or corrupt?")
    -> decltype(body()) {
  QuietHdf5();
  try {
    return body();
  } catch (const H5::Exception& e) {
    throw FileError(what + ": HDF5 error in " + e.getFuncName() + " (" + hint +
                    ")");
  }
}

// Guard for writing: failures there are about the target, not the data.
template <typename Body>
auto GuardWrite(const std::string& what, Body body) -> decltype(body()) {
  return Guard(what, body, "is the directory writable and the disk not full?");
}

// ---------------------------------------------------------------------------
// Writing (OutputFile and AppendableFile)

namespace detail {
// The open HDF5 file an OutputFile or AppendableFile writes, and the name its
// messages give (the final path, not a temporary one).
struct WritableFile {
  std::string path;
  std::unique_ptr<H5::H5File> h5;
};
}  // namespace detail

// How an element type is stored on disk (little-endian) and held in memory.
struct ElementTypes {
  const H5::PredType& file;
  const H5::PredType& memory;
};
template <typename T>
ElementTypes TypesOf();
template <>
inline ElementTypes TypesOf<double>() {
  return {H5::PredType::IEEE_F64LE, H5::PredType::NATIVE_DOUBLE};
}
template <>
inline ElementTypes TypesOf<std::int64_t>() {
  return {H5::PredType::STD_I64LE, H5::PredType::NATIVE_INT64};
}
template <>
inline ElementTypes TypesOf<std::uint8_t>() {
  return {H5::PredType::STD_U8LE, H5::PredType::NATIVE_UINT8};
}

// The group at `group_path`, created (with its parents) if missing.
H5::Group EnsureGroup(H5::H5File& file, const std::string& group_path);

// A scalar variable-length string attribute, replacing any of that name.
void WriteStringAttribute(H5::H5Object& object,
                          const std::string& name,
                          const std::string& value);

// Creates `dataset` (and its groups) of shape `dims` holding `data`
// (row-major), with an `axes` attribute unless `axes` is empty.
template <typename T>
void WriteNewDataset(H5::H5File& file,
                     const std::string& dataset,
                     const std::vector<hsize_t>& dims,
                     const T* data,
                     const std::string& axes) {
  const ElementTypes types = TypesOf<T>();
  EnsureGroup(file, ParentOf(dataset));
  H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
  H5::DataSet ds = file.createDataSet(dataset, types.file, space);
  size_t count = 1;
  for (hsize_t d : dims) count *= d;
  if (count > 0) ds.write(data, types.memory);
  if (!axes.empty()) WriteStringAttribute(ds, "axes", axes);
}

// Throws unless `path` can be created: its directory exists and is
// writable, and it is not itself a directory. Returns the directory.
std::filesystem::path CheckOutputTarget(const std::string& path);

// The root attributes every ltr output carries: ltr_version, command and
// created (UTC, ISO 8601).
void WriteProvenance(H5::H5File& file, const std::string& command);

}  // namespace ltr::io

#endif  // LTR_SRC_FORMATS_HDF5_COMMON_H_
