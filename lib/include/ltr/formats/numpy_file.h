// Reading NumPy .npy files and the arrays of .npz archives (np.savez, and
// np.savez_compressed through zlib), in C or Fortran order, of the common
// dtypes (float64/32, int8..64, uint8..64, bool; either byte order).
#ifndef LTR_FORMATS_NUMPY_FILE_H_
#define LTR_FORMATS_NUMPY_FILE_H_

#include <string>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr {

struct NumpyArray {
  std::vector<Index> shape;
  std::vector<double> values;  // row-major (C order) whatever the storage
  std::string dtype;           // the header's descr, e.g. "<f8"
  bool fortran_order = false;  // as stored
};

// Throws ltr::Error (one line naming the file) on a malformed header, an
// unsupported dtype (object, complex, strings) or a truncated file.
NumpyArray ReadNpy(const std::string& file);
// The member `name` (with or without ".npy") of an .npz archive; an empty
// name reads the only member and is refused, naming them, when there are
// several.
NumpyArray ReadNpz(const std::string& file, const std::string& name);
// The arrays of an .npz archive, without ".npy".
std::vector<std::string> NpzMembers(const std::string& file);

}  // namespace ltr

#endif  // LTR_FORMATS_NUMPY_FILE_H_
