#include "decompose_common.h"

#include <pybind11/numpy.h>

#include <sstream>

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

}  // namespace ltr::python
