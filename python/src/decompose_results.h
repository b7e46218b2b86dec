// The results of choosing a rank, as the Python objects hold them: the
// library's summaries with what their files record beside them (the method
// name, the mode names of the factors, the hold-out fraction), so that an
// object saves to the layout `ltr decompose` writes and loads back the same.
// decompose_rank.cpp computes them, decompose_files.cpp reads and writes.
#ifndef LTR_PYTHON_DECOMPOSE_RESULTS_H_
#define LTR_PYTHON_DECOMPOSE_RESULTS_H_

#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/decompose/tucker.h"
#include "ltr/formats/decomposition_file.h"

namespace ltr::python {

namespace py = pybind11;

// One CP fit (a file's /cp, or one restart of an ensemble).
struct CpFitResult {
  CpSummary summary;
  std::string method;  // "cp-als", "cp-opt", "ncp-hals" ("" when unknown)
  ModeNames modes{"mode0", "mode1", "mode2"};
};

// A file's /tucker.
struct TuckerFitResult {
  TuckerSummary summary;
  std::string method;
};

// ltr.Ensemble: ltr.rank_ensemble's result, a file's /ensemble.
struct EnsembleResult {
  EnsembleSummary summary;
  std::string method;
  ModeNames modes{"mode0", "mode1", "mode2"};
  // DecomposeResult::Failure() of the ensemble: "" when it can be trusted.
  std::string failure;
};

// ltr.CrossValidation: ltr.cross_validate's result, a file's /crossval.
struct CrossValidationResult {
  CrossValidationSummary summary;
  double test_fraction = 0;
  std::string failure;
};

// The failure of a result holding only `ensemble` or `cv`.
std::string FailureOf(const EnsembleSummary& ensemble);
std::string FailureOf(const CrossValidationSummary& cv);

// Write the objects in the decomposition layout of docs/formats.md (a
// temporary file renamed to `path` when complete).
void SaveEnsemble(const EnsembleResult& e, const std::string& path);
void SaveCrossValidation(const CrossValidationResult& cv,
                         const std::string& path);
void SaveCpFit(const CpFitResult& fit, const std::string& path);

// One CP fit as Python sees it: the CPTensor with its .summary (CpSummary),
// .method and .modes, as ltr.parafac returns a fit; and back (nullopt for a
// CPTensor without a CpSummary).
py::object ToCpFitObject(const CpFitResult& fit);
std::optional<CpFitResult> FromCpFitObject(const py::handle& cp);

}  // namespace ltr::python

#endif  // LTR_PYTHON_DECOMPOSE_RESULTS_H_
