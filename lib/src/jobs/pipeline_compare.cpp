// The comparison of the fitted with the true update tensor and the
// per-group means of trial factors (pipeline_report.h).
#include <algorithm>
#include <cmath>
#include <map>

#include "jobs/pipeline_report.h"
#include "ltr/decompose/diagnostics.h"

namespace ltr::internal {

using Eigen::MatrixXd;

MatrixXd GroupMeans(const MatrixXd& factors,
                    const Eigen::VectorXd& weights,
                    const std::vector<std::int64_t>& labels,
                    std::vector<std::int64_t>* groups) {
  std::map<std::int64_t, std::vector<Index>> trials_of;
  for (size_t k = 0; k < labels.size(); ++k)
    trials_of[labels[k]].push_back(static_cast<Index>(k));
  MatrixXd means(static_cast<Index>(trials_of.size()), factors.cols());
  Index row = 0;
  for (const auto& [label, trials] : trials_of) {
    if (groups) groups->push_back(label);
    for (Index r = 0; r < factors.cols(); ++r) {
      double sum = 0;
      for (Index k : trials) sum += weights(r) * factors(k, r);
      means(row, r) = sum / static_cast<double>(trials.size());
    }
    ++row;
  }
  return means;
}

// Per rank of the ensemble: the smallest similarity of a restart to the
// rank's best fit (1 when every restart found the same decomposition).
std::vector<double> Stability(const EnsembleSummary& e) {
  std::vector<double> out;
  for (Index i = 0; i < e.similarity.rows(); ++i) {
    double lowest = 1;
    for (Index j = 0; j < e.similarity.cols(); ++j)
      if (std::isfinite(e.similarity(i, j)))
        lowest = std::min(lowest, e.similarity(i, j));
    out.push_back(lowest);
  }
  return out;
}

double RelativeDistance(const Tensor3& a, const Tensor3& b) {
  double diff = 0, norm = 0;
  for (Index i = 0; i < a.size(); ++i) {
    diff += (a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
    norm += b.data()[i] * b.data()[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : 0.0;
}

UpdateComparison Compare(const CpSummary& truth,
                         const CpSummary& fitted,
                         const std::vector<std::int64_t>& epoch_labels) {
  UpdateComparison c;
  c.rank = static_cast<int>(truth.model.rank());
  c.true_relative_error = truth.relative_error;
  c.fitted_relative_error = fitted.relative_error;
  const Alignment alignment = Align(truth.model, fitted.model);
  c.factor_match = alignment.score;
  c.component_scores = alignment.component_scores;
  const Ktensor aligned = ApplyAlignment(truth.model, fitted.model, alignment);
  double* congruence[3] = {
      &c.trial_congruence, &c.post_congruence, &c.pre_congruence};
  for (int mode = 0; mode < 3; ++mode) {
    const MatrixXd& u = truth.model.factors[mode];
    const MatrixXd& v = aligned.factors[mode];
    double sum = 0;
    for (Index r = 0; r < u.cols(); ++r)
      sum += std::abs(u.col(r).dot(v.col(r))) /
             std::max(1e-300, u.col(r).norm() * v.col(r).norm());
    *congruence[mode] = sum / static_cast<double>(u.cols());
  }
  c.true_trial_factors =
      truth.model.factors[0] * truth.model.weights.asDiagonal();
  c.fitted_trial_factors = aligned.factors[0] * aligned.weights.asDiagonal();
  c.true_epoch_means = GroupMeans(
      truth.model.factors[0], truth.model.weights, epoch_labels, &c.epochs);
  c.fitted_epoch_means =
      GroupMeans(aligned.factors[0], aligned.weights, epoch_labels, nullptr);
  return c;
}

}  // namespace ltr::internal
