// ltr.tucker (TensorLy's tucker: HOOI from ST-HOSVD through ltr::Tucker),
// ltr.tucker_to_tensor and the TuckerSummary a fit carries as `.summary`.
#include <pybind11/stl.h>

#include <array>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "decompose_common.h"
#include "ltr/decompose/tucker.h"

namespace ltr::python {

namespace {

// rank: None (every mode chosen by error_tolerance), an int (every mode)
// or three ints (0 = chosen).
std::array<int, 3> ParseRanks(const py::object& rank) {
  if (rank.is_none()) return {0, 0, 0};
  if (py::isinstance<py::bool_>(rank))
    throw py::type_error(
        "tucker: rank must be None, an int or 3 ints, not bool");
  // An int, numpy's included (anything with __index__ that is not a list).
  if (!py::isinstance<py::sequence>(rank) && PyIndex_Check(rank.ptr())) {
    const int r = py::int_(rank).cast<int>();
    return {r, r, r};
  }
  if (!py::isinstance<py::sequence>(rank) || py::isinstance<py::str>(rank))
    throw py::type_error("tucker: rank must be None, an int or 3 ints, not " +
                         std::string(py::str(py::type::of(rank))));
  const std::vector<int> ranks = rank.cast<std::vector<int>>();
  if (ranks.size() != 3)
    throw py::value_error(
        "tucker: rank must have 3 entries (one per mode), got " +
        std::to_string(ranks.size()));
  return {ranks[0], ranks[1], ranks[2]};
}

// A (core, factors) pair as the library's TuckerTensor.
TuckerTensor ToTucker(const py::handle& tucker, const std::string& name) {
  if (!py::isinstance<py::sequence>(tucker) || py::len(tucker) != 2)
    throw py::type_error(name +
                         " must be a TuckerTensor or a (core, factors) pair");
  const auto pair = py::reinterpret_borrow<py::sequence>(tucker);
  TuckerTensor t;
  t.core = ToTensor3(pair[0], name + " core");
  const py::object factors = pair[1];
  if (!py::isinstance<py::sequence>(factors) || py::len(factors) != 3)
    throw py::value_error(name + ": factors must be a list of 3 matrices");
  for (int n = 0; n < 3; ++n) {
    const std::string which = name + " factor " + std::to_string(n);
    t.factors[n] =
        ToMatrix(py::reinterpret_borrow<py::sequence>(factors)[n], which);
    if (t.factors[n].cols() != t.core.dim(n))
      throw py::value_error(
          which + " has " + std::to_string(t.factors[n].cols()) +
          " columns but the core has " + std::to_string(t.core.dim(n)) +
          " in mode " + std::to_string(n));
  }
  return t;
}

py::object TuckerResult(TuckerTensor t, const py::handle& like) {
  py::object result = ToTuckerTensor(std::move(t));
  if (!IsFloat32(like)) return result;
  py::list factors;
  for (const py::handle f : result.attr("factors"))
    factors.append(AsDtypeOf(py::reinterpret_borrow<py::array>(f), like));
  return py::type::of(result)(AsDtypeOf(result.attr("core"), like), factors);
}

void BindTuckerSummary(py::module_& m) {
  if (py::detail::get_type_info(typeid(TuckerSummary))) return;
  py::class_<TuckerSummary>(
      m,
      "TuckerSummary",
      "The summary of one Tucker fit (ltr::TuckerSummary), as `.summary` of "
      "the TuckerTensor ltr.tucker returns: relative_error = ||X - M|| / "
      "||X||, iterations (HOOI), converged, message (why it stopped), "
      "error_history (the relative error after each HOOI iteration, as "
      "numpy), seconds (in the library).")
      .def_readonly("relative_error", &TuckerSummary::relative_error)
      .def_readonly("iterations", &TuckerSummary::iterations)
      .def_readonly("converged", &TuckerSummary::converged)
      .def_readonly("message", &TuckerSummary::message)
      .def_readonly("seconds", &TuckerSummary::seconds)
      .def_property_readonly(
          "error_history",
          [](const TuckerSummary& s) { return FromStdVector(s.error_history); })
      .def("__str__", &TuckerSummary::BriefReport)
      .def(py::pickle(
          [](const TuckerSummary& s) {
            return py::make_tuple(ToTuckerTensor(s.model),
                                  s.relative_error,
                                  s.iterations,
                                  s.converged,
                                  s.seconds,
                                  s.message,
                                  s.error_history);
          },
          [](const py::tuple& t) {
            TuckerSummary s;
            s.model = ToTucker(t[0], "TuckerSummary state");
            s.relative_error = t[1].cast<double>();
            s.iterations = t[2].cast<int>();
            s.converged = t[3].cast<bool>();
            s.seconds = t[4].cast<double>();
            s.message = t[5].cast<std::string>();
            s.error_history = t[6].cast<std::vector<double>>();
            return s;
          }))
      .def("__repr__", [](const TuckerSummary& s) {
        std::ostringstream out;
        out << "TuckerSummary(relative_error=" << s.relative_error
            << ", iterations=" << s.iterations
            << ", converged=" << (s.converged ? "True" : "False")
            << ", message='" << s.message << "')";
        return out.str();
      });
}

const char* const kTuckerDoc =
    R"(Tucker decomposition by HOOI: TensorLy's tucker.

A drop-in for ``tensorly.decomposition.tucker`` (same argument names, order
and defaults) running ltr::Tucker with TuckerMethod::kHooi: higher-order
orthogonal iteration started from the sequentially truncated HOSVD.
``core, factors = ltr.tucker(X, rank=[5, 4, 3])``.
CLI: ``ltr decompose X.h5 --method tucker-hooi --tucker-ranks 5,4,3``.

Parameters
----------
tensor : array, 3-D
    Complete data (no mask), any real dtype and memory order.
rank : None, int or 3 ints
    The multilinear ranks (an int: the same for every mode). None, or a 0
    entry, chooses the smallest rank of that mode whose ST-HOSVD keeps the
    relative error at most error_tolerance (the CLI's --tucker-tol).
fixed_factors, svd, random_state, mask
    Only TensorLy's defaults (None, 'truncated_svd', None, None): the
    start is the deterministic ST-HOSVD and ltr's Tucker takes complete
    data; other values raise ValueError.
n_iter_max : int
    At most this many HOOI iterations (TensorLy's default 100).
init : 'svd'
    The ST-HOSVD start (the only one).
return_errors : bool
    Also return the relative error after each HOOI iteration (a list of
    floats), as TensorLy.
tol : float
    Stop when the relative error changes by less than tol between
    iterations (TensorLy's default 10e-5).
verbose : int
    > 0: after the fit, log each iteration's relative error and why it
    stopped to ``progress`` or the ``ltr`` logger at INFO.
error_tolerance : float (keyword)
    The largest relative error of the ST-HOSVD when ranks are chosen
    (TuckerOptions' default).
threads : None or int (keyword)
    Threads of the library (None: every usable core).
progress : None, False or callable (keyword)
    Where verbose lines go (None: the ``ltr`` logger; False: nowhere).

Returns
-------
TuckerTensor
    The 2-tuple ``(core, factors)``: core of shape (r0, r1, r2), factors[n]
    of shape (tensor.shape[n], r_n) with orthonormal columns; float32 for a
    float32 tensor. ``.summary`` is the fit's TuckerSummary.
(TuckerTensor, errors)
    With return_errors=True, as TensorLy: errors is a list of floats, the
    relative error after each HOOI iteration.

Raises
------
ValueError
    Bad values (ranks larger than the dimensions, non-finite data, a
    tensor that is not 3-D) with a one-line message; unsupported options.
TypeError
    A tensor or rank of the wrong type.
KeyboardInterrupt
    Ctrl-C during the fit (polled after every HOOI iteration).
)";

void BindTucker(py::module_& m) {
  const TuckerOptions defaults;
  m.def(
      "tucker",
      [](py::object tensor,
         py::object rank,
         py::object fixed_factors,
         int n_iter_max,
         py::object init,
         bool return_errors,
         std::string svd,
         double tol,
         py::object random_state,
         py::object mask,
         int verbose,
         double error_tolerance,
         py::object threads,
         py::object progress) {
        const std::string fn = "tucker";
        RequireSupported(fixed_factors.is_none(),
                         fn,
                         "fixed_factors",
                         fixed_factors,
                         "every factor is updated");
        RequireSupported(
            py::isinstance<py::str>(init) && init.cast<std::string>() == "svd",
            fn,
            "init",
            init,
            "HOOI starts from the ST-HOSVD: init='svd'");
        RequireSupported(svd == "truncated_svd",
                         fn,
                         "svd",
                         py::str(svd),
                         "the ST-HOSVD uses each mode's Gram eigenvectors");
        RequireSupported(random_state.is_none(),
                         fn,
                         "random_state",
                         random_state,
                         "the ST-HOSVD start is deterministic");
        RequireSupported(mask.is_none(),
                         fn,
                         "mask",
                         mask,
                         "Tucker takes complete data; use a CP method");
        if (n_iter_max < 1)
          throw py::value_error("tucker: n_iter_max must be >= 1, got " +
                                std::to_string(n_iter_max));
        TuckerOptions options;
        options.method = TuckerMethod::kHooi;
        options.ranks = ParseRanks(rank);
        options.error_tolerance = error_tolerance;
        options.max_iterations = n_iter_max;
        options.tolerance = tol;
        const Tensor3 x = ToTensor3(tensor, "tensor");
        Call call(threads, progress);
        TuckerSummary summary = call([&](const RunContext& run) {
          options.run = run;
          return Tucker(options, x);
        });
        LogIterations(
            progress, verbose, fn, summary.error_history, summary.message);
        // The summary keeps its copy of the model for its report.
        py::object result = TuckerResult(summary.model, tensor);
        const std::vector<double> errors = summary.error_history;
        return WithSummary(
            result, py::cast(std::move(summary)), return_errors, errors);
      },
      kTuckerDoc,
      py::arg("tensor"),
      py::arg("rank"),
      py::arg("fixed_factors") = py::none(),
      py::arg("n_iter_max") = defaults.max_iterations,
      py::arg("init") = "svd",
      py::arg("return_errors") = false,
      py::arg("svd") = "truncated_svd",
      py::arg("tol") = 10e-5,
      py::arg("random_state") = py::none(),
      py::arg("mask") = py::none(),
      py::arg("verbose") = 0,
      py::kw_only(),
      py::arg("error_tolerance") = defaults.error_tolerance,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

void BindTuckerToTensor(py::module_& m) {
  m.def(
      "tucker_to_tensor",
      [](py::object tucker_tensor) {
        const TuckerTensor t = ToTucker(tucker_tensor, "tucker_tensor");
        Tensor3 full;
        {
          py::gil_scoped_release release;
          full = t.Full();
        }
        return AsDtypeOf(FromTensor3(std::move(full)),
                         tucker_tensor[py::int_(0)]);
      },
      R"(The full tensor core x_0 U0 x_1 U1 x_2 U2 of a Tucker model (TuckerTensor::Full).

As ``tensorly.tucker_to_tensor``: tucker_tensor is a TuckerTensor or a
(core, factors) pair, core 3-D, factors[n] with core.shape[n] columns.
Returns a numpy array of shape (I, J, K), float32 when the core is
float32. Raises TypeError/ValueError for anything else.)",
      py::arg("tucker_tensor"));
}

}  // namespace

void BindDecomposeTucker(py::module_& m) {
  BindTuckerSummary(m);
  BindTucker(m);
  BindTuckerToTensor(m);
}

}  // namespace ltr::python
