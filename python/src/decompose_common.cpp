#include "decompose_common.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <sstream>

#include "arrays.h"
#include "ltr/decompose/cp.h"

namespace ltr::python {

std::uint64_t SeedFrom(const py::object& random_state) {
  const py::module_ np = py::module_::import("numpy");
  const py::object int64 = np.attr("int64");
  const py::object top = np.attr("iinfo")(int64).attr("max");
  if (random_state.is_none())
    return np.attr("random")
        .attr("randint")(0, top, py::arg("dtype") = int64)
        .cast<std::uint64_t>();
  if (py::isinstance<py::bool_>(random_state))
    throw py::type_error(
        "random_state must be None, an int or a numpy RandomState/Generator, "
        "not bool");
  if (py::isinstance<py::int_>(random_state) ||
      py::isinstance(random_state, np.attr("integer"))) {
    const py::object value = py::int_(random_state);
    const py::object limit = py::int_(1).attr("__lshift__")(64);
    if (value < py::int_(0) || !(value < limit))
      throw py::value_error(
          "random_state must be in [0, 2**64) as a seed, got " +
          std::string(py::str(value)));
    return value.cast<std::uint64_t>();
  }
  const py::object random = np.attr("random");
  if (py::isinstance(random_state, random.attr("Generator")))
    return random_state.attr("integers")(0, top).cast<std::uint64_t>();
  if (py::isinstance(random_state, random.attr("RandomState")))
    return random_state.attr("randint")(0, top, py::arg("dtype") = int64)
        .cast<std::uint64_t>();
  throw py::type_error(
      "random_state must be None, an int or a numpy RandomState/Generator, "
      "not " +
      std::string(py::str(py::type::of(random_state))));
}

namespace {

// A value as one short piece of text: its repr, or its type (and shape).
std::string Brief(const py::object& value) {
  if (py::isinstance<py::array>(value))
    return "<array of shape " + std::string(py::str(value.attr("shape"))) + ">";
  const std::string text = py::repr(value);
  if (text.size() <= 60 && text.find('\n') == std::string::npos) return text;
  return "<" + std::string(py::str(py::type::of(value).attr("__name__"))) + ">";
}

}  // namespace

void RequireSupported(bool supported,
                      const std::string& function,
                      const std::string& argument,
                      const py::object& value,
                      const std::string& why) {
  if (supported) return;
  throw py::value_error(function + ": " + argument + "=" + Brief(value) +
                        " is not supported by ltr (" + why + ")");
}

void LogIterations(const py::object& progress,
                   int verbose,
                   const std::string& function,
                   const std::vector<double>& errors,
                   const std::string& message) {
  if (verbose <= 0) return;
  if (py::isinstance<py::bool_>(progress) && !progress.cast<bool>()) return;
  const py::object sink =
      progress.is_none()
          ? py::module_::import("logging").attr("getLogger")("ltr").attr("info")
          : progress;
  for (size_t i = 0; i < errors.size(); ++i) {
    std::ostringstream line;
    line.precision(10);
    line << function << " iteration " << i + 1 << ": relative error "
         << errors[i];
    if (i > 0) line << ", decrease " << errors[i - 1] - errors[i];
    sink(line.str());
  }
  sink(function + ": " + message);
}

py::object WithSummary(py::object result,
                       py::object summary,
                       bool return_errors,
                       const std::vector<double>& errors) {
  result.attr("summary") = std::move(summary);
  if (!return_errors) return result;
  py::list list;
  for (double e : errors) list.append(e);
  return py::make_tuple(result, list);
}

const char* const kSummaryDoc =
    "The summary of one CP fit (ltr::CpSummary), as `.summary` of the "
    "CPTensor a fit returns: relative_error = ||X - M|| / ||X|| over the "
    "observed entries, fit = 1 - relative_error, iterations, converged "
    "(the tolerance was met before n_iter_max), message (why it stopped), "
    "error_history (the relative error after each iteration, as numpy), "
    "seconds (in the library) and seed (the library's seed this fit used: "
    "pass it as random_state to repeat the fit).";

void BindCpSummary(py::module_& m) {
  // Another binding (the ensembles') may have registered it already.
  if (py::detail::get_type_info(typeid(CpSummary))) return;
  py::class_<CpSummary>(m, "CpSummary", kSummaryDoc)
      .def_readonly("relative_error", &CpSummary::relative_error)
      .def_property_readonly("fit", &CpSummary::fit)
      .def_readonly("iterations", &CpSummary::iterations)
      .def_readonly("extrapolations",
                    &CpSummary::extrapolations,
                    "line-search points kept (of the iterations)")
      .def_readonly("converged", &CpSummary::converged)
      .def_readonly("message", &CpSummary::message)
      .def_property_readonly(
          "error_history",
          [](const CpSummary& s) { return FromStdVector(s.error_history); })
      .def_readonly("seconds", &CpSummary::seconds)
      .def_readonly("seed", &CpSummary::seed)
      .def_readonly("poisson_deviance",
                    &CpSummary::poisson_deviance,
                    "2 sum(x log(x/m) - (x - m)) over the observed entries, "
                    "for data >= 0 (NaN otherwise)")
      .def_property_readonly(
          "deviance_history",
          [](const CpSummary& s) { return FromStdVector(s.deviance_history); },
          "the Poisson deviance after each outer iteration (cp-apr)")
      .def("__str__", &CpSummary::BriefReport)
      .def(py::pickle(
          [](const CpSummary& s) {
            return py::make_tuple(ToCPTensor(s.model),
                                  s.relative_error,
                                  s.iterations,
                                  s.converged,
                                  s.seconds,
                                  s.seed,
                                  s.message,
                                  s.error_history);
          },
          [](const py::tuple& t) {
            CpSummary s;
            s.model = ToKtensor(t[0], "CpSummary state");
            s.relative_error = t[1].cast<double>();
            s.iterations = t[2].cast<int>();
            s.converged = t[3].cast<bool>();
            s.seconds = t[4].cast<double>();
            s.seed = t[5].cast<std::uint64_t>();
            s.message = t[6].cast<std::string>();
            s.error_history = t[7].cast<std::vector<double>>();
            return s;
          }))
      .def("__repr__", [](const CpSummary& s) {
        std::ostringstream out;
        out << "CpSummary(relative_error=" << s.relative_error
            << ", iterations=" << s.iterations
            << ", converged=" << (s.converged ? "True" : "False")
            << ", message='" << s.message << "')";
        return out.str();
      });
}

}  // namespace ltr::python
