#include "arrays.h"

#include <cstring>
#include <utility>

namespace ltr::python {

namespace {

std::string ShapeText(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d)
    s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// The argument as a numpy array of real numbers with `ndim` dimensions.
py::array RealArray(const py::handle& object,
                    int ndim,
                    const std::string& name) {
  py::array a = py::array::ensure(object);
  if (!a) {
    PyErr_Clear();
    throw py::type_error(name + " must be a numpy array (or array-like), not " +
                         std::string(py::str(py::type::of(object))));
  }
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw py::type_error(name + " must hold real numbers, not dtype " +
                         std::string(py::str(a.dtype())));
  if (a.ndim() != ndim)
    throw py::value_error(name + " must be " + std::to_string(ndim) +
                          "-D, got shape " + ShapeText(a));
  return a;
}

// Copies a float32/float64 array of any strides into row-major `out`.
template <typename T>
void CopyStrided(const py::array& a, double* out) {
  const auto* base = static_cast<const char*>(a.data());
  const py::ssize_t n = a.ndim();
  std::array<py::ssize_t, 3> shape{1, 1, 1}, strides{0, 0, 0};
  for (py::ssize_t d = 0; d < n; ++d) {
    shape[3 - n + d] = a.shape(d);
    strides[3 - n + d] = a.strides(d);
  }
  for (py::ssize_t i = 0; i < shape[0]; ++i)
    for (py::ssize_t j = 0; j < shape[1]; ++j) {
      const char* row = base + i * strides[0] + j * strides[1];
      for (py::ssize_t k = 0; k < shape[2]; ++k)
        *out++ = static_cast<double>(
            *reinterpret_cast<const T*>(row + k * strides[2]));
    }
}

// Fills `out` (row-major, a.size() doubles) from any real array.
void CopyToDoubles(const py::array& a, double* out) {
  if (a.size() == 0) return;
  if (py::isinstance<py::array_t<double>>(a)) {
    if (a.flags() & py::array::c_style)
      std::memcpy(out, a.data(), sizeof(double) * a.size());
    else
      CopyStrided<double>(a, out);
  } else if (py::isinstance<py::array_t<float>>(a)) {
    CopyStrided<float>(a, out);
  } else {  // ints, bools, float16: numpy converts
    auto converted =
        py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(
            a);
    std::memcpy(out, converted.data(), sizeof(double) * a.size());
  }
}

}  // namespace

Tensor3 ToTensor3(const py::handle& object, const std::string& name) {
  const py::array a = RealArray(object, 3, name);
  Tensor3 t(a.shape(0), a.shape(1), a.shape(2));
  CopyToDoubles(a, t.data());
  return t;
}

Mask3 ToMask3(const py::handle& object,
              const Dims& dims,
              const std::string& name) {
  const py::array a = RealArray(object, 3, name);
  if (a.shape(0) != dims[0] || a.shape(1) != dims[1] || a.shape(2) != dims[2])
    throw py::value_error(
        name + " has shape " + ShapeText(a) + " but the data has shape (" +
        std::to_string(dims[0]) + ", " + std::to_string(dims[1]) + ", " +
        std::to_string(dims[2]) + ")");
  std::vector<double> values(static_cast<size_t>(a.size()));
  CopyToDoubles(a, values.data());
  Mask3 mask(dims);
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] != 0 && values[i] != 1)
      throw py::value_error(name +
                            " must hold only 0/1 or True/False (1 = observed)");
    mask.values()[i] = values[i] != 0;
  }
  return mask;
}

Matrix ToMatrix(const py::handle& object, const std::string& name) {
  const py::array a = RealArray(object, 2, name);
  // Row-major copy, then one transpose into Eigen's column-major storage.
  std::vector<double> rows(static_cast<size_t>(a.size()));
  CopyToDoubles(a, rows.data());
  return Eigen::Map<
      const Eigen::
          Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      rows.data(), a.shape(0), a.shape(1));
}

Vector ToVector(const py::handle& object, const std::string& name) {
  const py::array a = RealArray(object, 1, name);
  Vector v(a.shape(0));
  CopyToDoubles(a, v.data());
  return v;
}

py::array FromTensor3(Tensor3 tensor) {
  auto* owner = new Tensor3(std::move(tensor));
  py::capsule free(owner, [](void* p) { delete static_cast<Tensor3*>(p); });
  const Dims& d = owner->dims();
  return py::array_t<double>({d[0], d[1], d[2]}, owner->data(), free);
}

py::array FromMatrix(Matrix matrix) {
  auto* owner = new Matrix(std::move(matrix));
  py::capsule free(owner, [](void* p) { delete static_cast<Matrix*>(p); });
  const py::ssize_t rows = owner->rows(), item = sizeof(double);
  return py::array_t<double>({rows, static_cast<py::ssize_t>(owner->cols())},
                             {item, item * rows},
                             owner->data(),
                             free);
}

py::array FromIntMatrix(const Eigen::MatrixXi& m) {
  py::array_t<std::int64_t> out({m.rows(), m.cols()});
  auto view = out.mutable_unchecked<2>();
  for (Index r = 0; r < m.rows(); ++r)
    for (Index k = 0; k < m.cols(); ++k) view(r, k) = m(r, k);
  return std::move(out);
}

py::array FromVector(Vector vector) {
  auto* owner = new Vector(std::move(vector));
  py::capsule free(owner, [](void* p) { delete static_cast<Vector*>(p); });
  return py::array_t<double>(
      static_cast<py::ssize_t>(owner->size()), owner->data(), free);
}

py::array FromMask3(Mask3 mask) {
  const Dims d = mask.dims();
  py::array_t<bool> out({d[0], d[1], d[2]});
  auto* dst = out.mutable_data();
  for (Index i = 0; i < mask.size(); ++i) dst[i] = mask.data()[i] != 0;
  return std::move(out);
}

py::object ToCPTensor(Ktensor k) {
  py::list factors;
  for (Matrix& f : k.factors) factors.append(FromMatrix(std::move(f)));
  return py::module_::import("ltr._tensors")
      .attr("CPTensor")(FromVector(std::move(k.weights)), factors);
}

Ktensor ToKtensor(const py::handle& cp, const std::string& name) {
  py::sequence pair;
  if (!py::isinstance<py::sequence>(cp) ||
      (pair = py::reinterpret_borrow<py::sequence>(cp)).size() != 2)
    throw py::type_error(name +
                         " must be a CPTensor or a (weights, factors) pair");
  const py::object factors = pair[1];
  if (!py::isinstance<py::sequence>(factors) || py::len(factors) != 3)
    throw py::value_error(name + ": factors must be a list of 3 matrices");
  Ktensor k;
  for (int n = 0; n < 3; ++n) {
    const std::string which = name + " factor " + std::to_string(n);
    k.factors[n] =
        ToMatrix(py::reinterpret_borrow<py::sequence>(factors)[n], which);
    if (k.factors[n].cols() != k.factors[0].cols())
      throw py::value_error(
          which + " has " + std::to_string(k.factors[n].cols()) +
          " columns, factor 0 has " + std::to_string(k.factors[0].cols()));
  }
  const py::object weights = pair[0];
  k.weights = weights.is_none() ? Vector::Ones(k.factors[0].cols())
                                : ToVector(weights, name + " weights");
  if (k.weights.size() != k.factors[0].cols())
    throw py::value_error(name + " has " + std::to_string(k.weights.size()) +
                          " weights for " +
                          std::to_string(k.factors[0].cols()) + " components");
  return k;
}

py::object ToTuckerTensor(TuckerTensor t) {
  py::list factors;
  for (Matrix& f : t.factors) factors.append(FromMatrix(std::move(f)));
  return py::module_::import("ltr._tensors")
      .attr("TuckerTensor")(FromTensor3(std::move(t.core)), factors);
}

bool IsFloat32(const py::handle& array) {
  return py::isinstance<py::array>(array) &&
         py::reinterpret_borrow<py::array>(array).dtype().equal(
             py::dtype::of<float>());
}

py::array AsDtypeOf(py::array result, const py::handle& like) {
  if (!IsFloat32(like)) return result;
  return result.attr("astype")(py::dtype::of<float>());
}

}  // namespace ltr::python
