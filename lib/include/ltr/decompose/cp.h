// CP (canonical polyadic) decomposition of dense 3-way tensors:
// alternating least squares, nonnegative HALS and all-at-once optimisation
// through Ceres (CP-OPT), Poisson nonnegative CP for counts (CP-APR), each
// with optional missing data.
#ifndef LTR_CP_H_
#define LTR_CP_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"

namespace ltr {

struct CpOptions {
  CpMethod method = CpMethod::kAls;
  // Number of components R: >= 1 and at most min(IJ, IK, JK), the largest
  // CP rank an I x J x K tensor can have.
  int rank = 1;
  CpInit init = CpInit::kRandom;
  // Outer iterations (ALS sweeps over the three modes, or L-BFGS iterations).
  int max_iterations = 500;
  // Stop when the relative error changes by less than this between two
  // iterations. 0 runs exactly max_iterations.
  double tolerance = 1e-6;
  // Modes (0, 1, 2) constrained to be >= 0. Only for kNonnegHals, where an
  // empty list means all three modes.
  std::vector<int> nonnegative_modes;
  MissingData missing_data = MissingData::kExact;
  // ALS and HALS (in memory, masked and streamed): kLineSearch tries, after
  // every sweep from the third on, the point F + s (F - F_prev) for all
  // factors at once (F_prev the factors before the sweep, s =
  // iteration^(1/p), p = 3 raised by one after 4 failures in a row; Bro
  // 1998) and keeps it only when its error is lower than the sweep's, so the
  // error history never rises. An accepted point costs no extra pass over
  // the data (the next sweep's first MTTKRP is the one that measured it); a
  // rejected one costs that MTTKRP again. Ignored by CP-OPT and CP-APR.
  CpAcceleration acceleration = CpAcceleration::kLineSearch;
  // CP-APR (kApr) only, with the Tensor Toolbox's cp_apr defaults (its
  // multiplicative-update algorithm 'mu'; Chi and Kolda 2012). An outer
  // iteration (max_iterations of them) updates each mode in turn by at most
  // max_inner_iterations multiplicative updates; the fit has converged when
  // no mode needed one, i.e. every mode's KKT violation max|min(B, 1 - Phi)|
  // is below kkt_tolerance (`tolerance` does not apply). Entries of a factor
  // below kappa_tolerance where Phi > 1 (inadmissible zeros) are raised by
  // kappa; model values are floored at epsilon where data are divided by
  // them.
  struct AprOptions {
    int max_inner_iterations = 10;
    double kkt_tolerance = 1e-4;
    double kappa = 0.01;
    double kappa_tolerance = 1e-10;
    double epsilon = 1e-10;
  } apr;
  std::uint64_t seed = 0;
  // Threads of the MTTKRPs and gradients (the same count gives the same
  // bits; another count changes the last bits of sums) and cancellation, polled
  // after every iteration: a cancelled fit returns its current model, not
  // converged, with a message saying so. Progress is for the sweeps that run
  // many fits (RunEnsemble, CrossValidate).
  RunContext run;

  // False, with a one-line reason, if the options cannot apply to a tensor of
  // these dimensions.
  bool IsValid(const Dims& dims, std::string* error) const;
};

struct CpSummary {
  Ktensor
      model;  // canonical form: unit columns, weights descending, signs fixed
  double relative_error = 0;  // ||X - M|| / ||X|| over observed entries
  double fit() const { return 1.0 - relative_error; }
  int iterations = 0;
  int extrapolations = 0;  // line-search points kept (of iterations)
  bool converged = false;  // tolerance met before max_iterations
  double seconds = 0;
  std::uint64_t seed = 0;             // options.seed of this fit (set by Cp)
  std::string message;                // why it stopped
  std::vector<double> error_history;  // relative error after each iteration
  // Poisson deviance 2 sum (X log(X / M) - X + M) over the observed entries,
  // model values floored at apr.epsilon, when every observed entry is >= 0
  // (NaN otherwise); deviance_history: after each outer iteration (CP-APR
  // only, empty for the other methods).
  double poisson_deviance = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> deviance_history;

  std::string BriefReport() const;
};

// Decomposes x with the method of options. A null mask means all observed;
// otherwise mask has x's dimensions and 1 marks an observed entry. init, when
// given, is the starting point (its rank must equal options.rank).
// Throws ltr::Error on invalid options, mismatched mask or non-finite
// observed data; non-convergence is reported in the summary.
CpSummary Cp(const CpOptions& options,
             const Tensor3& x,
             const Mask3* mask = nullptr,
             const Ktensor* init = nullptr);

// The starting point Cp uses: random or nvecs factors of x, weights 1.
Ktensor InitialKtensor(const CpOptions& options,
                       const Tensor3& x,
                       const Mask3* mask = nullptr);

// MTTKRP for mode n: X_(n) (kr of the other two factors), I_n x R, without
// forming the Khatri-Rao product.
Matrix Mttkrp(const Tensor3& x,
              const std::array<Matrix, 3>& factors,
              int mode,
              int num_threads = 1);

}  // namespace ltr

#endif  // LTR_CP_H_
