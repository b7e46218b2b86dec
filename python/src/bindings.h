// One Bind function per library module; module.cpp calls them all.
#ifndef LTR_PYTHON_BINDINGS_H_
#define LTR_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>

namespace ltr::python {

// Library errors as Python exceptions: ltr::FileError -> OSError, every
// other ltr::Error -> ValueError, with the library's one-line message.
void RegisterErrors(pybind11::module_& m);

// decompose_cp.cpp: parafac, non_negative_parafac_hals, cp_opt, cp_to_tensor.
void BindDecomposeCp(pybind11::module_& m);
// decompose_tucker.cpp: tucker, tucker_to_tensor.
void BindDecomposeTucker(pybind11::module_& m);

}  // namespace ltr::python

#endif  // LTR_PYTHON_BINDINGS_H_
