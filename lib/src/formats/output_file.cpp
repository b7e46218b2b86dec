// OutputFile (written to a temporary file, renamed when complete),
// PartialPath and RefuseOutputOverInput: the output rule of every command.
#include <unistd.h>

#include <cstdio>

#include "formats/hdf5_common.h"

namespace ltr::io {

namespace fs = std::filesystem;

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

// path: the final name; h5: the temporary file, open until Commit.
struct OutputFile::Impl : detail::WritableFile {
  std::string temporary;
  bool committed = false;

  template <typename T>
  void Write(const std::string& dataset,
             const std::vector<hsize_t>& dims,
             const T* data,
             const std::string& axes) {
    GuardWrite("cannot write " + Quote(dataset) + " to " + Quote(path),
               [&] { WriteNewDataset(*h5, dataset, dims, data, axes); });
  }
};

namespace {

std::vector<hsize_t> Extents(const Dims& d) {
  return {static_cast<hsize_t>(d[0]),
          static_cast<hsize_t>(d[1]),
          static_cast<hsize_t>(d[2])};
}

}  // namespace

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
    impl_->h5 = std::make_unique<H5::H5File>(impl_->temporary, H5F_ACC_TRUNC);
    WriteProvenance(*impl_->h5, command);
  });
}

OutputFile::~OutputFile() {
  if (impl_ && !impl_->committed) {
    try {
      impl_->h5->close();
    } catch (...) {
    }
    std::remove(impl_->temporary.c_str());
  }
}

const std::string& OutputFile::path() const { return impl_->path; }

detail::WritableFile& OutputFile::writable() { return *impl_; }

void OutputFile::WriteTensor3(const std::string& dataset,
                              const Tensor3& x,
                              const std::string& axes) {
  impl_->Write(dataset, Extents(x.dims()), x.data(), axes);
}

void OutputFile::WriteMask3(const std::string& dataset,
                            const Mask3& mask,
                            const std::string& axes) {
  impl_->Write(dataset, Extents(mask.dims()), mask.data(), axes);
}

void OutputFile::WriteMatrix(const std::string& dataset,
                             const Matrix& m,
                             const std::string& axes) {
  const RowMajorMatrix row_major = m;
  impl_->Write(dataset,
               {static_cast<hsize_t>(m.rows()), static_cast<hsize_t>(m.cols())},
               row_major.data(),
               axes);
}

void OutputFile::WriteVector(const std::string& dataset,
                             const Vector& v,
                             const std::string& axes) {
  impl_->Write(dataset, {static_cast<hsize_t>(v.size())}, v.data(), axes);
}

void OutputFile::WriteIntVector(const std::string& dataset,
                                const std::vector<std::int64_t>& v,
                                const std::string& axes) {
  impl_->Write(dataset, {static_cast<hsize_t>(v.size())}, v.data(), axes);
}

void OutputFile::Commit() {
  Guard("cannot finish " + Quote(impl_->path), [&] { impl_->h5->close(); });
  std::error_code ec;
  fs::rename(impl_->temporary, impl_->path, ec);
  if (ec)
    throw FileError("cannot write " + Quote(impl_->path) + ": " + ec.message());
  impl_->committed = true;
  fs::remove(PartialPath(impl_->path), ec);
}

}  // namespace ltr::io
