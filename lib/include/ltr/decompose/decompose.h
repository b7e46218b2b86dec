// The `ltr decompose` job as one library call: a single CP or Tucker fit, an
// ensemble over ranks x restarts, and optionally cross-validation over the
// same ranks, resumable from the checkpoint an interrupted sweep leaves. Its
// result is written and read by ltr/formats/decomposition_file.h.
#ifndef LTR_DECOMPOSE_H_
#define LTR_DECOMPOSE_H_

#include <optional>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/decompose/tucker.h"

namespace ltr {

struct DecomposeOptions {
  DecompositionMethod method = DecompositionMethod::kCpAls;
  // CP settings (rank, init, iterations, tolerance, nonnegative modes,
  // seed). cp.method is set from `method`, cp.run from `run`.
  CpOptions cp;
  // Tucker settings (ranks or error tolerance). tucker.method is set from
  // `method`, tucker.run from `run`.
  TuckerOptions tucker;
  // A rank sweep (an ensemble, as TCA's rank plot), `restarts` fits each:
  // every CP rank in `ranks` (increasing), or, when it is empty and
  // max_rank > 0, every rank in [min_rank, max_rank].
  std::vector<int> ranks;
  int min_rank = 0;
  int max_rank = 0;
  int restarts = 3;
  // EnsembleOptions::nvecs_first: restart 0 of every rank from nvecs.
  bool nvecs_first = true;
  bool corcondia = true;
  // Also cross-validate the swept ranks on held-out entries.
  bool cross_validate = false;
  double test_fraction = 0.1;
  // Treat NaN (and infinite) entries as missing instead of an error.
  bool nan_as_missing = false;
  // Threads of every fit; the processes that share a sweep's fits; the
  // token that stops a sweep between fits; one progress line per finished
  // fit of a sweep (EnsembleOptions::run, CrossValidationOptions::run).
  RunContext run;
  // What the data are (the tool: "input=FILE dataset=PATH mask=PATH"). A
  // sweep whose data are named records its ResumeKey in the result, so that
  // a later run can resume it.
  std::string data_name;
  // The checkpoint of an interrupted sweep with the same options and data
  // (OUT.h5.partial, as WriteDecomposition wrote it): its finished fits are
  // kept and only the missing ones fitted, giving the result of an
  // uninterrupted run. Empty: start afresh.
  std::string resume_from;

  bool IsValid(const Dims& dims, std::string* error) const;
  // The ranks of the sweep; empty for a single fit.
  std::vector<int> SweepRanks() const;
  bool IsSweep() const { return !SweepRanks().empty(); }
};

// A fit whose relative error is at least this explains nothing (less than
// 0.02% of the sum of squares): it is no better than the zero model, whose
// relative error is 1.
constexpr double kZeroModelError = 1 - 1e-4;

struct DecomposeResult {
  std::optional<CpSummary> cp;
  std::optional<TuckerSummary> tucker;
  std::optional<EnsembleSummary> ensemble;
  std::optional<CrossValidationSummary> cross_validation;
  // ResumeKey of a sweep whose data are named (options.data_name), else "".
  std::string resume_key;

  // What the command prints: one fit's brief report, or the rank table.
  std::string Report() const;
  // False when an ensemble or a cross-validation was interrupted.
  bool complete() const;
  // Why the result must not be trusted, "" when it can: a fit no better
  // than the zero model (relative error >= kZeroModelError) or a
  // non-finite value in a fit (its error, weights, factors or core). One
  // line naming the first such fit.
  std::string Failure() const;
};

// Runs the decomposition `options` describes. `mask` may be null (all
// observed). Throws ltr::Error on invalid options or data (non-finite
// entries that are observed, unless nan_as_missing; data that are all zero
// or whose sum of squares overflows a double).
//
// Ensembles and cross-validations are shared among the processes of
// options.run.communicator; every process returns the same result. Stopped
// by options.run.cancellation, they return what finished (complete() is
// false). Throws ltr::Error ("cannot resume: ...") when resume_from is given
// but missing, not a sweep, or written with other options or data.
DecomposeResult Decompose(const DecomposeOptions& options,
                          const Tensor3& x,
                          const Mask3* mask = nullptr);

// The options that decide a sweep's results, as text (threads excluded:
// they do not change results), with the data's dimensions and data_name; an
// output records it so that a resumed run can check it continues the same
// job.
std::string ResumeKey(const DecomposeOptions& options, const Dims& dims);

}  // namespace ltr

#endif  // LTR_DECOMPOSE_H_
