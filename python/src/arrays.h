// numpy arrays to the library's tensors and back.
//
// In: any real numeric array of the right dimension, in any memory order
// (C, Fortran or strided views) and dtype; float64 and float32 are copied
// once, straight into the library's row-major storage; other dtypes are
// converted by numpy first. Masks take bool or 0/1 numbers.
// Out: the library's results become numpy arrays without a copy (the array
// owns the Eigen or tensor storage; factor matrices are Fortran-ordered).
#ifndef LTR_PYTHON_ARRAYS_H_
#define LTR_PYTHON_ARRAYS_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr::python {

namespace py = pybind11;

// `name` is the argument's name in error messages ("X must be 3-D, ...").
Tensor3 ToTensor3(const py::handle& array, const std::string& name);
// A mask of dims' shape: nonzero (True) = observed.
Mask3 ToMask3(const py::handle& array,
              const Dims& dims,
              const std::string& name);
Matrix ToMatrix(const py::handle& array, const std::string& name);
Vector ToVector(const py::handle& array, const std::string& name);

py::array FromTensor3(Tensor3 tensor);
py::array FromMatrix(Matrix matrix);
py::array FromIntMatrix(const Eigen::MatrixXi& m);  // as int64
py::array FromVector(Vector vector);
py::array FromMask3(Mask3 mask);  // as bool
template <typename T>
py::array FromStdVector(std::vector<T> values) {
  auto* owner = new std::vector<T>(std::move(values));
  py::capsule free(owner,
                   [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(
      static_cast<py::ssize_t>(owner->size()), owner->data(), free);
}

// A Ktensor as ltr._tensors.CPTensor (weights, factors), and back: a
// CPTensor, a (weights, factors) pair (weights may be None: all ones) or
// anything TensorLy's CPTensor unpacks to.
py::object ToCPTensor(Ktensor k);
Ktensor ToKtensor(const py::handle& cp, const std::string& name);
py::object ToTuckerTensor(TuckerTensor t);

// The dtype results are returned in: float32 for float32 input, else float64
// (as TensorLy keeps the input's dtype).
bool IsFloat32(const py::handle& array);
py::array AsDtypeOf(py::array result, const py::handle& like);

}  // namespace ltr::python

#endif  // LTR_PYTHON_ARRAYS_H_
