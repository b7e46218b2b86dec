// Diagnostics for choosing a CP rank: alignment of two fits, factor match
// score, core consistency (CORCONDIA), ensembles over ranks x restarts and
// cross-validation on held-out entries.
#ifndef LTR_DIAGNOSTICS_H_
#define LTR_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"
#include "ltr/decompose/cp.h"

namespace ltr {

struct Alignment {
  // Component r of the reference is matched with component permutation[r] of
  // the other fit (which may have more components than the reference).
  std::vector<int> permutation;
  // Per matched component: the product over modes of |cos| between the
  // reference's and the other fit's factor columns, times the weight penalty
  // when asked for.
  Vector component_scores;
  // Mean of component_scores: the factor match score, in [0, 1].
  double score = 0;
};

// Finds the permutation of `other`'s components (Hungarian algorithm) that
// maximises the factor match score with `reference`. With penalize_weights,
// each component's score is also multiplied by 1 - |l1 - l2| / max(l1, l2).
// Requires other.rank() >= reference.rank() and equal dimensions.
Alignment Align(const Ktensor& reference,
                const Ktensor& other,
                bool penalize_weights = false);

// Reorders `other`'s components as `alignment` says, flips signs to agree
// with the reference, and drops unmatched components.
Ktensor ApplyAlignment(const Ktensor& reference,
                       const Ktensor& other,
                       const Alignment& alignment);

// Align(reference, other).score.
double FactorMatchScore(const Ktensor& reference, const Ktensor& other);

// Core consistency diagnostic (Bro & Kiers 2003): 100 (1 - ||G - T||^2 / R)
// where G is the least-squares Tucker core of x given the CP factors and T
// the superdiagonal identity. 100 means an ideal trilinear structure; values
// well below (or negative) mean the rank is too high. Mask entries are
// ignored: it is computed on x as given. run.num_threads threads the first
// (largest) mode product.
double Corcondia(const Tensor3& x,
                 const Ktensor& model,
                 const RunContext& run = RunContext());

struct EnsembleOptions {
  CpOptions cp;  // method, init, iterations...; rank and seed are set per fit
  // The ranks fitted: `ranks` (increasing) when given, else [min_rank,
  // max_rank].
  std::vector<int> ranks;
  int min_rank = 1;
  int max_rank = 1;
  int restarts = 1;
  // Restart 0 of every rank starts from the leading eigenvectors of each
  // mode's Gram (CpInit::kNvecs; computed once for the ensemble, rank R
  // takes the first R columns), the other restarts from cp.init. Random
  // starts alone can all land on a saddle where ALS stalls for hundreds of
  // sweeps (planted rank 5, 3 random restarts: all three at relative error
  // 0.334 against the planted 0.050; measured, docs/benchmarks.md). false:
  // every restart from cp.init (tensortools' Ensemble).
  bool nvecs_first = true;
  bool compute_corcondia = true;
  // Every fit runs with this context (cp.run is not used): its threads, the
  // processes that share the fits, the token that stops the ensemble between
  // fits, and one progress line per finished fit ("ensemble: rank 2 restart
  // 1: error 0.105 in 0.3 s"), reported by the process that fitted it.
  RunContext run;
};

// An ensemble or a cross-validation is a grid of independent tasks (rank
// index r, restart t): task r * restarts + t fits with the seed the grid
// assigns it from options.cp.seed. The tasks are shared among the processes
// of options.run.communicator (ltr/core/distributed.h) with the same result
// as one process, and a run whose options.run.cancellation is cancelled
// returns the tasks that finished (a fit that returns after the cancellation
// is dropped), from which a later run can resume.

struct EnsembleSummary {
  std::vector<int> ranks;
  // False when interrupted: only some fits exist; column t of every matrix
  // is then restart t (NaN where not fitted) and similarity is NaN.
  bool complete = true;
  // Rows: ranks; columns: restarts, best first within each rank: lowest
  // relative error, or for cp-apr (by_deviance) lowest Poisson deviance, the
  // quantity it minimises.
  bool by_deviance = false;
  Matrix relative_error;
  Matrix poisson_deviance;  // of each fit (CpSummary::poisson_deviance)
  Matrix similarity;  // factor match score to the best fit of the same rank
  Matrix corcondia;
  // restart(r, k): the restart index (grid position, hence seed) of column
  // k's fit; -1 where nothing was fitted.
  Eigen::MatrixXi restart;
  // fits[rank index][column]; an empty CpSummary where restart is -1.
  std::vector<std::vector<CpSummary>> fits;
  double seconds = 0;

  // Number of fits done (restart >= 0).
  int DoneCount() const;
  std::string BriefReport() const;
};

// Fits every rank of options (ranks, or [min_rank, max_rank]) `restarts` times
// from seeds drawn from options.cp.seed. Fits of a rank are sorted best first.
// With `resume` (the summary of an interrupted run with the same options), its
// fits are kept and only the missing ones are fitted: the result is the one an
// uninterrupted run gives. Throws ltr::Error if `resume` has another grid.
EnsembleSummary RunEnsemble(const EnsembleOptions& options,
                            const Tensor3& x,
                            const Mask3* mask = nullptr,
                            const EnsembleSummary* resume = nullptr);

struct CrossValidationOptions {
  CpOptions cp;
  std::vector<int> ranks;
  int restarts = 1;
  // Fraction of the observed entries held out, drawn at random (speckled
  // hold-out, as in TCA); the fits see only the rest.
  double test_fraction = 0.1;
  // As EnsembleOptions::run; the progress lines read "cross-validation:
  // rank 2 restart 1 done".
  RunContext run;
};

struct CrossValidationSummary {
  std::vector<int> ranks;
  // As EnsembleSummary: false when interrupted, and then column t is
  // restart t (NaN where not fitted).
  bool complete = true;
  // Columns: best first within each rank: lowest training error, or for
  // cp-apr (by_deviance) lowest training deviance, the quantity it minimises.
  bool by_deviance = false;
  Matrix train_error;  // (ranks x restarts) relative error on training entries
  Matrix test_error;   // (ranks x restarts) relative error on held-out entries
  // (ranks x restarts) Poisson deviances on the training and on the held-out
  // entries (as CpSummary::poisson_deviance), for data >= 0 at every observed
  // entry; NaN otherwise. The test deviance is the held-out score of cp-apr.
  Matrix train_deviance;
  Matrix test_deviance;
  Eigen::MatrixXi restart;  // restart index of each column's fit, -1 if none
  double seconds = 0;

  int DoneCount() const;
  std::string BriefReport() const;
};

// Fits every rank `restarts` times on the training entries of one speckled
// hold-out. `resume` as in RunEnsemble.
CrossValidationSummary CrossValidate(
    const CrossValidationOptions& options,
    const Tensor3& x,
    const Mask3* mask = nullptr,
    const CrossValidationSummary* resume = nullptr);

}  // namespace ltr

#endif  // LTR_DIAGNOSTICS_H_
