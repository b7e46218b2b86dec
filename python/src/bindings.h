// One Bind function per library module; module.cpp calls them all.
#ifndef LTR_PYTHON_BINDINGS_H_
#define LTR_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>

#include <string>

namespace ltr::python {

// Library errors as Python exceptions: ltr::FileError -> OSError, every
// other ltr::Error -> ValueError, with the library's one-line message.
void RegisterErrors(pybind11::module_& m);

// Choosing a rank (decompose_rank.cpp, decompose_diag.cpp): rank_ensemble,
// cross_validate, align, factor_match_score, corcondia; decomposition files
// (decompose_files.cpp): load_decomposition, save_cp.
void BindRankSelection(pybind11::module_& m);
void BindFitComparison(pybind11::module_& m);
void BindDecompositionFiles(pybind11::module_& m);
// Any `ltr decompose` output as an ltr.Decomposition (its /cp, /tucker,
// /ensemble and /crossval parts).
pybind11::object LoadDecomposition(const std::string& path);

}  // namespace ltr::python

#endif  // LTR_PYTHON_BINDINGS_H_
