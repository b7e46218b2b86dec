// What the single-fit decompositions (decompose_cp.cpp, decompose_tucker.cpp)
// share: TensorLy's random_state, its unsupported options, and the lines
// `verbose` logs.
#ifndef LTR_PYTHON_DECOMPOSE_COMMON_H_
#define LTR_PYTHON_DECOMPOSE_COMMON_H_

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ltr::python {

namespace py = pybind11;

// The library's seed for TensorLy's random_state: an int >= 0 is the seed;
// a numpy RandomState or Generator draws one; None draws one from numpy's
// global random state (so np.random.seed(s) makes the call reproducible, as
// with TensorLy).
std::uint64_t SeedFrom(const py::object& random_state);

// Raises ValueError "<function>: <argument>=<value> is not supported by ltr
// (<why>)" unless `given` is true.
void RequireSupported(bool supported,
                      const std::string& function,
                      const std::string& argument,
                      const py::object& value,
                      const std::string& why);

// verbose > 0: one line per iteration of `errors` and the stopping message,
// sent where progress goes (a callable, or the `ltr` logger at INFO when
// progress is None; nothing when progress is False).
void LogIterations(const py::object& progress,
                   int verbose,
                   const std::string& function,
                   const std::vector<double>& errors,
                   const std::string& message);

// Sets `summary` on a CPTensor/TuckerTensor and returns it, or (result,
// errors as a list of floats) when return_errors is true, as TensorLy does.
py::object WithSummary(py::object result,
                       py::object summary,
                       bool return_errors,
                       const std::vector<double>& errors);

// ltr.CpSummary, the `.summary` of every CP fit (ensembles' too): once per
// module, whichever binding registers it first.
void BindCpSummary(py::module_& m);

}  // namespace ltr::python

#endif  // LTR_PYTHON_DECOMPOSE_COMMON_H_
