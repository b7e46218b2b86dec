// The extension module ltr._ltr; python/ltr/__init__.py re-exports it.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "call.h"
#include "ltr/core/error.h"
#include "ltr/version.h"

namespace py = pybind11;

namespace ltr::python {

void RegisterErrors(py::module_& m) {
  (void)m;
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const FileError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}

}  // namespace ltr::python

PYBIND11_MODULE(_ltr, m) {
  m.doc() = "ltr: the rank structure of learning (the C++ library's binding)";
  m.attr("__version__") = ltr::kVersion;
  ltr::python::RegisterErrors(m);
  ltr::python::BindDecomposeCp(m);
  ltr::python::BindDecomposeTucker(m);
  ltr::python::BindRecording(m);
  ltr::python::BindFit(m);
  ltr::python::BindRankSelection(m);
  ltr::python::BindFitComparison(m);
  ltr::python::BindDecompositionFiles(m);
  m.def("usable_cores",
        &ltr::UsableCores,
        "The cores this process may run on: the default of every threads= "
        "argument.");
  ltr::python::BindPipeline(m);
  ltr::python::BindImport(m);
  ltr::python::BindFiles(m);
  ltr::python::BindTrain(m);
  ltr::python::BindTheory(m);
}
