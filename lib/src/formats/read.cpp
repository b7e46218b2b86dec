// The readers of the generic HDF5 layer (ltr/formats/io.h): whole datasets,
// SlabReader, attributes and Describe. Every failure is a one-line
// ltr::Error naming the file and dataset.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <type_traits>

#include "formats/hdf5_common.h"

namespace ltr::io {
namespace {

// A group or dataset met by Walk: `name` in `parent`, at `path`.
struct Child {
  const H5::Group& parent;
  const std::string& name;
  const std::string& path;
  H5O_type_t type;
};

// Calls visit(child) for every group and dataset below `group` (at `path`),
// depth first in name order.
template <typename Visit>
void Walk(const H5::Group& group, const std::string& path, Visit visit) {
  std::vector<std::string> names;
  for (hsize_t i = 0; i < group.getNumObjs(); ++i)
    names.push_back(group.getObjnameByIdx(i));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string child = (path == "/" ? "/" : path + "/") + name;
    const H5O_type_t type = group.childObjType(name);
    visit(Child{group, name, child, type});
    if (type == H5O_TYPE_GROUP) Walk(group.openGroup(name), child, visit);
  }
}

// "/a (9 x 6 x 5)", one entry per dataset of `rank` dimensions (any rank
// when negative), depth first in name order.
void ListDatasets(const H5::Group& group,
                  const std::string& path,
                  int rank,
                  std::vector<std::string>* out) {
  Walk(group, path, [&](const Child& c) {
    if (c.type != H5O_TYPE_DATASET) return;
    const std::vector<Index> shape =
        ShapeOf(c.parent.openDataSet(c.name).getSpace());
    if (rank >= 0 && static_cast<int>(shape.size()) != rank) return;
    std::string dims;
    for (size_t d = 0; d < shape.size(); ++d)
      dims += (d ? " x " : "") + std::to_string(shape[d]);
    out->push_back(c.path + " (" + dims + ")");
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
    return IsDataset(f, dataset);
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
  std::copy(values.begin(), values.end(), x.data());
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
    throw FileError("cannot read rows [" + std::to_string(begin) + ", " +
                    std::to_string(end) + ") of " + Quote(impl_->dataset) +
                    " in " + Quote(impl_->file) + ", which has " +
                    std::to_string(d[0]) + " rows");
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

// "attribute 'name' of 'object' in 'file'", for messages.
std::string AttributeName(const std::string& file,
                          const std::string& object,
                          const std::string& name) {
  return "attribute " + Quote(name) + " of " + Quote(object) + " in " +
         Quote(file);
}

// read(attribute) of attribute `name` of `object` in `file`.
template <typename Read>
auto ReadAttribute(const std::string& file,
                   const std::string& object,
                   const std::string& name,
                   Read read) {
  return Guard("cannot read attribute " + Quote(name) + " of " + Quote(file),
               [&] {
                 H5::H5File f = OpenForReading(file);
                 return read(OpenAttribute(f, file, object, name));
               });
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
  return ReadAttribute(file, object, name, [&](const H5::Attribute& attr) {
    const H5T_class_t cls = attr.getTypeClass();
    if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || CountOf(attr) != 1)
      throw Error(AttributeName(file, object, name) + " is not a number");
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
  // An integer attribute is read as int64, not through a double, which
  // rounds above 2^53.
  double v = 0;
  bool whole = true;
  std::int64_t value = 0;
  ReadAttribute(file, object, name, [&](const H5::Attribute& attr) {
    const H5T_class_t cls = attr.getTypeClass();
    if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || CountOf(attr) != 1)
      throw Error(AttributeName(file, object, name) + " is not a number");
    if (cls == H5T_INTEGER) {
      attr.read(H5::PredType::NATIVE_INT64, &value);
      v = static_cast<double>(value);
    } else {
      attr.read(H5::PredType::NATIVE_DOUBLE, &v);
      whole = IsInt64(v);
      if (whole) value = static_cast<std::int64_t>(v);
    }
    return 0;
  });
  if (!whole || value < min || value > max)
    throw Error(AttributeName(file, object, name) + " is " + NumberToString(v) +
                ", expected a whole number from " + std::to_string(min) +
                " to " + std::to_string(max));
  return value;
}

double DoubleAttributeOr(const std::string& file,
                         const std::string& object,
                         const std::string& name,
                         double fallback) {
  return HasAttribute(file, object, name)
             ? ReadDoubleAttribute(file, object, name)
             : fallback;
}

std::string StringAttributeOr(const std::string& file,
                              const std::string& object,
                              const std::string& name,
                              const std::string& fallback) {
  return HasAttribute(file, object, name)
             ? ReadStringAttribute(file, object, name)
             : fallback;
}

std::string ReadStringAttribute(const std::string& file,
                                const std::string& object,
                                const std::string& name) {
  return ReadAttribute(file, object, name, [&](const H5::Attribute& attr) {
    if (attr.getTypeClass() != H5T_STRING)
      throw Error(AttributeName(file, object, name) + " is not a string");
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
  Walk(group, path, [&](const Child& c) {
    if (c.type == H5O_TYPE_GROUP) {
      DescribeAttributes(c.parent.openGroup(c.name), c.path, info);
    } else if (c.type == H5O_TYPE_DATASET) {
      H5::DataSet ds = c.parent.openDataSet(c.name);
      DatasetInfo d{
          c.path, ShapeOf(ds.getSpace()), TypeName(ds.getDataType()), ""};
      if (ds.attrExists("axes") &&
          ds.openAttribute("axes").getTypeClass() == H5T_STRING)
        d.axes = ReadStringValue(ds.openAttribute("axes"));
      info->datasets.push_back(d);
      DescribeAttributes(ds, c.path, info);
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

}  // namespace ltr::io
