// The single CP fits: ltr.parafac and ltr.non_negative_parafac_hals (the
// TensorLy drop-ins: TensorLy's argument names, order and defaults),
// ltr.cp_opt (the Tensor Toolbox's name, the library's defaults),
// ltr.cp_to_tensor and the CpSummary every fit carries as `.summary`.
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "decompose_common.h"
#include "ltr/core/error.h"
#include "ltr/decompose/cp.h"

namespace ltr::python {

namespace {

// The Python arguments every CP function shares.
struct CpCall {
  std::string function;  // for messages: "parafac", ...
  py::object tensor, init, random_state, mask, threads, progress;
  bool normalize_factors = false;
  bool return_errors = false;
  int verbose = 0;
};

// init: a method name ("svd" is TensorLy's name for nvecs) or a starting
// CPTensor, returned.
std::optional<Ktensor> ParseInit(const CpCall& a, CpOptions* options) {
  if (!py::isinstance<py::str>(a.init)) return ToKtensor(a.init, "init");
  std::string name = a.init.cast<std::string>();
  if (name == "svd") name = CpInitName(CpInit::kNvecs);
  try {
    options->init = ParseCpInit(name);
  } catch (const Error&) {
    throw py::value_error(a.function +
                          ": init must be 'svd', 'nvecs', 'random' or a "
                          "CPTensor (weights, factors), got '" +
                          a.init.cast<std::string>() + "'");
  }
  return std::nullopt;
}

// TensorLy's normalize_factors=False: weights of ones, each component's
// scale spread evenly over its three factors (column r times cbrt(w_r)).
void SpreadWeights(Ktensor* k) {
  for (Index r = 0; r < k->rank(); ++r) {
    const double c = std::cbrt(k->weights[r]);
    for (Matrix& f : k->factors) f.col(r) *= c;
    k->weights[r] = 1;
  }
}

// The model as a CPTensor in the input's dtype.
py::object CpResult(Ktensor k, const py::handle& like) {
  py::object cp = ToCPTensor(std::move(k));
  if (!IsFloat32(like)) return cp;
  py::list factors;
  for (const py::handle f : cp.attr("factors"))
    factors.append(AsDtypeOf(py::reinterpret_borrow<py::array>(f), like));
  return py::type::of(cp)(AsDtypeOf(cp.attr("weights"), like), factors);
}

// One ltr::Cp fit with the options given and the shared arguments; returns
// what TensorLy returns (the CPTensor, or (CPTensor, errors)).
py::object FitCp(CpOptions options, const CpCall& a) {
  if (options.max_iterations < 1)
    throw py::value_error(a.function + ": n_iter_max must be >= 1, got " +
                          std::to_string(options.max_iterations));
  if (!(options.tolerance >= 0) || !std::isfinite(options.tolerance))
    throw py::value_error(a.function +
                          ": tol must be finite and >= 0 (0 runs n_iter_max "
                          "iterations)");
  const Tensor3 x = ToTensor3(a.tensor, "tensor");
  std::optional<Mask3> mask;
  if (!a.mask.is_none()) mask = ToMask3(a.mask, x.dims(), "mask");
  const std::optional<Ktensor> init = ParseInit(a, &options);
  options.seed = SeedFrom(a.random_state);
  Call call(a.threads, a.progress);
  CpSummary summary = call([&](const RunContext& run) {
    options.run = run;
    return Cp(options, x, mask ? &*mask : nullptr, init ? &*init : nullptr);
  });
  LogIterations(a.progress,
                a.verbose,
                a.function,
                summary.error_history,
                summary.message);
  Ktensor model = summary.model;
  if (!a.normalize_factors) SpreadWeights(&model);
  const std::vector<double> errors = summary.error_history;
  return WithSummary(CpResult(std::move(model), a.tensor),
                     py::cast(std::move(summary)),
                     a.return_errors,
                     errors);
}

// The options ltr does not have, given TensorLy's non-default values.
void RefuseUnsupported(const std::string& fn,
                       const std::string& svd,
                       const std::string& cvg_criterion,
                       const py::object& fixed_modes) {
  RequireSupported(svd == "truncated_svd",
                   fn,
                   "svd",
                   py::str(svd),
                   "init='svd' uses the leading eigenvectors of each mode's "
                   "Gram matrix, the same subspace as 'truncated_svd'");
  RequireSupported(cvg_criterion == "abs_rec_error",
                   fn,
                   "cvg_criterion",
                   py::str(cvg_criterion),
                   "ltr stops on |change in relative error| < tol");
  RequireSupported(fixed_modes.is_none() || py::len(fixed_modes) == 0,
                   fn,
                   "fixed_modes",
                   fixed_modes,
                   "every mode is updated");
}

const char* const kReturnsDoc = R"(
Returns
-------
CPTensor
    The 2-tuple ``(weights, factors)`` TensorLy returns: weights of shape
    (rank,), factors[n] of shape (tensor.shape[n], rank), float32 for a
    float32 tensor, else float64. Components are in the library's canonical
    order (weights descending, signs as the Tensor Toolbox's fixsigns).
    With normalize_factors=False (TensorLy's default) the weights are ones
    and column r of every factor is the unit column times cbrt(w_r), so
    the three factors share the component's scale equally; with True the
    columns have unit norm and the weights hold the scale.
    ``.summary`` is the fit's CpSummary (relative_error, iterations,
    converged, message, error_history, seconds, seed).
(CPTensor, errors)
    With return_errors=True, as TensorLy: errors is a list of floats, the
    relative error after each iteration.

Raises
------
ValueError
    Bad values (rank < 1 or too large, a tensor that is not 3-D, an unknown
    init, non-finite observed data, a mask of the wrong shape) with a
    one-line message, and TensorLy options ltr does not have given
    non-default values (never silently ignored).
TypeError
    A tensor, mask or init of the wrong type.
KeyboardInterrupt
    Ctrl-C during the fit (it stops within an iteration).
)";

const char* const kCommonArgsDoc = R"(
    random_state : None, int or numpy RandomState/Generator
        The seed of the random start (and of nvecs' random columns when the
        rank exceeds a dimension). None draws a seed from numpy's global
        random state (np.random.seed makes it reproducible, as TensorLy);
        a RandomState/Generator draws one from it. The seed used is in
        ``.summary.seed``.
    mask : None or array of the tensor's shape
        bool or 0/1, True/1 = observed (as TensorLy). Missing entries may
        hold anything, NaN included.
    normalize_factors : bool
        See Returns.
    return_errors : bool
        Also return the relative error after each iteration.
    verbose : int
        > 0: after the fit, log each iteration's relative error and why it
        stopped, to ``progress`` (a callable) or the ``ltr`` logger at INFO.
    threads : None or int
        Threads of the library (None: every usable core); the result does
        not depend on them.
    progress : None, False or callable
        Where verbose lines go: None the ``ltr`` logger, False nowhere, or
        a callable taking one str.
)";

std::string ParafacDoc() {
  return std::string(
             R"(CP decomposition by alternating least squares: TensorLy's parafac.

A drop-in for ``tensorly.decomposition.parafac`` (same argument names,
order and defaults) running ltr::Cp with CP-ALS: ``weights, factors =
ltr.parafac(X, 3)``. CLI: ``ltr decompose X.h5 --method cp-als --rank R``.

Parameters
----------
tensor : array, 3-D
    Any real dtype and memory order (C, Fortran, strided views).
rank : int
    Number of components (1 .. min(IJ, IK, JK)).
n_iter_max : int
    At most this many ALS sweeps (TensorLy's default 100; the library's
    CpOptions default is 500).
init : 'svd', 'nvecs', 'random' or CPTensor
    'svd' (TensorLy's name) = 'nvecs': the leading eigenvectors of each
    mode's Gram matrix X_(n) X_(n)^T (the leading left singular vectors of
    the unfolding); 'random': N(0, 1) factors from random_state; a CPTensor
    or (weights, factors) pair: that starting point.
svd : 'truncated_svd'
    Only TensorLy's default.
normalize_factors : bool
    See Returns.
orthogonalise, sparsity, l2_reg, fixed_modes, callback
    Only TensorLy's defaults (False, None, 0, None, None): ltr has no such
    option; other values raise ValueError.
linesearch : bool
    As TensorLy's (default False): True extrapolates after each sweep,
    F + s (F - F_prev) with s = iteration^(1/p), and keeps the point only
    when the error drops (CpAcceleration::kLineSearch; the library's and
    the command's default). ltr tries it after every sweep from the third
    with p = 3 (TensorLy: every second sweep from the sixth, p = 2), p
    growing by one after 4 rejections in a row, as TensorLy's.
tol : float
    Stop when the relative error changes by less than tol between two
    sweeps (TensorLy's 'abs_rec_error' criterion; its default 1e-8);
    0 runs exactly n_iter_max sweeps.
cvg_criterion : 'abs_rec_error'
    Only TensorLy's default.
svd_mask_repeats : 5
    Only TensorLy's default (with a mask, nvecs uses the zero-filled data).
missing_data : 'exact' or 'em'
    How a mask's missing entries are handled: 'exact' (the library's
    default) solves each row's masked normal equations; 'em' imputes them
    from the model every sweep, as TensorLy does.)") +
         kCommonArgsDoc + kReturnsDoc;
}

void BindParafac(py::module_& m) {
  m.def(
      "parafac",
      [](py::object tensor,
         int rank,
         int n_iter_max,
         py::object init,
         std::string svd,
         bool normalize_factors,
         py::object orthogonalise,
         double tol,
         py::object random_state,
         int verbose,
         bool return_errors,
         py::object sparsity,
         py::object l2_reg,
         py::object mask,
         std::string cvg_criterion,
         py::object fixed_modes,
         int svd_mask_repeats,
         bool linesearch,
         py::object callback,
         std::string missing_data,
         py::object threads,
         py::object progress) {
        const std::string fn = "parafac";
        RefuseUnsupported(fn, svd, cvg_criterion, fixed_modes);
        RequireSupported(!py::bool_(orthogonalise),
                         fn,
                         "orthogonalise",
                         orthogonalise,
                         "no orthogonalised sweeps");
        RequireSupported(sparsity.is_none(),
                         fn,
                         "sparsity",
                         sparsity,
                         "no sparse component");
        RequireSupported(
            !py::bool_(l2_reg), fn, "l2_reg", l2_reg, "no ridge term");
        RequireSupported(svd_mask_repeats == 5,
                         fn,
                         "svd_mask_repeats",
                         py::int_(svd_mask_repeats),
                         "nvecs with a mask uses the zero-filled data once");
        RequireSupported(callback.is_none(),
                         fn,
                         "callback",
                         callback,
                         "use return_errors or .summary.error_history");
        CpOptions options;
        options.method = CpMethod::kAls;
        options.rank = rank;
        options.max_iterations = n_iter_max;
        options.tolerance = tol;
        options.missing_data = ParseMissingData(missing_data);
        options.acceleration =
            linesearch ? CpAcceleration::kLineSearch : CpAcceleration::kNone;
        return FitCp(options,
                     {fn,
                      tensor,
                      init,
                      random_state,
                      mask,
                      threads,
                      progress,
                      normalize_factors,
                      return_errors,
                      verbose});
      },
      ParafacDoc().c_str(),
      py::arg("tensor"),
      py::arg("rank"),
      py::arg("n_iter_max") = 100,
      py::arg("init") = "svd",
      py::arg("svd") = "truncated_svd",
      py::arg("normalize_factors") = false,
      py::arg("orthogonalise") = false,
      py::arg("tol") = 1e-8,
      py::arg("random_state") = py::none(),
      py::arg("verbose") = 0,
      py::arg("return_errors") = false,
      py::arg("sparsity") = py::none(),
      py::arg("l2_reg") = 0,
      py::arg("mask") = py::none(),
      py::arg("cvg_criterion") = "abs_rec_error",
      py::arg("fixed_modes") = py::none(),
      py::arg("svd_mask_repeats") = 5,
      py::arg("linesearch") = false,
      py::arg("callback") = py::none(),
      py::kw_only(),
      py::arg("missing_data") = MissingDataName(CpOptions{}.missing_data),
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

std::string HalsDoc() {
  return std::string(
             R"(Nonnegative CP decomposition by HALS: TensorLy's non_negative_parafac_hals.

A drop-in for ``tensorly.decomposition.non_negative_parafac_hals`` (same
argument names, order and defaults) running ltr::Cp with nonnegative
CP-HALS: the nonnegative modes are updated column by column, the others
by least squares. CLI: ``ltr decompose X.h5 --method ncp-hals --rank R
[--nonneg-modes 0,2]``.

Parameters
----------
tensor : array, 3-D
rank : int
n_iter_max : int
    At most this many sweeps (TensorLy's default 100).
init : 'svd', 'nvecs', 'random' or CPTensor
    As for parafac; starts are made nonnegative (absolute values of the
    eigenvectors, uniform [0, 1) random entries) on the nonnegative modes.
svd : 'truncated_svd'
tol : float
    Stop when the relative error changes by less than tol (TensorLy's
    default 10e-8); 0 runs n_iter_max sweeps.
sparsity_coefficients, fixed_modes, exact, cvg_criterion
    Only TensorLy's defaults (None, None, False, 'abs_rec_error').
nn_modes : 'all' or sequence of modes
    The modes kept >= 0 (TensorLy's default 'all'); e.g. [0, 2].
mask : None or array (keyword; TensorLy's HALS has none)
    Missing entries are imputed from the model every sweep (EM).
acceleration : 'line-search' or 'none' (keyword; TensorLy's HALS has none)
    'line-search' (the library's default) extrapolates after each sweep
    and keeps the point only when the error drops (fewer sweeps to the
    same error); 'none' runs TensorLy's plain sweeps.)") +
         kCommonArgsDoc + kReturnsDoc;
}

std::vector<int> ParseNnModes(const py::object& nn_modes) {
  if (py::isinstance<py::str>(nn_modes)) {
    if (nn_modes.cast<std::string>() == "all") return {};
  } else if (!nn_modes.is_none()) {
    std::vector<int> modes = nn_modes.cast<std::vector<int>>();
    if (!modes.empty()) return modes;
  }
  throw py::value_error(
      "non_negative_parafac_hals: nn_modes must be 'all' or a non-empty "
      "list of modes 0, 1, 2, got " +
      std::string(py::repr(nn_modes)) +
      " (for no nonnegative mode use ltr.parafac)");
}

void BindHals(py::module_& m) {
  m.def(
      "non_negative_parafac_hals",
      [](py::object tensor,
         int rank,
         int n_iter_max,
         py::object init,
         std::string svd,
         double tol,
         py::object random_state,
         py::object sparsity_coefficients,
         py::object fixed_modes,
         py::object nn_modes,
         bool exact,
         bool normalize_factors,
         int verbose,
         bool return_errors,
         std::string cvg_criterion,
         py::object mask,
         std::string acceleration,
         py::object threads,
         py::object progress) {
        const std::string fn = "non_negative_parafac_hals";
        RefuseUnsupported(fn, svd, cvg_criterion, fixed_modes);
        RequireSupported(sparsity_coefficients.is_none(),
                         fn,
                         "sparsity_coefficients",
                         sparsity_coefficients,
                         "no sparsity penalty");
        RequireSupported(!exact,
                         fn,
                         "exact",
                         py::bool_(exact),
                         "one HALS pass per factor and sweep");
        CpOptions options;
        options.method = CpMethod::kNonnegHals;
        options.rank = rank;
        options.max_iterations = n_iter_max;
        options.tolerance = tol;
        options.nonnegative_modes = ParseNnModes(nn_modes);
        options.acceleration = ParseCpAcceleration(acceleration);
        return FitCp(options,
                     {fn,
                      tensor,
                      init,
                      random_state,
                      mask,
                      threads,
                      progress,
                      normalize_factors,
                      return_errors,
                      verbose});
      },
      HalsDoc().c_str(),
      py::arg("tensor"),
      py::arg("rank"),
      py::arg("n_iter_max") = 100,
      py::arg("init") = "svd",
      py::arg("svd") = "truncated_svd",
      py::arg("tol") = 10e-8,
      py::arg("random_state") = py::none(),
      py::arg("sparsity_coefficients") = py::none(),
      py::arg("fixed_modes") = py::none(),
      py::arg("nn_modes") = "all",
      py::arg("exact") = false,
      py::arg("normalize_factors") = false,
      py::arg("verbose") = 0,
      py::arg("return_errors") = false,
      py::arg("cvg_criterion") = "abs_rec_error",
      py::kw_only(),
      py::arg("mask") = py::none(),
      py::arg("acceleration") = CpAccelerationName(CpOptions{}.acceleration),
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

std::string CpOptDoc() {
  return std::string(R"(CP decomposition by all-at-once optimisation (CP-OPT).

The Tensor Toolbox's cp_opt: L-BFGS (Ceres) on all factors at once from
the start after 3 ALS sweeps, the residual weighted by the mask, running
ltr::Cp with CpMethod::kOpt. Defaults are the library's (CpOptions).
CLI: ``ltr decompose X.h5 --method cp-opt --rank R``.

Parameters
----------
tensor : array, 3-D
rank : int
n_iter_max : int
    At most this many L-BFGS iterations.
init : 'random', 'nvecs' ('svd') or CPTensor
tol : float
    Stop when the relative cost change is below tol, or the relative error
    is at most tol; 0 runs n_iter_max iterations.)") +
         kCommonArgsDoc + kReturnsDoc;
}

void BindCpOpt(py::module_& m) {
  const CpOptions defaults;
  m.def(
      "cp_opt",
      [](py::object tensor,
         int rank,
         int n_iter_max,
         py::object init,
         double tol,
         py::object random_state,
         py::object mask,
         bool normalize_factors,
         bool return_errors,
         int verbose,
         py::object threads,
         py::object progress) {
        CpOptions options;
        options.method = CpMethod::kOpt;
        options.rank = rank;
        options.max_iterations = n_iter_max;
        options.tolerance = tol;
        return FitCp(options,
                     {"cp_opt",
                      tensor,
                      init,
                      random_state,
                      mask,
                      threads,
                      progress,
                      normalize_factors,
                      return_errors,
                      verbose});
      },
      CpOptDoc().c_str(),
      py::arg("tensor"),
      py::arg("rank"),
      py::kw_only(),
      py::arg("n_iter_max") = defaults.max_iterations,
      py::arg("init") = CpInitName(defaults.init),
      py::arg("tol") = defaults.tolerance,
      py::arg("random_state") = py::none(),
      py::arg("mask") = py::none(),
      py::arg("normalize_factors") = false,
      py::arg("return_errors") = false,
      py::arg("verbose") = 0,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

void BindCpToTensor(py::module_& m) {
  m.def(
      "cp_to_tensor",
      [](py::object cp_tensor) {
        const Ktensor k = ToKtensor(cp_tensor, "cp_tensor");
        Tensor3 full;
        {
          py::gil_scoped_release release;
          full = k.Full();
        }
        const py::object factors = cp_tensor[py::int_(1)];
        return AsDtypeOf(FromTensor3(std::move(full)), factors[py::int_(0)]);
      },
      R"(The full tensor sum_r w_r a_r o b_r o c_r of a CP model (Ktensor::Full).

As ``tensorly.cp_to_tensor``: cp_tensor is a CPTensor or a (weights,
factors) pair (weights None: ones) with three factor matrices of R
columns. Returns a numpy array of shape (I, J, K), float32 when the
factors are float32. Raises TypeError/ValueError for anything else.)",
      py::arg("cp_tensor"));
}

}  // namespace

void BindDecomposeCp(py::module_& m) {
  BindCpSummary(m);
  BindParafac(m);
  BindHals(m);
  BindCpOpt(m);
  BindCpToTensor(m);
}

}  // namespace ltr::python
