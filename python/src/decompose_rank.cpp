// Choosing a CP rank: ltr.rank_ensemble (ltr::RunEnsemble) and
// ltr.cross_validate (ltr::CrossValidate), with their result objects
// ltr.Ensemble and ltr.CrossValidation.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "decompose_results.h"
#include "ltr/core/enums.h"
#include "ltr/decompose/decompose.h"

namespace ltr::python {

namespace {

// ranks: an int (one rank) or an iterable of ints such as range(1, 7) or
// a numpy array; numpy integers count as ints. The library checks the
// values (>= 1, increasing, at most the tensor's largest CP rank).
std::vector<int> ToRanks(const py::handle& ranks) {
  const auto is_int = [](const py::handle& value) {
    return !py::isinstance<py::bool_>(value) && PyIndex_Check(value.ptr());
  };
  const auto one = [&](const py::handle& value) {
    if (!is_int(value))
      throw py::type_error(
          "ranks must be an int or a sequence of ints (e.g. range(1, 7)), "
          "not " +
          std::string(py::str(py::type::of(value))));
    const long long rank =
        py::int_(py::reinterpret_borrow<py::object>(value)).cast<long long>();
    if (rank > std::numeric_limits<int>::max() ||
        rank < std::numeric_limits<int>::min())
      throw py::value_error("rank " + std::to_string(rank) +
                            " is out of range");
    return static_cast<int>(rank);
  };
  if (py::isinstance<py::str>(ranks) || !py::isinstance<py::iterable>(ranks))
    return {one(ranks)};  // an int, or the TypeError
  std::vector<int> out;
  for (const py::handle value : py::reinterpret_borrow<py::iterable>(ranks))
    out.push_back(one(value));
  if (out.empty())
    throw py::value_error("ranks is empty: give at least one rank");
  return out;
}

// The library's CP method names; the Tucker ones are not CP fits.
CpMethod ToCpMethod(const std::string& name) {
  switch (ParseMethod(name)) {
    case DecompositionMethod::kCpAls:
      return CpMethod::kAls;
    case DecompositionMethod::kCpOpt:
      return CpMethod::kOpt;
    case DecompositionMethod::kNcpHals:
      return CpMethod::kNonnegHals;
    case DecompositionMethod::kCpApr:
      return CpMethod::kApr;
    default:
      throw py::value_error(
          "method must be cp-als, cp-opt, ncp-hals or cp-apr, got '" + name +
          "' (a Tucker fit is ltr.tucker)");
  }
}

// The keyword arguments every fit of a sweep shares.
struct FitArgs {
  std::string method;
  int n_iter_max;
  double tol;
  std::string init;
  py::object nonneg_modes;
  std::string missing;
  std::uint64_t seed;
  std::string acceleration;
};

// CpOptions from the keywords; `masked`: some entries are missing (so that
// `missing` applies).
CpOptions ToCpOptions(const FitArgs& a, bool masked) {
  CpOptions cp;
  cp.method = ToCpMethod(a.method);
  cp.max_iterations = a.n_iter_max;
  cp.tolerance = a.tol;
  cp.init = ParseCpInit(a.init);
  cp.seed = a.seed;
  cp.missing_data = ParseMissingData(a.missing);
  cp.acceleration = ParseCpAcceleration(a.acceleration);
  if (cp.missing_data != CpOptions{}.missing_data &&
      (cp.method != CpMethod::kAls || !masked))
    throw py::value_error(
        "missing='" + a.missing +
        "' is for method='cp-als' with missing entries (a mask)");
  if (!a.nonneg_modes.is_none()) {
    if (cp.method != CpMethod::kNonnegHals)
      throw py::value_error("nonneg_modes is for method='ncp-hals'");
    try {
      cp.nonnegative_modes = a.nonneg_modes.cast<std::vector<int>>();
    } catch (const py::cast_error&) {
      throw py::type_error(
          "nonneg_modes must be None or a list of modes (0, 1, 2)");
    }
  }
  return cp;
}

std::optional<Mask3> ToOptionalMask(const py::object& mask, const Dims& dims) {
  if (mask.is_none()) return std::nullopt;
  return ToMask3(mask, dims, "mask");
}

void WarnIfFailed(const std::string& failure) {
  if (!failure.empty() &&
      PyErr_WarnEx(PyExc_RuntimeWarning, failure.c_str(), 1) != 0)
    throw py::error_already_set();
}

EnsembleResult RankEnsemble(const py::object& tensor,
                            const py::object& ranks,
                            int restarts,
                            const FitArgs& args,
                            const py::object& mask,
                            bool nvecs_first,
                            bool corcondia,
                            const py::object& threads,
                            const py::object& progress) {
  const Tensor3 x = ToTensor3(tensor, "tensor");
  const std::optional<Mask3> m = ToOptionalMask(mask, x.dims());
  EnsembleOptions options;
  options.cp = ToCpOptions(args, m.has_value());
  options.ranks = ToRanks(ranks);
  options.restarts = restarts;
  options.nvecs_first = nvecs_first;
  options.compute_corcondia = corcondia;
  Call call(threads, progress);
  EnsembleResult result;
  result.summary = call([&](const RunContext& run) {
    options.run = run;
    return RunEnsemble(options, x, m ? &*m : nullptr);
  });
  result.method = MethodName(ParseMethod(args.method));
  result.failure = FailureOf(result.summary);
  WarnIfFailed(result.failure);
  return result;
}

CrossValidationResult CrossValidateRanks(const py::object& tensor,
                                         const py::object& ranks,
                                         int restarts,
                                         double test_fraction,
                                         const FitArgs& args,
                                         const py::object& mask,
                                         const py::object& threads,
                                         const py::object& progress) {
  const Tensor3 x = ToTensor3(tensor, "tensor");
  const std::optional<Mask3> m = ToOptionalMask(mask, x.dims());
  CrossValidationOptions options;
  options.cp = ToCpOptions(args, true);  // the fits never see the test entries
  options.ranks = ToRanks(ranks);
  options.restarts = restarts;
  options.test_fraction = test_fraction;
  Call call(threads, progress);
  CrossValidationResult result;
  result.summary = call([&](const RunContext& run) {
    options.run = run;
    return CrossValidate(options, x, m ? &*m : nullptr);
  });
  result.test_fraction = test_fraction;
  result.failure = FailureOf(result.summary);
  WarnIfFailed(result.failure);
  return result;
}

// A (ranks x restarts) table of a field of the ensemble's fits; `missing`
// where nothing was fitted.
template <typename T, typename Field>
py::array FitTable(const EnsembleSummary& e, T missing, const Field& field) {
  const Index rows = e.restart.rows(), cols = e.restart.cols();
  py::array_t<T> out({rows, cols});
  auto view = out.template mutable_unchecked<2>();
  for (Index r = 0; r < rows; ++r)
    for (Index k = 0; k < cols; ++k)
      view(r, k) = e.restart(r, k) < 0 ? missing : field(e.fits[r][k]);
  return std::move(out);
}

// The row of `rank` in a grid's table.
Index RankRow(const std::vector<int>& ranks, int rank) {
  for (size_t r = 0; r < ranks.size(); ++r)
    if (ranks[r] == rank) return static_cast<Index>(r);
  std::string known;
  for (size_t r = 0; r < ranks.size(); ++r)
    known += (r ? ", " : "") + std::to_string(ranks[r]);
  throw py::value_error("rank " + std::to_string(rank) +
                        " is not in the ensemble's ranks (" + known + ")");
}

py::object FitAt(const EnsembleResult& e, int rank, Index k) {
  const Index r = RankRow(e.summary.ranks, rank);
  if (k < 0 || k >= e.summary.restart.cols())
    throw py::value_error("k must be in [0, " +
                          std::to_string(e.summary.restart.cols()) + "), got " +
                          std::to_string(k));
  if (e.summary.restart(r, k) < 0)
    throw py::value_error("rank " + std::to_string(rank) + " column " +
                          std::to_string(k) +
                          " was not fitted (the ensemble was interrupted)");
  return ToCpFitObject({e.summary.fits[r][k], e.method, e.modes});
}

py::list ModelsOf(const EnsembleResult& e, int rank) {
  const Index r = RankRow(e.summary.ranks, rank);
  py::list models;
  for (Index k = 0; k < e.summary.restart.cols(); ++k)
    models.append(e.summary.restart(r, k) < 0
                      ? py::object(py::none())
                      : ToCPTensor(e.summary.fits[r][k].model));
  return models;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

void BindEnsembleMethods(py::class_<EnsembleResult>& ensemble);

// The getter of one of a grid's (ranks x restarts) tables, for a Result
// (EnsembleResult, CrossValidationResult) whose `summary` holds it.
template <typename Result, typename Summary>
auto Table(Matrix Summary::*table) {
  return [table](const Result& r) { return FromMatrix(r.summary.*table); };
}

void BindEnsemble(py::module_& m) {
  py::class_<EnsembleResult> ensemble(
      m,
      "Ensemble",
      R"(An ensemble of CP fits over ranks x restarts (ltr.rank_ensemble,
or the /ensemble of an `ltr decompose --ranks` output).

Tables have one row per rank (``ranks``) and one column per restart, the
best fit (lowest relative error; for cp-apr lowest Poisson deviance, the
loss it minimises) first within each rank.)");
  ensemble
      .def_property_readonly(
          "ranks",
          [](const EnsembleResult& e) {
            return FromStdVector(e.summary.ranks);
          },
          "the ranks fitted (int array)")
      .def_property_readonly(
          "complete",
          [](const EnsembleResult& e) { return e.summary.complete; },
          "False for an interrupted run read from OUT.h5.partial: column t is "
          "then restart t, NaN where not fitted")
      .def_property_readonly(
          "relative_error",
          Table<EnsembleResult>(&EnsembleSummary::relative_error),
          "||X - M|| / ||X|| over the observed entries, (ranks x restarts)")
      .def_property_readonly(
          "poisson_deviance",
          Table<EnsembleResult>(&EnsembleSummary::poisson_deviance),
          "Poisson deviance of each fit (ranks x restarts; NaN unless the "
          "data are counts); cp-apr's fits are sorted by it")
      .def_property_readonly(
          "similarity",
          Table<EnsembleResult>(&EnsembleSummary::similarity),
          "factor match score of each fit to the best fit of its rank (1 in "
          "column 0)")
      .def_property_readonly(
          "corcondia",
          Table<EnsembleResult>(&EnsembleSummary::corcondia),
          "core consistency (100 = ideal trilinear; NaN with corcondia=False)")
      .def_property_readonly(
          "restart",
          [](const EnsembleResult& e) {
            return FromIntMatrix(e.summary.restart);
          },
          "the restart (grid position, hence seed) of each column; -1: none")
      .def_property_readonly(
          "iterations",
          [](const EnsembleResult& e) {
            return FitTable<std::int64_t>(
                e.summary, -1, [](const CpSummary& f) { return f.iterations; });
          },
          "iterations of each fit (-1 where not fitted)")
      .def_property_readonly(
          "converged",
          [](const EnsembleResult& e) {
            return FitTable<bool>(e.summary, false, [](const CpSummary& f) {
              return f.converged;
            });
          },
          "whether each fit met the tolerance before n_iter_max")
      .def_property_readonly(
          "seed",
          [](const EnsembleResult& e) {
            return FitTable<std::uint64_t>(
                e.summary, 0, [](const CpSummary& f) { return f.seed; });
          },
          "the seed of each fit (drawn from the ensemble's seed)")
      .def_property_readonly(
          "best",
          [](const EnsembleResult& e) {
            py::list best;
            for (int rank : e.summary.ranks) best.append(ModelsOf(e, rank)[0]);
            return best;
          },
          "the best fit of each rank as a CPTensor (None where not fitted)")
      .def_property_readonly(
          "seconds",
          [](const EnsembleResult& e) { return e.summary.seconds; },
          "wall time of the whole ensemble")
      .def_readonly(
          "method", &EnsembleResult::method, "the CP method of every fit");
  BindEnsembleMethods(ensemble);
}

// The per-rank accessors (tensortools' names), save and repr.
void BindEnsembleMethods(py::class_<EnsembleResult>& ensemble) {
  ensemble
      .def_readonly("failure",
                    &EnsembleResult::failure,
                    "why a fit must not be trusted (no better than the zero "
                    "model, or non-finite); '' when all can be")
      .def("fit",
           &FitAt,
           py::arg("rank"),
           py::arg("k") = 0,
           "The k-th best fit of `rank`: a CPTensor with .summary "
           "(ltr.CpSummary), "
           ".method and .modes, as ltr.parafac returns a fit.")
      .def("factors",
           &ModelsOf,
           py::arg("rank"),
           "Every fit of `rank` as a CPTensor, best first (tensortools' "
           "Ensemble.factors).")
      .def(
          "objectives",
          [](const EnsembleResult& e, int rank) {
            return FromVector(
                e.summary.relative_error.row(RankRow(e.summary.ranks, rank))
                    .transpose());
          },
          py::arg("rank"),
          "The relative errors of `rank`'s fits, best first (tensortools' "
          "Ensemble.objectives).")
      .def(
          "similarities",
          [](const EnsembleResult& e, int rank) {
            return FromVector(
                e.summary.similarity.row(RankRow(e.summary.ranks, rank))
                    .transpose());
          },
          py::arg("rank"),
          "The similarities of `rank`'s fits to its best fit, best first "
          "(1.0 first; tensortools' Ensemble.similarities).")
      .def(
          "save",
          [](const EnsembleResult& e, const std::filesystem::path& path) {
            SaveEnsemble(e, path.string());
          },
          py::arg("path"),
          "Writes the ensemble as `ltr decompose --ranks` does (/ensemble of "
          "docs/formats.md), to a temporary file renamed to `path`. Raises "
          "OSError if it cannot be written.")
      .def("__repr__", [](const EnsembleResult& e) {
        return Trimmed(e.summary.BriefReport());
      });
}

void BindCrossValidation(py::module_& m) {
  py::class_<CrossValidationResult>(
      m,
      "CrossValidation",
      R"(Held-out errors over ranks x restarts (ltr.cross_validate, or the
/crossval of `ltr decompose --cv`), the lowest training error first in each
rank (for cp-apr the lowest training deviance, the loss it minimises).)")
      .def_property_readonly(
          "ranks",
          [](const CrossValidationResult& c) {
            return FromStdVector(c.summary.ranks);
          },
          "the ranks fitted (int array)")
      .def_property_readonly(
          "complete",
          [](const CrossValidationResult& c) { return c.summary.complete; },
          "False for an interrupted run read from OUT.h5.partial")
      .def_property_readonly(
          "train_error",
          Table<CrossValidationResult>(&CrossValidationSummary::train_error),
          "relative error on the training entries, (ranks x restarts)")
      .def_property_readonly(
          "test_error",
          Table<CrossValidationResult>(&CrossValidationSummary::test_error),
          "relative error on the held-out entries, (ranks x restarts)")
      .def_property_readonly(
          "train_deviance",
          Table<CrossValidationResult>(&CrossValidationSummary::train_deviance),
          "Poisson deviance on the training entries (NaN unless counts)")
      .def_property_readonly(
          "test_deviance",
          Table<CrossValidationResult>(&CrossValidationSummary::test_deviance),
          "Poisson deviance on the held-out entries (NaN unless counts)")
      .def_property_readonly(
          "by_deviance",
          [](const CrossValidationResult& c) { return c.summary.by_deviance; },
          "True for cp-apr: columns ordered by training deviance")
      .def_property_readonly(
          "restart",
          [](const CrossValidationResult& c) {
            return FromIntMatrix(c.summary.restart);
          },
          "the restart index of each column's fit, -1 where not fitted")
      .def_property_readonly(
          "seconds",
          [](const CrossValidationResult& c) { return c.summary.seconds; },
          "wall time")
      .def_readonly("test_fraction",
                    &CrossValidationResult::test_fraction,
                    "fraction of the observed entries held out")
      .def_readonly("failure",
                    &CrossValidationResult::failure,
                    "why a fit must not be trusted; '' when all can be")
      .def(
          "save",
          [](const CrossValidationResult& c,
             const std::filesystem::path& path) {
            SaveCrossValidation(c, path.string());
          },
          py::arg("path"),
          "Writes the table as `ltr decompose --cv` does (/crossval of "
          "docs/formats.md), to a temporary file renamed to `path`.")
      .def("__repr__", [](const CrossValidationResult& c) {
        return Trimmed(c.summary.BriefReport());
      });
}

}  // namespace

void BindCrossValidate(py::module_& m);

void BindRankSelection(py::module_& m) {
  BindEnsemble(m);
  BindCrossValidation(m);
  BindCrossValidate(m);
  const CpOptions cp;
  const EnsembleOptions ensemble;
  m.def(
      "rank_ensemble",
      [](const py::object& tensor,
         const py::object& ranks,
         int restarts,
         const std::string& method,
         int n_iter_max,
         double tol,
         const std::string& init,
         const py::object& nonneg_modes,
         const std::string& missing,
         const py::object& mask,
         std::uint64_t seed,
         const std::string& acceleration,
         bool nvecs_first,
         bool corcondia,
         const py::object& threads,
         const py::object& progress) {
        return RankEnsemble(tensor,
                            ranks,
                            restarts,
                            {method,
                             n_iter_max,
                             tol,
                             init,
                             nonneg_modes,
                             missing,
                             seed,
                             acceleration},
                            mask,
                            nvecs_first,
                            corcondia,
                            threads,
                            progress);
      },
      py::arg("tensor"),
      py::arg("ranks"),
      py::arg("restarts") = ensemble.restarts,
      py::kw_only(),
      py::arg("method") = MethodName(DecompositionMethod::kCpAls),
      py::arg("n_iter_max") = cp.max_iterations,
      py::arg("tol") = cp.tolerance,
      py::arg("init") = CpInitName(cp.init),
      py::arg("nonneg_modes") = py::none(),
      py::arg("missing") = MissingDataName(cp.missing_data),
      py::arg("mask") = py::none(),
      py::arg("seed") = cp.seed,
      py::arg("acceleration") = CpAccelerationName(cp.acceleration),
      py::arg("nvecs_first") = ensemble.nvecs_first,
      py::arg("corcondia") = ensemble.compute_corcondia,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none(),
      R"(Fits every rank in `ranks` `restarts` times from different starts
(ltr::RunEnsemble; `ltr decompose --ranks A:B --restarts K`; tensortools'
Ensemble(fit_method=...).fit(X, ranks=..., replicates=K)).

tensor: a 3-D real array. ranks: an int or an increasing sequence of ints
(range(1, 7)). restarts: fits per rank. method: 'cp-als', 'cp-opt' or
'ncp-hals'. n_iter_max: iterations per fit. tol: stop when the relative error
changes by less (0: run n_iter_max). init: 'random' or 'nvecs'.
nonneg_modes: ncp-hals only, the modes kept >= 0 (None: all three). missing:
cp-als with a mask: 'exact' (masked least squares) or 'em'. mask: None or
an array of the tensor's shape, True/1 = observed. seed: every fit's seed is
drawn from it, so the same seed gives the same ensemble as the command.
acceleration: cp-als / ncp-hals: 'line-search' (Bro's extrapolation after
each sweep, kept only when the error drops; fewer iterations to the same
error) or 'none'. nvecs_first: restart 0 of every rank from nvecs, the others
from `init`; False: all from `init` (tensortools' Ensemble). corcondia:
compute each fit's core consistency. threads: None (every core) or an int. progress: None (the 'ltr' logger), False, or a callable taking
one line per finished fit.

Returns an ltr.Ensemble. Raises ValueError on bad values (unknown method,
ranks out of range, a mask of another shape), TypeError on bad types,
KeyboardInterrupt on Ctrl-C, and re-raises an exception of `progress`.
Warns (RuntimeWarning) when a fit is no better than the zero model.)");
}

void BindCrossValidate(py::module_& m) {
  const CpOptions cp;
  const CrossValidationOptions cv;
  m.def(
      "cross_validate",
      [](const py::object& tensor,
         const py::object& ranks,
         int restarts,
         double test_fraction,
         const std::string& method,
         int n_iter_max,
         double tol,
         const std::string& init,
         const py::object& nonneg_modes,
         const std::string& missing,
         const py::object& mask,
         std::uint64_t seed,
         const std::string& acceleration,
         const py::object& threads,
         const py::object& progress) {
        return CrossValidateRanks(tensor,
                                  ranks,
                                  restarts,
                                  test_fraction,
                                  {method,
                                   n_iter_max,
                                   tol,
                                   init,
                                   nonneg_modes,
                                   missing,
                                   seed,
                                   acceleration},
                                  mask,
                                  threads,
                                  progress);
      },
      py::arg("tensor"),
      py::arg("ranks"),
      py::arg("restarts") = cv.restarts,
      py::kw_only(),
      py::arg("test_fraction") = cv.test_fraction,
      py::arg("method") = MethodName(DecompositionMethod::kCpAls),
      py::arg("n_iter_max") = cp.max_iterations,
      py::arg("tol") = cp.tolerance,
      py::arg("init") = CpInitName(cp.init),
      py::arg("nonneg_modes") = py::none(),
      py::arg("missing") = MissingDataName(cp.missing_data),
      py::arg("mask") = py::none(),
      py::arg("seed") = cp.seed,
      py::arg("acceleration") = CpAccelerationName(cp.acceleration),
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none(),
      R"(Cross-validates CP ranks on held-out entries (ltr::CrossValidate;
`ltr decompose --ranks A:B --restarts K --cv`): one speckled hold-out, a
random `test_fraction` of the observed entries drawn from `seed`, is hidden
from every fit; each rank is fitted `restarts` times on the rest.

test_fraction: in (0, 0.9]. The other arguments are those of
ltr.rank_ensemble (missing applies to cp-als: the training entries are a
mask). Returns an ltr.CrossValidation (train and test relative errors,
ranks x restarts). Raises as ltr.rank_ensemble.)");
}

}  // namespace ltr::python
