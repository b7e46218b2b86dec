// The activity a data-driven start inverts (fit_init.h, step 1).
#include <algorithm>
#include <cmath>
#include <vector>

#include "fit/fit_init.h"
#include "fit/fit_internal.h"

namespace ltr::internal {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// The activity in the readout's space (neurons x trials*bins, column
// k * T + t), with every entry the fit may not use filled in.
MatrixXd FilledActivity(const FitOptions& o,
                        const Recording& r,
                        const Mask3& train) {
  const Index K = r.trials(), T = r.steps(), M = r.neurons();
  const bool counts = o.loss.loss == RnnLoss::kPoisson;
  MatrixXd v(M, K * T);
  std::vector<char> seen(static_cast<size_t>(M * K * T), 0);
  auto at = [&](Index j, Index k, Index t) {
    return static_cast<size_t>((k * T + t) * M + j);
  };
  for (Index k = 0; k < K; ++k)
    for (Index t = 0; t < T; ++t)
      for (Index j = 0; j < M; ++j)
        if (train(k, t, j)) {
          v(j, k * T + t) = r.activity(k, t, j);
          seen[at(j, k, t)] = 1;
        }
  if (counts) {
    // Spike counts are too noisy to invert: a Gaussian kernel (sigma one
    // bin) over the trial's training entries gives a rate estimate.
    MatrixXd smooth(M, K * T);
    std::vector<char> smooth_seen(seen.size(), 0);
    for (Index k = 0; k < K; ++k)
      for (Index j = 0; j < M; ++j)
        for (Index t = 0; t < T; ++t) {
          double sum = 0, weight = 0;
          for (Index s = std::max<Index>(0, t - 3);
               s <= std::min<Index>(T - 1, t + 3);
               ++s) {
            if (!seen[at(j, k, s)]) continue;
            const double w = std::exp(-0.5 * double((s - t) * (s - t)));
            sum += w * v(j, k * T + s);
            weight += w;
          }
          if (weight > 0.3) {
            smooth(j, k * T + t) = sum / weight;
            smooth_seen[at(j, k, t)] = 1;
          }
        }
    v = smooth;
    seen = smooth_seen;
  }
  // Mean of each (bin, neuron) over trials, and of each neuron.
  MatrixXd bin_mean = MatrixXd::Zero(M, T), bin_count = MatrixXd::Zero(M, T);
  for (Index k = 0; k < K; ++k)
    for (Index t = 0; t < T; ++t)
      for (Index j = 0; j < M; ++j)
        if (seen[at(j, k, t)]) {
          bin_mean(j, t) += v(j, k * T + t);
          bin_count(j, t) += 1;
        }
  VectorXd neuron_mean = bin_mean.rowwise().sum().cwiseQuotient(
      bin_count.rowwise().sum().cwiseMax(1.0));
  for (Index j = 0; j < M; ++j)
    for (Index t = 0; t < T; ++t)
      bin_mean(j, t) = bin_count(j, t) > 0 ? bin_mean(j, t) / bin_count(j, t)
                                           : neuron_mean(j);
  // Linear interpolation in time between the nearest used bins.
  for (Index k = 0; k < K; ++k)
    for (Index j = 0; j < M; ++j) {
      Index previous = -1;
      for (Index t = 0; t <= T; ++t) {
        if (t < T && !seen[at(j, k, t)]) continue;
        for (Index s = previous + 1; s < t; ++s) {
          double value;
          if (previous < 0 && t == T) {
            value = bin_mean(j, s);
          } else if (previous < 0) {
            value = v(j, k * T + t);
          } else if (t == T) {
            value = v(j, k * T + previous);
          } else {
            const double w = double(s - previous) / double(t - previous);
            value = (1 - w) * v(j, k * T + previous) + w * v(j, k * T + t);
          }
          v(j, k * T + s) = value;
        }
        previous = t;
      }
    }
  if (counts)
    v = v.unaryExpr(
        [](double y) { return InverseSoftplus(std::max(y, 1e-2)); });
  return v;
}

}  // namespace ltr::internal
