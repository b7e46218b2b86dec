#include "ltr/formats/io.h"

#include <H5Cpp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <sstream>
#include <type_traits>

#include "formats/io_checked.h"
#include "ltr/core/error.h"
#include "ltr/version.h"

namespace ltr::io {
namespace {

namespace fs = std::filesystem;
using RowMajorMatrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// HDF5 prints a stack of diagnostics on every failure unless told not to; we
// translate its exceptions into one-line ltr::Errors instead.
void QuietHdf5() {
  static const bool quiet = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)quiet;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// True if `v` is a whole number std::int64_t holds. Checked before any
// conversion: converting NaN or a double outside int64's range to an
// integer is undefined behaviour.
bool IsInt64(double v) {
  return v == std::floor(v) && v >= -0x1p63 && v < 0x1p63;
}

std::string NumberToString(double v) {
  std::ostringstream text;
  text << v;
  return text.str();
}

// The group containing `dataset`.
std::string ParentOf(const std::string& dataset) {
  const size_t slash = dataset.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? "/"
                                                  : dataset.substr(0, slash);
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

H5::H5File OpenForReading(const std::string& file) {
  QuietHdf5();
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw Error("cannot open " + Quote(file) + ": no such file");
  if (fs::is_directory(file, ec))
    throw Error("cannot open " + Quote(file) + ": it is a directory");
  try {
    if (!H5::H5File::isHdf5(file))
      throw Error("cannot open " + Quote(file) + ": not an HDF5 file");
    return H5::H5File(file, H5F_ACC_RDONLY);
  } catch (const H5::Exception&) {
    throw Error("cannot open " + Quote(file) +
                ": not a readable HDF5 file (truncated or corrupt?)");
  }
}

// True if every link along `path` exists (H5Lexists needs each parent).
bool PathExists(const H5::H5File& f, const std::string& path) {
  if (path.empty() || path == "/") return true;
  std::string prefix;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (H5Lexists(f.getId(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    H5O_info_t info;
    if (H5Oget_info_by_name(f.getId(), prefix.c_str(), &info, H5P_DEFAULT) < 0)
      return false;
    if (prefix != path && info.type != H5O_TYPE_GROUP) return false;
  }
  return true;
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

// "/a (9 x 6 x 5)", one entry per dataset of `rank` dimensions (any rank
// when negative), depth first in name order.
// Calls visit(parent, name, path, type) for every group and dataset below
// `group` (at `path`), depth first in name order.
template <typename Visit>
void Walk(const H5::Group& group, const std::string& path, Visit visit) {
  std::vector<std::string> names;
  for (hsize_t i = 0; i < group.getNumObjs(); ++i)
    names.push_back(group.getObjnameByIdx(i));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string child = (path == "/" ? "/" : path + "/") + name;
    const H5O_type_t type = group.childObjType(name);
    visit(group, name, child, type);
    if (type == H5O_TYPE_GROUP) Walk(group.openGroup(name), child, visit);
  }
}

void ListDatasets(const H5::Group& group,
                  const std::string& path,
                  int rank,
                  std::vector<std::string>* out) {
  Walk(group,
       path,
       [&](const H5::Group& parent,
           const std::string& name,
           const std::string& child,
           H5O_type_t type) {
         if (type != H5O_TYPE_DATASET) return;
         const std::vector<Index> shape =
             ShapeOf(parent.openDataSet(name).getSpace());
         if (rank >= 0 && static_cast<int>(shape.size()) != rank) return;
         std::string dims;
         for (size_t d = 0; d < shape.size(); ++d)
           dims += (d ? " x " : "") + std::to_string(shape[d]);
         out->push_back(child + " (" + dims + ")");
       });
}

// "; its 3-way datasets are: /a (9 x 6 x 5), /s1/activity (...)", so that
// a mistyped or misplaced path is fixed from the message alone.
std::string DatasetsHint(const H5::H5File& f, int rank) {
  std::vector<std::string> found;
  try {
    ListDatasets(f.openGroup("/"), "/", rank, &found);
  } catch (const H5::Exception&) {
    return "";
  }
  const std::string kind = rank == 3   ? "3-way datasets"
                           : rank == 2 ? "2-D datasets"
                           : rank == 1 ? "1-D datasets"
                                       : "datasets";
  if (found.empty()) return "; it has no " + kind;
  constexpr size_t kShown = 8;
  std::string s = "; its " + kind + " are: ";
  for (size_t i = 0; i < std::min(found.size(), kShown); ++i)
    s += (i ? ", " : "") + found[i];
  if (found.size() > kShown)
    s += " and " + std::to_string(found.size() - kShown) + " more";
  return s;
}

// Opens a numeric dataset, checking that it exists, is numeric and has the
// expected number of dimensions (-1: any). `enums`: HDF5 enums (h5py's
// bool) count as numeric, read as their integer values. A missing dataset's
// error lists those of `list_rank` dimensions (default: expected_rank).
H5::DataSet OpenNumeric(const H5::H5File& f,
                        const std::string& file,
                        const std::string& dataset,
                        int expected_rank,
                        std::vector<Index>* shape,
                        bool enums = false,
                        int list_rank = -1) {
  const std::string where = Quote(dataset) + " in " + Quote(file);
  if (list_rank < 0) list_rank = expected_rank;
  if (!PathExists(f, dataset))
    throw Error("no dataset " + where + DatasetsHint(f, list_rank));
  if (f.childObjType(dataset) != H5O_TYPE_DATASET)
    throw Error(where + " is a group, not a dataset" +
                DatasetsHint(f, list_rank));
  H5::DataSet ds = f.openDataSet(dataset);
  const H5T_class_t cls = ds.getTypeClass();
  if (cls != H5T_FLOAT && cls != H5T_INTEGER && !(enums && cls == H5T_ENUM))
    throw Error("dataset " + where + " is " + TypeName(ds.getDataType()) +
                (enums ? ", expected numeric or boolean data"
                       : ", expected float or integer data"));
  *shape = ShapeOf(ds.getSpace());
  if (expected_rank >= 0 && static_cast<int>(shape->size()) != expected_rank)
    throw Error("dataset " + where + " has shape " + ShapeToString(*shape) +
                ", expected " + std::to_string(expected_rank) +
                (expected_rank == 1 ? " dimension" : " dimensions"));
  return ds;
}

// The values of an enum dataset (h5py stores bool as an enum over int8,
// FALSE = 0, TRUE = 1) as doubles: read in the native enum type, then
// taken as the integers of its base type.
void ReadEnumValues(const H5::DataSet& ds, std::vector<double>* values) {
  const hid_t native =
      H5Tget_native_type(ds.getDataType().getId(), H5T_DIR_ASCEND);
  const hid_t base = H5Tget_super(native);
  const size_t size = H5Tget_size(base);
  const bool is_signed = H5Tget_sign(base) != H5T_SGN_NONE;
  H5Tclose(base);
  std::vector<unsigned char> raw(values->size() * size);
  const herr_t status =
      H5Dread(ds.getId(), native, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
  H5Tclose(native);
  if (status < 0) throw H5::DataSetIException("ReadEnumValues", "H5Dread");
  for (size_t n = 0; n < values->size(); ++n) {
    const unsigned char* p = raw.data() + n * size;
    std::int64_t v = 0;
    if (size == 1)
      v = is_signed ? *reinterpret_cast<const std::int8_t*>(p) : *p;
    if (size == 2) {
      std::int16_t x;
      std::memcpy(&x, p, 2);
      v = is_signed ? x : static_cast<std::uint16_t>(x);
    }
    if (size == 4) {
      std::int32_t x;
      std::memcpy(&x, p, 4);
      v = is_signed ? x : static_cast<std::uint32_t>(x);
    }
    if (size == 8) std::memcpy(&v, p, 8);
    (*values)[n] = static_cast<double>(v);
  }
}

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
    throw Error(what + ": HDF5 error in " + e.getFuncName() + " (" + hint +
                ")");
  }
}

// Guard for writing: failures there are about the target, not the data.
template <typename Body>
auto GuardWrite(const std::string& what, Body body) -> decltype(body()) {
  return Guard(what, body, "is the directory writable and the disk not full?");
}

template <typename T>
std::vector<T> ReadAll(const std::string& file,
                       const std::string& dataset,
                       int expected_rank,
                       const H5::PredType& memory_type,
                       std::vector<Index>* shape,
                       bool enums = false,
                       int list_rank = -1) {
  return Guard("cannot read " + Quote(dataset) + " from " + Quote(file), [&] {
    H5::H5File f = OpenForReading(file);
    H5::DataSet ds =
        OpenNumeric(f, file, dataset, expected_rank, shape, enums, list_rank);
    // A corrupt or hostile file can declare any shape: refuse one that
    // could not fit in memory before trying to allocate it.
    const double limit = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                         static_cast<double>(sysconf(_SC_PAGE_SIZE));
    double bytes = sizeof(T);
    size_t count = 1;
    for (Index d : *shape) {
      bytes *= static_cast<double>(d);
      count *= static_cast<size_t>(d);
    }
    if (bytes > limit) {
      std::ostringstream gb;
      gb << std::setprecision(3) << bytes / 1e9;
      throw Error(Quote(dataset) + " in " + Quote(file) + " declares " +
                  gb.str() +
                  " GB, more than this machine's memory (use ltr decompose "
                  "--stream for trajectories larger than memory)");
    }
    std::vector<T> values(count);
    if (count == 0) return values;
    if constexpr (std::is_same_v<T, double>) {
      if (ds.getTypeClass() == H5T_ENUM) {
        ReadEnumValues(ds, &values);
        return values;
      }
    }
    ds.read(values.data(), memory_type);
    return values;
  });
}

}  // namespace

void CheckReadable(const std::string& file) {
  Guard("cannot open " + Quote(file), [&] { OpenForReading(file); });
}

bool HasDataset(const std::string& file, const std::string& dataset) {
  return Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = OpenForReading(file);
    return PathExists(f, dataset) &&
           f.childObjType(dataset) == H5O_TYPE_DATASET;
  });
}

std::vector<Index> DatasetShape(const std::string& file,
                                const std::string& dataset) {
  return Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = OpenForReading(file);
    std::vector<Index> shape;
    OpenNumeric(f, file, dataset, -1, &shape);
    return shape;
  });
}

Tensor3 ReadTensor3(const std::string& file, const std::string& dataset) {
  std::vector<Index> shape;
  std::vector<double> values =
      ReadAll<double>(file, dataset, 3, H5::PredType::NATIVE_DOUBLE, &shape);
  Tensor3 x(shape[0], shape[1], shape[2]);
  x.values() = std::move(values);
  return x;
}

Mask3 ReadMask3(const std::string& file, const std::string& dataset) {
  std::vector<Index> shape;
  std::vector<double> values = ReadAll<double>(
      file, dataset, 3, H5::PredType::NATIVE_DOUBLE, &shape, true);
  Mask3 mask(shape[0], shape[1], shape[2]);
  for (size_t n = 0; n < values.size(); ++n)
    mask.values()[n] = values[n] != 0 ? 1 : 0;
  return mask;
}

Matrix ReadMatrix(const std::string& file, const std::string& dataset) {
  std::vector<Index> shape;
  std::vector<double> values =
      ReadAll<double>(file, dataset, 2, H5::PredType::NATIVE_DOUBLE, &shape);
  return Eigen::Map<RowMajorMatrix>(values.data(), shape[0], shape[1]);
}

Vector ReadVector(const std::string& file, const std::string& dataset) {
  std::vector<Index> shape;
  std::vector<double> values =
      ReadAll<double>(file, dataset, 1, H5::PredType::NATIVE_DOUBLE, &shape);
  return Eigen::Map<Vector>(values.data(), shape[0]);
}

std::vector<std::int64_t> ReadIntVector(const std::string& file,
                                        const std::string& dataset) {
  std::vector<Index> shape;
  // Read as double first so that float labels are checked to be whole.
  std::vector<double> values = ReadAll<double>(
      file, dataset, -1, H5::PredType::NATIVE_DOUBLE, &shape, false, 1);
  // A (n, 1) column, as a table export often writes labels, is a vector.
  if (shape.size() != 1 && !(shape.size() == 2 && shape[1] == 1))
    throw Error("dataset " + Quote(dataset) + " in " + Quote(file) +
                " has shape " + ShapeToString(shape) +
                ", expected 1 dimension (or a (n, 1) column)");
  std::vector<std::int64_t> out(values.size());
  for (size_t n = 0; n < values.size(); ++n) {
    const double v = values[n];
    if (!IsInt64(v))
      throw Error("dataset " + Quote(dataset) + " in " + Quote(file) +
                  " should hold whole numbers; entry " + std::to_string(n) +
                  " is " + NumberToString(v));
    out[n] = static_cast<std::int64_t>(v);
  }
  return out;
}

// ---------------------------------------------------------------------------
// SlabReader

struct SlabReader::Impl {
  std::string file;
  std::string dataset;
  // Held by pointer: the HDF5 C++ classes are copy-constructible (with
  // reference counting) but their assignment is not reliable.
  std::unique_ptr<H5::H5File> h5;
  std::unique_ptr<H5::DataSet> ds;
  Dims dims{0, 0, 0};
  Index chunk_rows = 0;
  std::string dtype;
};

SlabReader::SlabReader(const std::string& file, const std::string& dataset)
    : impl_(std::make_unique<Impl>()) {
  impl_->file = file;
  impl_->dataset = dataset;
  Guard("cannot read " + Quote(dataset) + " from " + Quote(file), [&] {
    impl_->h5 = std::make_unique<H5::H5File>(OpenForReading(file));
    std::vector<Index> shape;
    impl_->ds = std::make_unique<H5::DataSet>(
        OpenNumeric(*impl_->h5, file, dataset, 3, &shape));
    impl_->dims = {shape[0], shape[1], shape[2]};
    impl_->dtype = TypeName(impl_->ds->getDataType());
    const H5::DSetCreatPropList properties = impl_->ds->getCreatePlist();
    if (properties.getLayout() == H5D_CHUNKED) {
      hsize_t chunk[3] = {0, 0, 0};
      properties.getChunk(3, chunk);
      impl_->chunk_rows = static_cast<Index>(chunk[0]);
    }
  });
}

SlabReader::~SlabReader() = default;

const Dims& SlabReader::dims() const { return impl_->dims; }
Index SlabReader::chunk_rows() const { return impl_->chunk_rows; }
const std::string& SlabReader::dtype() const { return impl_->dtype; }

void SlabReader::Read(Index begin, Index end, double* buffer) {
  const Dims& d = impl_->dims;
  if (begin < 0 || end < begin || end > d[0])
    throw Error("cannot read rows [" + std::to_string(begin) + ", " +
                std::to_string(end) + ") of " + Quote(impl_->dataset) + " in " +
                Quote(impl_->file) + ", which has " + std::to_string(d[0]) +
                " rows");
  if (end == begin || d[1] * d[2] == 0) return;
  Guard("cannot read " + Quote(impl_->dataset) + " from " + Quote(impl_->file),
        [&] {
          const hsize_t start[3] = {static_cast<hsize_t>(begin), 0, 0};
          const hsize_t count[3] = {static_cast<hsize_t>(end - begin),
                                    static_cast<hsize_t>(d[1]),
                                    static_cast<hsize_t>(d[2])};
          H5::DataSpace file_space = impl_->ds->getSpace();
          file_space.selectHyperslab(H5S_SELECT_SET, count, start);
          H5::DataSpace memory_space(3, count);
          impl_->ds->read(
              buffer, H5::PredType::NATIVE_DOUBLE, memory_space, file_space);
        });
}

namespace {

H5::Attribute OpenAttribute(const H5::H5File& f,
                            const std::string& file,
                            const std::string& object,
                            const std::string& name) {
  if (!PathExists(f, object))
    throw Error("no object " + Quote(object) + " in " + Quote(file));
  auto open = [&](const H5::H5Object& owner) {
    if (!owner.attrExists(name))
      throw Error("no attribute " + Quote(name) + " on " + Quote(object) +
                  " in " + Quote(file));
    return owner.openAttribute(name);
  };
  if (object == "/" || f.childObjType(object) == H5O_TYPE_GROUP)
    return open(f.openGroup(object));
  return open(f.openDataSet(object));
}

// The strings of a 1-D string array attribute (h5py writes a list of str
// so), joined by commas.
std::string ReadStringArray(const H5::Attribute& attr, size_t count) {
  const H5::StrType type = attr.getStrType();
  std::string joined;
  if (type.isVariableStr()) {
    std::vector<char*> items(count, nullptr);
    attr.read(type, items.data());
    for (size_t i = 0; i < count; ++i)
      joined += (i ? "," : "") + std::string(items[i] ? items[i] : "");
    H5::DataSpace space = attr.getSpace();
    H5Dvlen_reclaim(type.getId(), space.getId(), H5P_DEFAULT, items.data());
    return joined;
  }
  const size_t size = type.getSize();
  std::vector<char> buffer(size * count + 1, '\0');
  attr.read(type, buffer.data());
  for (size_t i = 0; i < count; ++i)
    joined +=
        (i ? "," : "") + std::string(buffer.data() + i * size,
                                     strnlen(buffer.data() + i * size, size));
  return joined;
}

// How many values `attr` holds (1 for a scalar).
hssize_t CountOf(const H5::Attribute& attr) {
  return attr.getSpace().getSimpleExtentNpoints();
}

// The string of an attribute; a list of strings comes back joined by
// commas (ReadStringArray), each buffer sized for what the attribute holds.
std::string ReadStringValue(const H5::Attribute& attr) {
  const hssize_t points = attr.getSpace().getSimpleExtentNpoints();
  if (points > 1) return ReadStringArray(attr, static_cast<size_t>(points));
  const H5::StrType type = attr.getStrType();
  if (type.isVariableStr()) {
    // Through the C API: a variable-length string may be null, on which
    // H5::Attribute::read(type, std::string&) crashes.
    char* text = nullptr;
    if (H5Aread(attr.getId(), type.getId(), &text) < 0)
      throw H5::AttributeIException("H5Aread", "cannot read a string");
    const std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::vector<char> buffer(type.getSize() + 1, '\0');
  attr.read(type, buffer.data());
  return std::string(buffer.data());
}

}  // namespace

bool HasAttribute(const std::string& file,
                  const std::string& object,
                  const std::string& name) {
  return Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = OpenForReading(file);
    if (!PathExists(f, object)) return false;
    if (object == "/" || f.childObjType(object) == H5O_TYPE_GROUP)
      return f.openGroup(object).attrExists(name);
    return f.openDataSet(object).attrExists(name);
  });
}

double ReadDoubleAttribute(const std::string& file,
                           const std::string& object,
                           const std::string& name) {
  return Guard(
      "cannot read attribute " + Quote(name) + " of " + Quote(file), [&] {
        H5::H5File f = OpenForReading(file);
        H5::Attribute attr = OpenAttribute(f, file, object, name);
        const H5T_class_t cls = attr.getTypeClass();
        if ((cls != H5T_FLOAT && cls != H5T_INTEGER) ||
            attr.getSpace().getSimpleExtentNpoints() != 1)
          throw Error("attribute " + Quote(name) + " of " + Quote(object) +
                      " in " + Quote(file) + " is not a number");
        double value = 0;
        attr.read(H5::PredType::NATIVE_DOUBLE, &value);
        return value;
      });
}

std::int64_t ReadIntAttribute(const std::string& file,
                              const std::string& object,
                              const std::string& name,
                              std::int64_t min,
                              std::int64_t max) {
  const double v = ReadDoubleAttribute(file, object, name);
  if (!IsInt64(v) || static_cast<std::int64_t>(v) < min ||
      static_cast<std::int64_t>(v) > max)
    throw Error("attribute " + Quote(name) + " of " + Quote(object) + " in " +
                Quote(file) + " is " + NumberToString(v) +
                ", expected a whole number from " + std::to_string(min) +
                " to " + std::to_string(max));
  return static_cast<std::int64_t>(v);
}

std::string ReadStringAttribute(const std::string& file,
                                const std::string& object,
                                const std::string& name) {
  return Guard(
      "cannot read attribute " + Quote(name) + " of " + Quote(file), [&] {
        H5::H5File f = OpenForReading(file);
        H5::Attribute attr = OpenAttribute(f, file, object, name);
        if (attr.getTypeClass() != H5T_STRING)
          throw Error("attribute " + Quote(name) + " of " + Quote(object) +
                      " in " + Quote(file) + " is not a string");
        return ReadStringValue(attr);  // a list of strings joined by commas
      });
}

namespace {

std::string RenderAttribute(const H5::Attribute& attr) {
  const H5T_class_t cls = attr.getTypeClass();
  const hssize_t n = CountOf(attr);
  if (cls == H5T_STRING)
    return n == 1 ? ReadStringValue(attr)
                  : "<" + std::to_string(n) + " strings>";
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    return "<" + TypeName(attr.getDataType()) + ">";
  std::vector<double> values(static_cast<size_t>(n));
  if (n > 0) attr.read(H5::PredType::NATIVE_DOUBLE, values.data());
  std::ostringstream out;
  out.precision(10);
  if (n != 1) out << "[";
  for (hssize_t i = 0; i < std::min<hssize_t>(n, 8); ++i)
    out << (i ? ", " : "") << values[static_cast<size_t>(i)];
  if (n > 8) out << ", ...";
  if (n != 1) out << "]";
  return out.str();
}

void DescribeAttributes(const H5::H5Object& object,
                        const std::string& path,
                        FileInfo* info) {
  for (int a = 0; a < object.getNumAttrs(); ++a) {
    H5::Attribute attr = object.openAttribute(static_cast<unsigned>(a));
    info->attributes.push_back({path, attr.getName(), RenderAttribute(attr)});
  }
}

void DescribeGroup(const H5::Group& group,
                   const std::string& path,
                   FileInfo* info) {
  DescribeAttributes(group, path, info);
  Walk(group,
       path,
       [&](const H5::Group& parent,
           const std::string& name,
           const std::string& child,
           H5O_type_t type) {
         if (type == H5O_TYPE_GROUP) {
           DescribeAttributes(parent.openGroup(name), child, info);
         } else if (type == H5O_TYPE_DATASET) {
           H5::DataSet ds = parent.openDataSet(name);
           DatasetInfo d{
               child, ShapeOf(ds.getSpace()), TypeName(ds.getDataType()), ""};
           if (ds.attrExists("axes") &&
               ds.openAttribute("axes").getTypeClass() == H5T_STRING)
             d.axes = ReadStringValue(ds.openAttribute("axes"));
           info->datasets.push_back(d);
           DescribeAttributes(ds, child, info);
         }
       });
}

}  // namespace

FileInfo Describe(const std::string& file) {
  return Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = OpenForReading(file);
    FileInfo info;
    DescribeGroup(f.openGroup("/"), "/", &info);
    return info;
  });
}

// ---------------------------------------------------------------------------
// OutputFile

struct OutputFile::Impl {
  std::string path;
  std::string temporary;
  std::unique_ptr<H5::H5File> file_owner;  // open until Commit
  H5::H5File& file() { return *file_owner; }
  bool committed = false;

  // The group at `path`, created (with its parents) if missing.
  H5::Group Group(const std::string& group_path) {
    if (group_path.empty() || group_path == "/") return file().openGroup("/");
    std::string prefix;
    std::stringstream parts(group_path);
    std::string part;
    while (std::getline(parts, part, '/')) {
      if (part.empty()) continue;
      prefix += "/" + part;
      if (H5Lexists(file().getId(), prefix.c_str(), H5P_DEFAULT) <= 0)
        file().createGroup(prefix);
    }
    return file().openGroup(group_path);
  }

  template <typename T>
  void Write(const std::string& dataset,
             const std::vector<hsize_t>& dims,
             const T* data,
             const H5::PredType& file_type,
             const H5::PredType& memory_type,
             const std::string& axes) {
    GuardWrite("cannot write " + Quote(dataset) + " to " + Quote(path), [&] {
      Group(ParentOf(dataset));
      H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
      H5::DataSet ds = file().createDataSet(dataset, file_type, space);
      size_t count = 1;
      for (hsize_t d : dims) count *= d;
      if (count > 0) ds.write(data, memory_type);
      if (!axes.empty()) WriteStringAttribute(ds, "axes", axes);
    });
  }

  template <typename T>
  void WriteScalar(const std::string& object,
                   const std::string& name,
                   const T& value,
                   const H5::PredType& file_type,
                   const H5::PredType& memory_type) {
    GuardWrite(
        "cannot write attribute " + Quote(name) + " to " + Quote(path), [&] {
          auto write = [&](H5::H5Object& owner) {
            if (owner.attrExists(name)) owner.removeAttr(name);
            owner.createAttribute(name, file_type, H5::DataSpace(H5S_SCALAR))
                .write(memory_type, &value);
          };
          if (object != "/" && PathExists(file(), object) &&
              file().childObjType(object) == H5O_TYPE_DATASET) {
            H5::DataSet ds = file().openDataSet(object);
            write(ds);
          } else {
            H5::Group g = Group(object);
            write(g);
          }
        });
  }
};

namespace {

// Throws unless `path` can be created: its directory exists and is
// writable, and it is not itself a directory. Returns the directory.
fs::path CheckOutputTarget(const std::string& path) {
  if (path.empty()) throw Error("no output file given (use -o FILE.h5)");
  const fs::path target(path);
  const fs::path directory =
      target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw Error("cannot write " + Quote(path) + ": directory " +
                Quote(directory.string()) + " does not exist");
  if (fs::is_directory(target, ec))
    throw Error("cannot write " + Quote(path) + ": it is a directory");
  if (access(directory.c_str(), W_OK) != 0)
    throw Error("cannot write " + Quote(path) + ": directory " +
                Quote(directory.string()) + " is not writable");
  return directory;
}

std::string NowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// The root attributes every ltr output carries.
void WriteProvenance(H5::Group* root, const std::string& command) {
  WriteStringAttribute(*root, "ltr_version", kVersion);
  WriteStringAttribute(*root, "command", command);
  WriteStringAttribute(*root, "created", NowIso8601());
}

}  // namespace

std::string PartialPath(const std::string& output) {
  return output + ".partial";
}

void RefuseOutputOverInput(const std::string& output,
                           const std::vector<std::string>& inputs) {
  for (const std::string& input : inputs) {
    if (input.empty()) continue;
    std::error_code ec;
    // equivalent() compares device and inode: symlinks, hard links and
    // relative spellings of one file all match. A missing file matches none.
    if (fs::equivalent(output, input, ec) ||
        fs::equivalent(PartialPath(output), input, ec))
      throw Error("the output " + Quote(output) + " is the input " +
                  Quote(input) +
                  "; give another -o (ltr never writes over its input)");
  }
}

OutputFile::OutputFile(const std::string& path, const std::string& command)
    : impl_(std::make_unique<Impl>()) {
  QuietHdf5();
  impl_->path = path;
  const fs::path target(path);
  const fs::path directory = CheckOutputTarget(path);
  impl_->temporary = (directory / ("." + target.filename().string() + ".tmp-" +
                                   std::to_string(getpid())))
                         .string();
  GuardWrite("cannot create " + Quote(impl_->temporary), [&] {
    impl_->file_owner =
        std::make_unique<H5::H5File>(impl_->temporary, H5F_ACC_TRUNC);
    H5::Group root = impl_->file().openGroup("/");
    WriteProvenance(&root, command);
  });
}

OutputFile::~OutputFile() {
  if (impl_ && !impl_->committed) {
    try {
      impl_->file().close();
    } catch (...) {
    }
    std::remove(impl_->temporary.c_str());
  }
}

const std::string& OutputFile::path() const { return impl_->path; }

void OutputFile::WriteTensor3(const std::string& dataset,
                              const Tensor3& x,
                              const std::string& axes) {
  const Dims& d = x.dims();
  impl_->Write(dataset,
               {static_cast<hsize_t>(d[0]),
                static_cast<hsize_t>(d[1]),
                static_cast<hsize_t>(d[2])},
               x.data(),
               H5::PredType::IEEE_F64LE,
               H5::PredType::NATIVE_DOUBLE,
               axes);
}

void OutputFile::WriteMask3(const std::string& dataset,
                            const Mask3& mask,
                            const std::string& axes) {
  const Dims& d = mask.dims();
  impl_->Write(dataset,
               {static_cast<hsize_t>(d[0]),
                static_cast<hsize_t>(d[1]),
                static_cast<hsize_t>(d[2])},
               mask.data(),
               H5::PredType::STD_U8LE,
               H5::PredType::NATIVE_UINT8,
               axes);
}

void OutputFile::WriteMatrix(const std::string& dataset,
                             const Matrix& m,
                             const std::string& axes) {
  const RowMajorMatrix row_major = m;
  impl_->Write(dataset,
               {static_cast<hsize_t>(m.rows()), static_cast<hsize_t>(m.cols())},
               row_major.data(),
               H5::PredType::IEEE_F64LE,
               H5::PredType::NATIVE_DOUBLE,
               axes);
}

void OutputFile::WriteVector(const std::string& dataset,
                             const Vector& v,
                             const std::string& axes) {
  impl_->Write(dataset,
               {static_cast<hsize_t>(v.size())},
               v.data(),
               H5::PredType::IEEE_F64LE,
               H5::PredType::NATIVE_DOUBLE,
               axes);
}

void OutputFile::WriteIntVector(const std::string& dataset,
                                const std::vector<std::int64_t>& v,
                                const std::string& axes) {
  impl_->Write(dataset,
               {static_cast<hsize_t>(v.size())},
               v.data(),
               H5::PredType::STD_I64LE,
               H5::PredType::NATIVE_INT64,
               axes);
}

void OutputFile::SetAttribute(const std::string& object,
                              const std::string& name,
                              double value) {
  impl_->WriteScalar(object,
                     name,
                     value,
                     H5::PredType::IEEE_F64LE,
                     H5::PredType::NATIVE_DOUBLE);
}

void OutputFile::SetAttribute(const std::string& object,
                              const std::string& name,
                              std::int64_t value) {
  impl_->WriteScalar(
      object, name, value, H5::PredType::STD_I64LE, H5::PredType::NATIVE_INT64);
}

void OutputFile::SetAttribute(const std::string& object,
                              const std::string& name,
                              const std::string& value) {
  GuardWrite(
      "cannot write attribute " + Quote(name) + " to " + Quote(impl_->path),
      [&] {
        if (object != "/" && PathExists(impl_->file(), object) &&
            impl_->file().childObjType(object) == H5O_TYPE_DATASET) {
          H5::DataSet ds = impl_->file().openDataSet(object);
          WriteStringAttribute(ds, name, value);
        } else {
          H5::Group g = impl_->Group(object);
          WriteStringAttribute(g, name, value);
        }
      });
}

void OutputFile::Commit() {
  Guard("cannot finish " + Quote(impl_->path), [&] { impl_->file().close(); });
  std::error_code ec;
  fs::rename(impl_->temporary, impl_->path, ec);
  if (ec)
    throw Error("cannot write " + Quote(impl_->path) + ": " + ec.message());
  impl_->committed = true;
  fs::remove(PartialPath(impl_->path), ec);
}

}  // namespace ltr::io

// ---------------------------------------------------------------------------
// AppendableFile

namespace ltr::io {
namespace {

H5::Group EnsureGroup(H5::H5File& file, const std::string& group_path) {
  if (group_path.empty() || group_path == "/") return file.openGroup("/");
  std::string prefix;
  std::stringstream parts(group_path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (H5Lexists(file.getId(), prefix.c_str(), H5P_DEFAULT) <= 0)
      file.createGroup(prefix);
  }
  return file.openGroup(group_path);
}

}  // namespace

struct AppendableFile::Impl {
  std::string path;
  std::unique_ptr<H5::H5File> file;

  bool Exists(const std::string& dataset) {
    return PathExists(*file, dataset) &&
           file->childObjType(dataset) == H5O_TYPE_DATASET;
  }

  // Opens or creates the extendible dataset (rows, row_shape...).
  H5::DataSet Extendible(const std::string& dataset,
                         const std::vector<Index>& row_shape,
                         const H5::PredType& file_type,
                         const std::string& axes) {
    if (Exists(dataset)) {
      H5::DataSet ds = file->openDataSet(dataset);
      const std::vector<Index> shape = ShapeOf(ds.getSpace());
      if (shape.size() != row_shape.size() + 1 ||
          !std::equal(row_shape.begin(), row_shape.end(), shape.begin() + 1))
        throw Error("cannot append to " + Quote(dataset) + " in " +
                    Quote(path) + ": it has shape " + ShapeToString(shape));
      return ds;
    }
    EnsureGroup(*file, ParentOf(dataset));
    std::vector<hsize_t> dims{0};
    std::vector<hsize_t> max_dims{H5S_UNLIMITED};
    std::vector<hsize_t> chunk{1};
    hsize_t row_size = 1;
    for (Index d : row_shape) {
      dims.push_back(static_cast<hsize_t>(d));
      max_dims.push_back(static_cast<hsize_t>(d));
      chunk.push_back(static_cast<hsize_t>(std::max<Index>(d, 1)));
      row_size *= static_cast<hsize_t>(std::max<Index>(d, 1));
    }
    // Scalar rows are chunked 1024 at a time; bigger rows one per chunk.
    if (row_shape.empty()) chunk[0] = 1024;
    (void)row_size;
    H5::DSetCreatPropList properties;
    properties.setChunk(static_cast<int>(chunk.size()), chunk.data());
    H5::DataSpace space(
        static_cast<int>(dims.size()), dims.data(), max_dims.data());
    H5::DataSet ds = file->createDataSet(dataset, file_type, space, properties);
    if (!axes.empty()) WriteStringAttribute(ds, "axes", axes);
    return ds;
  }

  // Appends `count` rows of row_shape from `data`.
  void Append(const std::string& dataset,
              const std::vector<Index>& row_shape,
              hsize_t count,
              const void* data,
              const H5::PredType& file_type,
              const H5::PredType& memory_type,
              const std::string& axes) {
    GuardWrite(
        "cannot append to " + Quote(dataset) + " in " + Quote(path), [&] {
          H5::DataSet ds = Extendible(dataset, row_shape, file_type, axes);
          std::vector<hsize_t> dims(row_shape.size() + 1);
          ds.getSpace().getSimpleExtentDims(dims.data());
          const hsize_t old_rows = dims[0];
          dims[0] = old_rows + count;
          ds.extend(dims.data());
          if (count == 0) return;
          H5::DataSpace file_space = ds.getSpace();
          std::vector<hsize_t> start(dims.size(), 0);
          std::vector<hsize_t> block = dims;
          start[0] = old_rows;
          block[0] = count;
          file_space.selectHyperslab(
              H5S_SELECT_SET, block.data(), start.data());
          H5::DataSpace memory_space(static_cast<int>(block.size()),
                                     block.data());
          ds.write(data, memory_type, memory_space, file_space);
        });
  }
};

AppendableFile::AppendableFile(const std::string& path,
                               const std::string& command,
                               Mode mode)
    : impl_(std::make_unique<Impl>()) {
  QuietHdf5();
  impl_->path = path;
  if (path.empty()) throw Error("no output file given (use -o FILE.h5)");
  if (mode == Mode::kResume) {
    OpenForReading(path);  // one-line errors for missing or corrupt files
    Guard("cannot open " + Quote(path) + " for appending", [&] {
      impl_->file = std::make_unique<H5::H5File>(path, H5F_ACC_RDWR);
    });
    return;
  }
  CheckOutputTarget(path);
  GuardWrite("cannot create " + Quote(path), [&] {
    impl_->file = std::make_unique<H5::H5File>(path, H5F_ACC_TRUNC);
    H5::Group root = impl_->file->openGroup("/");
    WriteProvenance(&root, command);
  });
}

AppendableFile::~AppendableFile() {
  if (impl_ && impl_->file) {
    try {
      impl_->file->close();
    } catch (...) {
    }
  }
}

const std::string& AppendableFile::path() const { return impl_->path; }

void AppendableFile::AppendRow(const std::string& dataset,
                               const std::vector<Index>& row_shape,
                               const double* values,
                               const std::string& axes) {
  impl_->Append(dataset,
                row_shape,
                1,
                values,
                H5::PredType::IEEE_F64LE,
                H5::PredType::NATIVE_DOUBLE,
                axes);
}

void AppendableFile::AppendRowFloat32(const std::string& dataset,
                                      const std::vector<Index>& row_shape,
                                      const double* values,
                                      const std::string& axes) {
  impl_->Append(dataset,
                row_shape,
                1,
                values,
                H5::PredType::IEEE_F32LE,
                H5::PredType::NATIVE_DOUBLE,
                axes);
}

void AppendableFile::AppendMatrix(const std::string& dataset,
                                  const Matrix& m,
                                  const std::string& axes) {
  const RowMajorMatrix row_major = m;
  AppendRow(dataset, {m.rows(), m.cols()}, row_major.data(), axes);
}

void AppendableFile::AppendValues(const std::string& dataset,
                                  const std::vector<double>& v,
                                  const std::string& axes) {
  impl_->Append(dataset,
                {},
                v.size(),
                v.data(),
                H5::PredType::IEEE_F64LE,
                H5::PredType::NATIVE_DOUBLE,
                axes);
}

void AppendableFile::AppendInts(const std::string& dataset,
                                const std::vector<std::int64_t>& v,
                                const std::string& axes) {
  impl_->Append(dataset,
                {},
                v.size(),
                v.data(),
                H5::PredType::STD_I64LE,
                H5::PredType::NATIVE_INT64,
                axes);
}

Index AppendableFile::Rows(const std::string& dataset) {
  return Guard("cannot read " + Quote(dataset) + " in " + Quote(impl_->path),
               [&]() -> Index {
                 if (!impl_->Exists(dataset)) return 0;
                 const std::vector<Index> shape =
                     ShapeOf(impl_->file->openDataSet(dataset).getSpace());
                 return shape.empty() ? 0 : shape[0];
               });
}

void AppendableFile::Truncate(const std::string& dataset, Index rows) {
  Guard("cannot truncate " + Quote(dataset) + " in " + Quote(impl_->path), [&] {
    if (!impl_->Exists(dataset)) return;
    H5::DataSet ds = impl_->file->openDataSet(dataset);
    const int rank = ds.getSpace().getSimpleExtentNdims();
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    ds.getSpace().getSimpleExtentDims(dims.data());
    if (static_cast<Index>(dims[0]) <= rows) return;
    dims[0] = static_cast<hsize_t>(rows);
    if (H5Dset_extent(ds.getId(), dims.data()) < 0)
      throw Error("cannot truncate " + Quote(dataset) + " in " +
                  Quote(impl_->path) + " (not extendible?)");
  });
}

void AppendableFile::WriteVector(const std::string& dataset, const Vector& v) {
  WriteMatrix(dataset, v, "");
}

void AppendableFile::WriteMatrix(const std::string& dataset,
                                 const Matrix& m,
                                 const std::string& axes) {
  GuardWrite("cannot write " + Quote(dataset) + " to " + Quote(impl_->path),
             [&] {
               const bool vector = m.cols() == 1;
               std::vector<hsize_t> dims{static_cast<hsize_t>(m.rows())};
               if (!vector) dims.push_back(static_cast<hsize_t>(m.cols()));
               if (impl_->Exists(dataset)) {
                 H5::DataSet ds = impl_->file->openDataSet(dataset);
                 const std::vector<Index> shape = ShapeOf(ds.getSpace());
                 if (shape.size() == dims.size() &&
                     std::equal(shape.begin(),
                                shape.end(),
                                dims.begin(),
                                [](Index a, hsize_t b) {
                                  return static_cast<hsize_t>(a) == b;
                                })) {
                   const RowMajorMatrix row_major = m;
                   ds.write(row_major.data(), H5::PredType::NATIVE_DOUBLE);
                   return;
                 }
                 H5Ldelete(impl_->file->getId(), dataset.c_str(), H5P_DEFAULT);
               }
               EnsureGroup(*impl_->file, ParentOf(dataset));
               H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
               H5::DataSet ds = impl_->file->createDataSet(
                   dataset, H5::PredType::IEEE_F64LE, space);
               const RowMajorMatrix row_major = m;
               if (m.size() > 0)
                 ds.write(row_major.data(), H5::PredType::NATIVE_DOUBLE);
               if (!axes.empty()) WriteStringAttribute(ds, "axes", axes);
             });
}

namespace {

template <typename T>
void SetScalarAttribute(H5::H5File& file,
                        const std::string& path,
                        const std::string& object,
                        const std::string& name,
                        const T& value,
                        const H5::PredType& file_type,
                        const H5::PredType& memory_type) {
  GuardWrite(
      "cannot write attribute " + Quote(name) + " to " + Quote(path), [&] {
        auto write = [&](H5::H5Object& owner) {
          if (owner.attrExists(name)) {
            H5::Attribute attr = owner.openAttribute(name);
            if (attr.getDataType() == file_type) {
              attr.write(memory_type, &value);
              return;
            }
            owner.removeAttr(name);
          }
          owner.createAttribute(name, file_type, H5::DataSpace(H5S_SCALAR))
              .write(memory_type, &value);
        };
        if (object != "/" && PathExists(file, object) &&
            file.childObjType(object) == H5O_TYPE_DATASET) {
          H5::DataSet ds = file.openDataSet(object);
          write(ds);
        } else {
          H5::Group g = EnsureGroup(file, object);
          write(g);
        }
      });
}

}  // namespace

void AppendableFile::SetAttribute(const std::string& object,
                                  const std::string& name,
                                  double value) {
  SetScalarAttribute(*impl_->file,
                     impl_->path,
                     object,
                     name,
                     value,
                     H5::PredType::IEEE_F64LE,
                     H5::PredType::NATIVE_DOUBLE);
}

void AppendableFile::SetAttribute(const std::string& object,
                                  const std::string& name,
                                  std::int64_t value) {
  SetScalarAttribute(*impl_->file,
                     impl_->path,
                     object,
                     name,
                     value,
                     H5::PredType::STD_I64LE,
                     H5::PredType::NATIVE_INT64);
}

void AppendableFile::SetAttribute(const std::string& object,
                                  const std::string& name,
                                  const std::string& value) {
  GuardWrite(
      "cannot write attribute " + Quote(name) + " to " + Quote(impl_->path),
      [&] {
        if (object != "/" && PathExists(*impl_->file, object) &&
            impl_->file->childObjType(object) == H5O_TYPE_DATASET) {
          H5::DataSet ds = impl_->file->openDataSet(object);
          WriteStringAttribute(ds, name, value);
        } else {
          H5::Group g = EnsureGroup(*impl_->file, object);
          WriteStringAttribute(g, name, value);
        }
      });
}

void AppendableFile::Flush() {
  Guard("cannot flush " + Quote(impl_->path),
        [&] { impl_->file->flush(H5F_SCOPE_GLOBAL); });
}

void AppendableFile::CommitTo(const std::string& final_path) {
  Guard("cannot finish " + Quote(impl_->path), [&] {
    impl_->file->close();
    impl_->file.reset();
  });
  std::error_code ec;
  fs::rename(impl_->path, final_path, ec);
  if (ec)
    throw Error("cannot write " + Quote(final_path) + ": " + ec.message());
}

}  // namespace ltr::io
