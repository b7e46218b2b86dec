// AppendableFile: a file that grows, a row at a time, in extendible chunked
// datasets while a long computation runs (trajectories, checkpoints).
#include "formats/hdf5_common.h"

namespace ltr::io {

namespace fs = std::filesystem;

struct AppendableFile::Impl : detail::WritableFile {
  bool Exists(const std::string& dataset) { return IsDataset(*h5, dataset); }

  // Opens or creates the extendible dataset (rows, row_shape...).
  H5::DataSet Extendible(const std::string& dataset,
                         const std::vector<Index>& row_shape,
                         const H5::PredType& file_type,
                         const std::string& axes) {
    if (Exists(dataset)) {
      H5::DataSet ds = h5->openDataSet(dataset);
      const std::vector<Index> shape = ShapeOf(ds.getSpace());
      if (shape.size() != row_shape.size() + 1 ||
          !std::equal(row_shape.begin(), row_shape.end(), shape.begin() + 1))
        throw Error("cannot append to " + Quote(dataset) + " in " +
                    Quote(path) + ": it has shape " + ShapeToString(shape));
      return ds;
    }
    EnsureGroup(*h5, ParentOf(dataset));
    std::vector<hsize_t> dims{0};
    std::vector<hsize_t> max_dims{H5S_UNLIMITED};
    std::vector<hsize_t> chunk{1};
    for (Index d : row_shape) {
      dims.push_back(static_cast<hsize_t>(d));
      max_dims.push_back(static_cast<hsize_t>(d));
      chunk.push_back(static_cast<hsize_t>(std::max<Index>(d, 1)));
    }
    // Scalar rows are chunked 1024 at a time; bigger rows one per chunk.
    if (row_shape.empty()) chunk[0] = 1024;
    H5::DSetCreatPropList properties;
    properties.setChunk(static_cast<int>(chunk.size()), chunk.data());
    H5::DataSpace space(
        static_cast<int>(dims.size()), dims.data(), max_dims.data());
    H5::DataSet ds = h5->createDataSet(dataset, file_type, space, properties);
    if (!axes.empty()) WriteStringAttribute(ds, "axes", axes);
    return ds;
  }

  // Appends `count` rows of row_shape from `data`.
  void Append(const std::string& dataset,
              const std::vector<Index>& row_shape,
              hsize_t count,
              const void* data,
              const ElementTypes& types,
              const std::string& axes) {
    GuardWrite(
        "cannot append to " + Quote(dataset) + " in " + Quote(path), [&] {
          H5::DataSet ds = Extendible(dataset, row_shape, types.file, axes);
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
          ds.write(data, types.memory, memory_space, file_space);
        });
  }

  // Overwrites `dataset` in place if it has shape `dims`; returns false
  // (having deleted it, if it exists) otherwise.
  bool Overwrite(const std::string& dataset,
                 const std::vector<hsize_t>& dims,
                 const double* data) {
    if (!Exists(dataset)) return false;
    H5::DataSet ds = h5->openDataSet(dataset);
    const std::vector<Index> shape = ShapeOf(ds.getSpace());
    if (shape.size() == dims.size() &&
        std::equal(
            shape.begin(), shape.end(), dims.begin(), [](Index a, hsize_t b) {
              return static_cast<hsize_t>(a) == b;
            })) {
      ds.write(data, H5::PredType::NATIVE_DOUBLE);
      return true;
    }
    H5Ldelete(h5->getId(), dataset.c_str(), H5P_DEFAULT);
    return false;
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
      impl_->h5 = std::make_unique<H5::H5File>(path, H5F_ACC_RDWR);
    });
    return;
  }
  CheckOutputTarget(path);
  GuardWrite("cannot create " + Quote(path), [&] {
    impl_->h5 = std::make_unique<H5::H5File>(path, H5F_ACC_TRUNC);
    WriteProvenance(*impl_->h5, command);
  });
}

AppendableFile::~AppendableFile() {
  if (impl_ && impl_->h5) {
    try {
      impl_->h5->close();
    } catch (...) {
    }
  }
}

const std::string& AppendableFile::path() const { return impl_->path; }

detail::WritableFile& AppendableFile::writable() { return *impl_; }

void AppendableFile::AppendRow(const std::string& dataset,
                               const std::vector<Index>& row_shape,
                               const double* values,
                               const std::string& axes) {
  impl_->Append(dataset, row_shape, 1, values, TypesOf<double>(), axes);
}

void AppendableFile::AppendRowFloat32(const std::string& dataset,
                                      const std::vector<Index>& row_shape,
                                      const double* values,
                                      const std::string& axes) {
  const ElementTypes float32{H5::PredType::IEEE_F32LE,
                             H5::PredType::NATIVE_DOUBLE};
  impl_->Append(dataset, row_shape, 1, values, float32, axes);
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
  impl_->Append(dataset, {}, v.size(), v.data(), TypesOf<double>(), axes);
}

void AppendableFile::AppendInts(const std::string& dataset,
                                const std::vector<std::int64_t>& v,
                                const std::string& axes) {
  impl_->Append(dataset, {}, v.size(), v.data(), TypesOf<std::int64_t>(), axes);
}

Index AppendableFile::Rows(const std::string& dataset) {
  return Guard("cannot read " + Quote(dataset) + " in " + Quote(impl_->path),
               [&]() -> Index {
                 if (!impl_->Exists(dataset)) return 0;
                 const std::vector<Index> shape =
                     ShapeOf(impl_->h5->openDataSet(dataset).getSpace());
                 return shape.empty() ? 0 : shape[0];
               });
}

void AppendableFile::Truncate(const std::string& dataset, Index rows) {
  Guard("cannot truncate " + Quote(dataset) + " in " + Quote(impl_->path), [&] {
    if (!impl_->Exists(dataset)) return;
    H5::DataSet ds = impl_->h5->openDataSet(dataset);
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

void AppendableFile::WriteVector(const std::string& dataset,
                                 const Vector& v,
                                 const std::string& axes) {
  WriteMatrix(dataset, v, axes);
}

void AppendableFile::WriteMatrix(const std::string& dataset,
                                 const Matrix& m,
                                 const std::string& axes) {
  GuardWrite(
      "cannot write " + Quote(dataset) + " to " + Quote(impl_->path), [&] {
        std::vector<hsize_t> dims{static_cast<hsize_t>(m.rows())};
        if (m.cols() != 1) dims.push_back(static_cast<hsize_t>(m.cols()));
        const RowMajorMatrix row_major = m;
        if (impl_->Overwrite(dataset, dims, row_major.data())) return;
        WriteNewDataset(*impl_->h5, dataset, dims, row_major.data(), axes);
      });
}

void AppendableFile::Flush() {
  Guard("cannot flush " + Quote(impl_->path),
        [&] { impl_->h5->flush(H5F_SCOPE_GLOBAL); });
}

void AppendableFile::CommitTo(const std::string& final_path) {
  Guard("cannot finish " + Quote(impl_->path), [&] {
    impl_->h5->close();
    impl_->h5.reset();
  });
  std::error_code ec;
  fs::rename(impl_->path, final_path, ec);
  if (ec)
    throw FileError("cannot write " + Quote(final_path) + ": " + ec.message());
}

}  // namespace ltr::io
