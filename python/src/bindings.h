// One Bind function per library module; module.cpp calls them all.
#ifndef LTR_PYTHON_BINDINGS_H_
#define LTR_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>

#include <string>

namespace ltr::python {

// Library errors as Python exceptions: ltr::FileError -> OSError, every
// other ltr::Error -> ValueError, with the library's one-line message.
void RegisterErrors(pybind11::module_& m);

// ltr.train and ltr.Trajectory (train*.cpp); ltr.analyze, ltr.bounds,
// ltr.bounds_sweep, ltr.theory_linear and their results (theory*.cpp).
void BindTrain(pybind11::module_& m);
void BindTheory(pybind11::module_& m);
// The CLI's outputs read back with the formats readers, for ltr.load:
// a learning trajectory (ltr train, ltr synth --kind trajectory), an
// analysis (ltr analyze), a bounds table (ltr bounds), a linear-theory
// table (ltr theory linear). Raise OSError/ValueError as the readers do.
pybind11::object LoadTrajectory(const std::string& path);
pybind11::object LoadAnalysis(const std::string& path);
pybind11::object LoadBounds(const std::string& path);
pybind11::object LoadLinearTheory(const std::string& path);

}  // namespace ltr::python

#endif  // LTR_PYTHON_BINDINGS_H_
