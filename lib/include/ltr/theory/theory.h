// The linear theory of learning an input-driven fixed point (docs/theory.md
// §1, after Schuessler et al., NeurIPS 2020): predictions for a linear network
// whose output is read from its fixed point, beside measurements of gradient
// descent on the same model.
//
// Model: x* = B m with B = (I - W)^-1, z = w^T x*, loss L = (z_hat - z)^2 / 2,
// only W = W0 + dW trained; W0 = g J, J_ij ~ N(0, 1/N); ||m||^2 = N,
// ||w||^2 = 1 / N. This is the fixed point of the linear rate RNN of rnn.h
// (phi = identity, input u = 1 along m, readout w), solved by linear algebra
// rather than by running the network: the gradient is
//   -dL/dW = (z_hat - z) (B^T w)(B m)^T,
// a rank-one matrix, and B is carried from step to step by the
// Sherman-Morrison formula (O(N^2) per step).
#ifndef LTR_THEORY_H_
#define LTR_THEORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"

namespace ltr {

// Predictions at large N (docs/theory.md §1), beta = 1 / (1 - g^2).
struct LinearPrediction {
  double g = 0.0;
  double beta = 1.0;
  // Convergence time in tau relative to g = 0: (1 - g^2)^2.
  double convergence_time_ratio = 1.0;
  double delta_w_norm = 0.0;  // ||dW|| at convergence: z_hat (1 - g^2)
  // ||dW|| relative to the first g's (1 - g^2 against g = 0).
  double delta_w_norm_ratio = 1.0;
  double grad_norm_ratio = 1.0;  // mean gradient norm / its g = 0 value: beta
  double alignment = 1.0;        // cos(dW's singular vectors, w or m)
  // L(W0 permuted + dW) / (z_hat^2 / 2): g^4 (2 - g^2)^2.
  double shuffle_loss_ratio = 0.0;
};
LinearPrediction PredictLinear(double g, double z_hat);

// Small-tau expansions, t = beta^2 tau: z and s1 to third order in t,
//   z  = z_hat [t - t^2/2 + t^3/6 (1 + 8 z_hat^2 beta)],
//   s1 = (z_hat / beta) [t - t^2/2 + t^3/6 (1 + 3.5 z_hat^2 beta)],
// s2 and the largest eigenvalue of dW to leading order,
//   s2 = z_hat^3 t^3 / 12,   lambda = (1/2 + 1/sqrt(3)) z_hat^2 beta^3 tau^2
// (relative corrections O(t)). At g = 0 they are the expansions of the exact
// large-N flow; for g > 0 beta enters as stated (docs/theory.md §1).
struct LinearEarlyPrediction {
  double tau = 0.0;
  double tau_tilde = 0.0;
  double z = 0.0;
  double s1 = 0.0;
  double s2 = 0.0;
  double eigenvalue = 0.0;
};
LinearEarlyPrediction PredictLinearEarly(double g,
                                         double z_hat,
                                         double tau_tilde);

struct LinearTheoryOptions {
  int units = 1024;                   // N
  std::vector<double> gains = {0.0};  // g values, each in [0, 1)
  double z_hat = 0.5;                 // target output
  int seeds = 5;                      // networks per g
  // Step size eta = eta0 (1 - g^2)^2 (one step advances tau by eta and
  // tau~ by eta0). eta0 = 0 takes Schuessler et al.'s for z_hat = 0.5 / 1 / 2
  // (0.015 / 0.009 / 0.003); other z_hat need an explicit eta0.
  double eta0 = 0.0;
  // Training stops when L < stop_loss_ratio * L(0) or after max_steps.
  double stop_loss_ratio = 1e-6;
  int max_steps = 20000;
  // Convergence time: first step with L < convergence_threshold * L(0).
  double convergence_threshold = 0.05;
  // z, s1, s2 and the eigenvalue are measured at tau~ = early_tau_tilde.
  double early_tau_tilde = 0.3;
  // Run every network twice, with m and -m, and average (cancels the
  // first-order effect of the random initial output z0 = w^T B0 m, whose
  // standard deviation is sqrt(beta / N)).
  bool antithetic = false;
  std::uint64_t seed = 0;
  // Threads over the networks (g x seed); run.cancellation is polled at
  // every gradient step (a cancelled run returns no results).
  RunContext run;

  double EffectiveEta0() const;
  bool IsValid(std::string* error) const;
};

// One network (one g, one seed, one sign of m).
struct LinearRun {
  double g = 0.0;
  std::uint64_t seed = 0;
  double eta = 0.0;
  int steps = 0;
  int convergence_step = -1;      // -1: never below the threshold
  double convergence_time = 0.0;  // convergence_step * eta (in tau)
  double initial_loss = 0.0;
  double final_loss = 0.0;
  double delta_w_norm = 0.0;    // ||dW||_F at the end
  double mean_grad_norm = 0.0;  // mean ||dL/dW||_F over steps < convergence
  double alignment_w = 0.0;     // |cos(u1, w)| at the end
  double alignment_m = 0.0;     // |cos(v1, m)| at the end
  double s3_ratio = 0.0;        // s3 / s1 of dW at the end (0 at g = 0)
  // L(W0 permuted + dW) / (z_hat^2 / 2), the loss of z = 0 (not L(0)).
  double shuffle_loss_ratio = 0.0;
  double early_z = 0.0;  // at tau~ = early_tau_tilde
  double early_s1 = 0.0;
  double early_s2 = 0.0;
  double early_eigenvalue = 0.0;  // eigenvalue of dW of largest real part
  bool finite = true;
};

// Predicted beside measured (seed means) for one g.
struct LinearTheoryRow {
  LinearPrediction predicted;
  LinearEarlyPrediction predicted_early;
  LinearPrediction measured;  // same fields, measured (ratios to g = 0 row
                              // where the prediction is a ratio)
  double measured_convergence_time = 0.0;  // mean tau to convergence
  double measured_mean_grad_norm = 0.0;    // mean over seeds
  double measured_alignment_w = 0.0;
  double measured_alignment_m = 0.0;
  LinearEarlyPrediction measured_early;
  int runs = 0;
  int converged_runs = 0;
};

struct LinearTheorySummary {
  std::vector<LinearTheoryRow> rows;  // one per g, in the order given
  std::vector<LinearRun> runs;
  double seconds = 0.0;
  std::string message;
  // Stopped by options.run.cancellation: rows and runs are empty.
  bool cancelled = false;

  std::string BriefReport() const;
  // The table (a row per g) with the column names of TableColumns().
  Matrix Table() const;
  static std::vector<std::string> TableColumns();
  // Human-readable table: predicted, measured and relative error per
  // quantity.
  std::string FormatTable() const;
};
// The table on disk: WriteLinearTheory in ltr/formats/table_file.h.

// One network trained by gradient descent on the fixed-point loss.
LinearRun RunLinearNetwork(const LinearTheoryOptions& options,
                           double g,
                           std::uint64_t seed,
                           bool negate_input);

// Every g x seed; rows hold seed means. Throws ltr::Error on invalid
// options; divergence is reported in the runs (finite = false).
LinearTheorySummary RunLinearTheory(const LinearTheoryOptions& options);

}  // namespace ltr

#endif  // LTR_THEORY_H_
