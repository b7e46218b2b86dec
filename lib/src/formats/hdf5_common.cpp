// Private helpers of the generic HDF5 layer (formats/hdf5_common.h).
#include "formats/hdf5_common.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <sstream>

#include "ltr/version.h"

namespace ltr::io {

namespace fs = std::filesystem;

void QuietHdf5() {
  static const bool quiet = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)quiet;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

bool IsInt64(double v) {
  return v == std::floor(v) && v >= -0x1p63 && v < 0x1p63;
}

std::string NumberToString(double v) {
  std::ostringstream text;
  text << v;
  return text.str();
}

std::string ParentOf(const std::string& dataset) {
  const size_t slash = dataset.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? "/"
                                                  : dataset.substr(0, slash);
}

std::string TypeName(const H5::DataType& type) {
  switch (type.getClass()) {
    case H5T_FLOAT:
      return "float" + std::to_string(8 * type.getSize());
    case H5T_INTEGER: {
      const H5::IntType int_type(type.getId());
      const bool is_signed = int_type.getSign() != H5T_SGN_NONE;
      return std::string(is_signed ? "int" : "uint") +
             std::to_string(8 * type.getSize());
    }
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    default:
      return "other";
  }
}

std::vector<Index> ShapeOf(const H5::DataSpace& space) {
  const int rank = space.getSimpleExtentNdims();
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) space.getSimpleExtentDims(dims.data());
  return std::vector<Index>(dims.begin(), dims.end());
}

std::string ShapeToString(const std::vector<Index>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

H5::H5File OpenForReading(const std::string& file) {
  QuietHdf5();
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw FileError("cannot open " + Quote(file) + ": no such file");
  if (fs::is_directory(file, ec))
    throw FileError("cannot open " + Quote(file) + ": it is a directory");
  try {
    if (!H5::H5File::isHdf5(file))
      throw FileError("cannot open " + Quote(file) + ": not an HDF5 file");
    return H5::H5File(file, H5F_ACC_RDONLY);
  } catch (const H5::Exception&) {
    throw FileError("cannot open " + Quote(file) +
                    ": not a readable HDF5 file (truncated or corrupt?)");
  }
}

namespace {

// Calls visit(prefix) for "/a", "/a/b", ... "/a/b/c" of `path` while it
// returns true; true if it always did.
template <typename Visit>
bool EveryPrefix(const std::string& path, Visit visit) {
  std::string prefix;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (!visit(prefix)) return false;
  }
  return true;
}

}  // namespace

bool PathExists(const H5::H5File& f, const std::string& path) {
  if (path.empty() || path == "/") return true;
  return EveryPrefix(path, [&](const std::string& prefix) {
    if (H5Lexists(f.getId(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    H5O_info_t info;
    if (H5Oget_info_by_name(f.getId(), prefix.c_str(), &info, H5P_DEFAULT) < 0)
      return false;
    return prefix == path || info.type == H5O_TYPE_GROUP;
  });
}

bool IsDataset(const H5::H5File& f, const std::string& path) {
  return PathExists(f, path) && f.childObjType(path) == H5O_TYPE_DATASET;
}

H5::Group EnsureGroup(H5::H5File& file, const std::string& group_path) {
  if (group_path.empty() || group_path == "/") return file.openGroup("/");
  EveryPrefix(group_path, [&](const std::string& prefix) {
    if (H5Lexists(file.getId(), prefix.c_str(), H5P_DEFAULT) <= 0)
      file.createGroup(prefix);
    return true;
  });
  return file.openGroup(group_path);
}

void WriteStringAttribute(H5::H5Object& object,
                          const std::string& name,
                          const std::string& value) {
  if (object.attrExists(name)) object.removeAttr(name);
  const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  H5::Attribute attr =
      object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
  attr.write(type, value);
}

fs::path CheckOutputTarget(const std::string& path) {
  if (path.empty()) throw Error("no output file given (use -o FILE.h5)");
  const fs::path target(path);
  const fs::path directory =
      target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw FileError("cannot write " + Quote(path) + ": directory " +
                    Quote(directory.string()) + " does not exist");
  if (fs::is_directory(target, ec))
    throw FileError("cannot write " + Quote(path) + ": it is a directory");
  if (access(directory.c_str(), W_OK) != 0)
    throw FileError("cannot write " + Quote(path) + ": directory " +
                    Quote(directory.string()) + " is not writable");
  return directory;
}

namespace {

std::string NowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

}  // namespace

void WriteProvenance(H5::H5File& file, const std::string& command) {
  H5::Group root = file.openGroup("/");
  WriteStringAttribute(root, "ltr_version", kVersion);
  WriteStringAttribute(root, "command", command);
  WriteStringAttribute(root, "created", NowIso8601());
}

}  // namespace ltr::io
