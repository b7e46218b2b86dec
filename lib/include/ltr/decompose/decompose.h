// The `ltr decompose` job as one library call: a single CP or Tucker fit, an
// ensemble over ranks x restarts, and optionally cross-validation over the
// same ranks; plus the writer of its result in the decomposition layout of
// docs/formats.md.
#ifndef LTR_DECOMPOSE_H_
#define LTR_DECOMPOSE_H_

#include <optional>
#include <string>
#include <vector>

#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/formats/io.h"
#include "ltr/core/tensor.h"
#include "ltr/decompose/tucker.h"
#include "ltr/core/enums.h"

namespace ltr {


struct DecomposeOptions {
  DecompositionMethod method = DecompositionMethod::kCpAls;
  // CP settings (rank, init, iterations, tolerance, nonnegative modes, seed,
  // threads). cp.method is set from `method`.
  CpOptions cp;
  // Tucker settings (ranks or error tolerance). tucker.method is set from
  // `method`.
  TuckerOptions tucker;
  // A rank sweep (an ensemble, as TCA's rank plot), `restarts` fits each:
  // every CP rank in `ranks` (increasing), or, when it is empty and
  // max_rank > 0, every rank in [min_rank, max_rank].
  std::vector<int> ranks;
  int min_rank = 0;
  int max_rank = 0;
  int restarts = 1;
  bool corcondia = true;
  // Also cross-validate the swept ranks on held-out entries.
  bool cross_validate = false;
  double test_fraction = 0.1;
  // Treat NaN (and infinite) entries as missing instead of an error.
  bool nan_as_missing = false;
  // One line per finished fit of a sweep on stderr.
  bool progress = false;

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
// Ensembles and cross-validations are shared among the processes of an MPI
// run (ltr/distributed.h); every process returns the same result. Stopped
// by SIGINT/SIGTERM (ltr/interrupt.h), they return what finished
// (complete() is false); `resume`, such a result read back with
// ReadDecomposition, makes this run fit only what is missing, with the
// result of an uninterrupted run.
DecomposeResult Decompose(const DecomposeOptions& options,
                          const Tensor3& x,
                          const Mask3* mask = nullptr,
                          const DecomposeResult* resume = nullptr);

// The options that decide a sweep's results, as text (threads excluded:
// they do not change results), with the data's dimensions; an output
// records it so that a resumed run can check it continues the same job.
std::string ResumeKey(const DecomposeOptions& options, const Dims& dims);

// The /ensemble and /crossval parts of a file WriteDecomposition wrote,
// complete or interrupted, as Decompose's `resume` takes them.
DecomposeResult ReadDecomposition(const std::string& file);

// Writes `result` into `out` in the decomposition layout; `axes` names the
// input's three axes (e.g. "trial,time,neuron") so factor datasets are
// labelled "<axis>,component". An interrupted ensemble or cross-validation
// is written with attribute complete = 0, its `done` matrix, and only the
// fits that finished (run_t = restart t).
void WriteDecomposition(const DecomposeOptions& options,
                        const DecomposeResult& result,
                        const std::string& axes,
                        io::OutputFile* out);

}  // namespace ltr

#endif  // LTR_DECOMPOSE_H_
