// AttributeWriter: the one scalar-attribute and one string-attribute writer
// of OutputFile and AppendableFile.
#include "formats/hdf5_common.h"

namespace ltr::io {
namespace {

// Runs write(owner) on the dataset `object`, or else on the group `object`
// (created with its parents if missing), in the file `out`.
template <typename Write>
void WriteAttribute(detail::WritableFile& out,
                    const std::string& object,
                    const std::string& name,
                    Write write) {
  GuardWrite("cannot write attribute " + Quote(name) + " to " + Quote(out.path),
             [&] {
               H5::H5File& file = *out.h5;
               if (object != "/" && IsDataset(file, object)) {
                 H5::DataSet ds = file.openDataSet(object);
                 write(ds);
               } else {
                 H5::Group g = EnsureGroup(file, object);
                 write(g);
               }
             });
}

// A scalar number attribute: overwritten in place when it exists as a scalar
// of the same type (a checkpoint's counters), replaced otherwise.
void WriteScalarAttribute(H5::H5Object& owner,
                          const std::string& name,
                          const void* value,
                          const ElementTypes& types) {
  if (owner.attrExists(name)) {
    H5::Attribute attr = owner.openAttribute(name);
    if (attr.getDataType() == types.file &&
        attr.getSpace().getSimpleExtentType() == H5S_SCALAR) {
      attr.write(types.memory, value);
      return;
    }
    owner.removeAttr(name);
  }
  owner.createAttribute(name, types.file, H5::DataSpace(H5S_SCALAR))
      .write(types.memory, value);
}

}  // namespace

void AttributeWriter::SetAttribute(const std::string& object,
                                   const std::string& name,
                                   double value) {
  WriteAttribute(writable(), object, name, [&](H5::H5Object& owner) {
    WriteScalarAttribute(owner, name, &value, TypesOf<double>());
  });
}

void AttributeWriter::SetAttribute(const std::string& object,
                                   const std::string& name,
                                   std::int64_t value) {
  WriteAttribute(writable(), object, name, [&](H5::H5Object& owner) {
    WriteScalarAttribute(owner, name, &value, TypesOf<std::int64_t>());
  });
}

void AttributeWriter::SetAttribute(const std::string& object,
                                   const std::string& name,
                                   const std::string& value) {
  WriteAttribute(writable(), object, name, [&](H5::H5Object& owner) {
    WriteStringAttribute(owner, name, value);
  });
}

}  // namespace ltr::io
