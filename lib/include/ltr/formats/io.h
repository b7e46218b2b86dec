// Reading and writing ltr's HDF5 files. This module is the only code that
// knows HDF5; everything it throws is an ltr::Error with a one-line message
// naming the file and dataset.
//
// On disk every array is row-major, as h5py shows it: a (rows, cols) dataset
// is a Matrix with the same rows and columns, and a 3-way dataset is a
// Tensor3 with the same dimensions. Readers accept float64, float32 and
// integer data.
#ifndef LTR_IO_H_
#define LTR_IO_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr::io {

// Throws ltr::Error unless `file` exists and is a readable HDF5 file.
void CheckReadable(const std::string& file);
bool HasDataset(const std::string& file, const std::string& dataset);
// Shape of a dataset as stored.
std::vector<Index> DatasetShape(const std::string& file,
                                const std::string& dataset);

Tensor3 ReadTensor3(const std::string& file, const std::string& dataset);
// Any nonzero value counts as observed.
Mask3 ReadMask3(const std::string& file, const std::string& dataset);
Matrix ReadMatrix(const std::string& file, const std::string& dataset);
Vector ReadVector(const std::string& file, const std::string& dataset);
std::vector<std::int64_t> ReadIntVector(const std::string& file,
                                        const std::string& dataset);

// Attributes of a group or dataset (`object`, "/" for the root).
bool HasAttribute(const std::string& file,
                  const std::string& object,
                  const std::string& name);
double ReadDoubleAttribute(const std::string& file,
                           const std::string& object,
                           const std::string& name);
std::string ReadStringAttribute(const std::string& file,
                                const std::string& object,
                                const std::string& name);
// A whole-number attribute, every bit of an integer one (an int64 seed
// above 2^53 too); throws ltr::Error unless it lies in [min, max].
std::int64_t ReadIntAttribute(
    const std::string& file,
    const std::string& object,
    const std::string& name,
    std::int64_t min = std::numeric_limits<std::int64_t>::min(),
    std::int64_t max = std::numeric_limits<std::int64_t>::max());
// Attributes a layout makes optional: the value, or `fallback` when the
// file does not have it.
double DoubleAttributeOr(const std::string& file,
                         const std::string& object,
                         const std::string& name,
                         double fallback);
std::string StringAttributeOr(const std::string& file,
                              const std::string& object,
                              const std::string& name,
                              const std::string& fallback = "");

// Reads a 3-way dataset a slab of its first dimension at a time (snapshots
// [begin, end) of a trajectory), so that a dataset larger than memory can be
// processed in pieces. The file stays open for the reader's lifetime. Data
// stored as float32 or integers are converted to double on reading.
class SlabReader {
 public:
  // Throws ltr::Error unless `dataset` in `file` is a numeric 3-D dataset.
  SlabReader(const std::string& file, const std::string& dataset);
  ~SlabReader();
  SlabReader(const SlabReader&) = delete;
  SlabReader& operator=(const SlabReader&) = delete;

  // The dataset's shape, known without reading any data.
  const Dims& dims() const;
  // First-dimension extent of one storage chunk (1 for trajectories written
  // by AppendableFile); 0 when the dataset is contiguous. Slabs made of whole
  // chunks are read without touching a chunk twice.
  Index chunk_rows() const;
  // "float64", "float32", "int32", ...
  const std::string& dtype() const;
  // Copies rows [begin, end) (row-major, (end - begin) x J x K doubles) into
  // buffer. Throws ltr::Error on a range outside [0, dims()[0]].
  void Read(Index begin, Index end, double* buffer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct DatasetInfo {
  std::string path;
  std::vector<Index> shape;
  std::string dtype;  // "float64", "int32", "uint8", "string", ...
  std::string axes;   // the `axes` attribute, empty if absent
};
struct AttributeInfo {
  std::string object;  // group or dataset path
  std::string name;
  std::string value;  // rendered as text
};
struct FileInfo {
  std::vector<DatasetInfo> datasets;
  std::vector<AttributeInfo> attributes;
};
// Every dataset and attribute in the file, depth first in name order.
FileInfo Describe(const std::string& file);

// The output rule of every command (docs/reliability.md): OUT is only ever
// replaced by a complete result. A run that stops early (a signal, a
// checkpoint) leaves OUT.partial instead, which --resume reads; committing
// OUT removes it.
std::string PartialPath(const std::string& output);

// Throws ltr::Error, before anything is written, when `output` is the same
// file as one of `inputs` (also through a symlink, a hard link or another
// relative path), or is the partial file of one. Empty inputs are skipped.
void RefuseOutputOverInput(const std::string& output,
                           const std::vector<std::string>& inputs);

namespace detail {
struct WritableFile;  // the open file (lib/src/formats/hdf5_common.h)
}  // namespace detail

// The SetAttribute methods of OutputFile and AppendableFile: attributes on a
// group or dataset (`object`, "/" for the root) of the file being written;
// groups are created if missing. A number or string replaces an attribute of
// that name (a number of the same type is overwritten in place).
class AttributeWriter {
 public:
  void SetAttribute(const std::string& object,
                    const std::string& name,
                    double value);
  void SetAttribute(const std::string& object,
                    const std::string& name,
                    std::int64_t value);
  void SetAttribute(const std::string& object,
                    const std::string& name,
                    int value) {
    SetAttribute(object, name, static_cast<std::int64_t>(value));
  }
  void SetAttribute(const std::string& object,
                    const std::string& name,
                    const std::string& value);
  void SetAttribute(const std::string& object,
                    const std::string& name,
                    const char* value) {
    SetAttribute(object, name, std::string(value));
  }

 protected:
  AttributeWriter() = default;
  virtual ~AttributeWriter() = default;
  // The file the attributes go to.
  virtual detail::WritableFile& writable() = 0;
};

// Datasets written whole, to an OutputFile or an AppendableFile: what a
// layout writer needs that may go to either (a Kruskal tensor).
class DatasetWriter : public AttributeWriter {
 public:
  virtual void WriteMatrix(const std::string& dataset,
                           const Matrix& m,
                           const std::string& axes = "") = 0;
  virtual void WriteVector(const std::string& dataset,
                           const Vector& v,
                           const std::string& axes = "") = 0;
};

// An output file that appears only when complete: data go to a temporary
// file beside `path`, which Commit() renames to `path`. Destroyed without a
// Commit (an error, an exception), the temporary file is removed and `path`
// is left as it was; a committed `path` makes PartialPath(path) obsolete,
// and it is removed. The constructor fails at once, before any work, if the
// directory does not exist or is not writable. Intermediate groups are
// created as needed. Root attributes ltr_version, command and created are
// written on construction.
class OutputFile : public DatasetWriter {
 public:
  OutputFile(const std::string& path, const std::string& command);
  ~OutputFile() override;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::string& path() const;

  void WriteTensor3(const std::string& dataset,
                    const Tensor3& x,
                    const std::string& axes);
  void WriteMask3(const std::string& dataset,
                  const Mask3& mask,
                  const std::string& axes);
  void WriteMatrix(const std::string& dataset,
                   const Matrix& m,
                   const std::string& axes = "") override;
  void WriteVector(const std::string& dataset,
                   const Vector& v,
                   const std::string& axes = "") override;
  void WriteIntVector(const std::string& dataset,
                      const std::vector<std::int64_t>& v,
                      const std::string& axes = "");
  void Commit();

 private:
  detail::WritableFile& writable() override;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A file that grows while a long computation runs (a learning trajectory):
// rows are appended to extendible, chunked datasets (one row per chunk) and
// nothing is buffered here, so memory stays at one row whatever the length
// of the run. Flush() makes everything written so far durable (H5Fflush);
// a process killed between two flushes leaves a file that reads as it was
// at the last flush, provided the caller writes only inside the flush
// "transactions" (append, then Flush). Unlike OutputFile it writes `path`
// in place, so that an interrupted run can be resumed.
class AppendableFile : public DatasetWriter {
 public:
  enum class Mode {
    kCreate,  // create or truncate `path`; writes the root attributes
    kResume,  // open an existing file for appending
  };
  // Fails at once if the directory does not exist or is not writable
  // (kCreate) or the file is not a readable HDF5 file (kResume).
  AppendableFile(const std::string& path,
                 const std::string& command,
                 Mode mode);
  ~AppendableFile() override;  // closes the file (flushing it)
  AppendableFile(const AppendableFile&) = delete;
  AppendableFile& operator=(const AppendableFile&) = delete;

  const std::string& path() const;

  // Appends one row of shape row_shape (row-major values) to `dataset`,
  // whose shape is (rows, row_shape...); created on first use. Throws
  // ltr::Error if the dataset exists with another row shape.
  void AppendRow(const std::string& dataset,
                 const std::vector<Index>& row_shape,
                 const double* values,
                 const std::string& axes = "");
  // A matrix row (rows, cols) (stored row-major).
  void AppendMatrix(const std::string& dataset,
                    const Matrix& m,
                    const std::string& axes = "");
  // As AppendRow, stored as float32 (half the disk space and read traffic;
  // values are rounded to single precision).
  void AppendRowFloat32(const std::string& dataset,
                        const std::vector<Index>& row_shape,
                        const double* values,
                        const std::string& axes = "");
  // Several scalar rows of a 1-D float64 or int64 dataset.
  void AppendValues(const std::string& dataset,
                    const std::vector<double>& v,
                    const std::string& axes = "");
  void AppendInts(const std::string& dataset,
                  const std::vector<std::int64_t>& v,
                  const std::string& axes = "");
  // Rows of an extendible dataset (0 if it does not exist).
  Index Rows(const std::string& dataset);
  // Shrinks an extendible dataset to `rows` rows (no-op if absent).
  void Truncate(const std::string& dataset, Index rows);

  // A fixed-size float64 vector, overwritten in place when it exists with
  // the same length (checkpoints), recreated otherwise.
  void WriteVector(const std::string& dataset,
                   const Vector& v,
                   const std::string& axes = "") override;
  void WriteMatrix(const std::string& dataset,
                   const Matrix& m,
                   const std::string& axes = "") override;

  void Flush();
  // Closes the file and renames it to `final_path` (replacing it): a file
  // grown at a temporary or partial name becomes the result only when
  // complete. Nothing may be written afterwards.
  void CommitTo(const std::string& final_path);

 private:
  detail::WritableFile& writable() override;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ltr::io

#endif  // LTR_IO_H_
