// Data-driven initialisation of an RNN fit (internal to fit.cpp).
//
// The recording is turned into estimated unit states, and the dynamics are
// fitted to them by one-step-ahead least squares, which is cheap and has no
// bad local minima to speak of:
//
//  1. Training entries are kept; the others (held-out, guard, unobserved)
//     are filled by linear interpolation in time within the trial, or the
//     neuron's mean at that bin. Counts (poisson) are smoothed in time first
//     and mapped through the inverse softplus.
//  2. Readout and latent activity phi(x): identity readout: phi(x) = y - d;
//     free / orthonormal readout: principal components of the activity,
//     scaled into the range of phi (C = U diag(m), d = mean).
//  3. States x = phi^-1(latent) (clipped inside phi's range).
//  4. z[t] = (x[t+1] - (1 - alpha) x[t]) / alpha - W0 phi[t] is regressed on
//     phi[t] (and inputs, condition one-hots, a constant): full W by ridge
//     least squares; low-rank and low-tensor-rank start from the truncated
//     SVD of that W and are refined by alternating least squares over a, b
//     (and the trial factors c), each step an exact ridge solve.
//  5. x0 of each condition = the mean estimated x[0] of its trials.
#ifndef LTR_SRC_FIT_INIT_H_
#define LTR_SRC_FIT_INIT_H_

#include "ltr/core/random.h"
#include "ltr/fit/fit.h"

namespace ltr::internal {

struct DataInitReport {
  int als_iterations = 0;
  // 1 - ||z - z_hat||^2 / ||z - mean z||^2 of the one-step regression.
  double one_step_r2 = 0;
  double seconds = 0;
};

// The activity in the readout's space (neurons x trials*bins, column
// k * T + t): the training entries, every other entry filled in (step 1).
Eigen::MatrixXd FilledActivity(const FitOptions& o,
                               const Recording& r,
                               const Mask3& train);

// Overwrites the dynamics (w or a, b, c; w_in, h, bias, x0) and, unless the
// readout is the identity, readout and offset of *p, whose shapes (and w0)
// are already set. `train` marks the entries the fit may use. Seed 0 starts
// the alternating least squares from the truncated SVD of the pooled W,
// other seeds from random factors (so restarts differ).
DataInitReport DataDrivenInitialization(const FitOptions& options,
                                        const Recording& recording,
                                        const Mask3& train,
                                        RnnParameters* p);

// The smoothing prior's Hessian over `trials` trials (it is quadratic in
// each column of c), probed one unit vector at a time and symmetrised.
Eigen::MatrixXd PriorHessian(const TrialSmoothingPenalty& penalty,
                             Eigen::Index trials);

}  // namespace ltr::internal

#endif  // LTR_SRC_FIT_INIT_H_
