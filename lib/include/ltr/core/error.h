// Errors raised for bad input and I/O failure. Numerical trouble (no
// convergence, divergence) is never an exception: it is reported in the
// Summary of the algorithm that met it.
#ifndef LTR_ERROR_H_
#define LTR_ERROR_H_

#include <stdexcept>
#include <string>

namespace ltr {

// The one exception type of the project. Its message is a single line that
// names the file, the dataset or the option at fault and what was expected.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A file that cannot be opened, read or written (no such file, not HDF5, a
// directory that is not writable, a failed rename). Bad content in a file
// that opens (a missing dataset, a wrong shape) is a plain Error. The Python
// binding raises OSError for this one and ValueError for the others.
class FileError : public Error {
 public:
  explicit FileError(const std::string& message) : Error(message) {}
};

}  // namespace ltr

#endif  // LTR_ERROR_H_
