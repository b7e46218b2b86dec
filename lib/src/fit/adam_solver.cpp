// Full-batch Adam for fits (FitOptimizer::kAdam): optim/first_order.h's step
// with a cosine-annealed rate, along the Riemannian gradient on the readout's
// manifold when it is orthonormal.
#include <algorithm>
#include <cmath>

#include "fit/fit_internal.h"
#include "optim/first_order.h"

namespace ltr::internal {

using Eigen::VectorXd;

void SolveAdam(const FitOptions& o,
               const ceres::FirstOrderFunction& function,
               const ceres::Manifold* manifold,
               ceres::IterationCallback* callback,
               double* x,
               ceres::GradientProblemSolver::Summary* summary) {
  const Clock::time_point start = Clock::now();
  const int n = function.NumParameters();
  VectorXd gradient(n), direction(n), step(n), next(n);
  VectorXd m = VectorXd::Zero(n), v = VectorXd::Zero(n);
  Eigen::Map<VectorXd> point(x, n);
  summary->termination_type = ceres::NO_CONVERGENCE;
  summary->message = "Maximum number of iterations reached.";
  for (int i = 0;; ++i) {
    double cost = 0;
    if (!function.Evaluate(x, &cost, gradient.data()) || !std::isfinite(cost) ||
        !gradient.allFinite()) {
      summary->termination_type = ceres::FAILURE;
      summary->message = "Adam: the loss or its gradient is not finite";
      if (i == 0) summary->initial_cost = kNaN;
      return;
    }
    // The Riemannian gradient on the manifold, the plain one otherwise.
    if (manifold != nullptr)
      manifold->RightMultiplyByPlusJacobian(
          x, 1, gradient.data(), direction.data());
    else
      direction = gradient;
    if (i == 0) summary->initial_cost = cost;
    ceres::IterationSummary it;
    it.iteration = i;
    it.cost = cost;
    it.gradient_norm = direction.norm();
    it.gradient_max_norm = direction.lpNorm<Eigen::Infinity>();
    it.cumulative_time_in_seconds = Seconds(start);
    summary->iterations.push_back(it);
    if ((*callback)(it) != ceres::SOLVER_CONTINUE) {
      summary->termination_type = ceres::USER_SUCCESS;
      summary->message = "stopped by the iteration callback";
      return;
    }
    if (i >= o.max_iterations) return;
    if (Seconds(start) >= o.max_seconds) {
      summary->message = "Maximum solver time reached.";
      return;
    }
    // Cosine annealing from learning_rate to learning_rate * decay.
    const double done = double(i) / std::max(1, o.max_iterations);
    const double rate =
        o.learning_rate * (o.learning_rate_decay +
                           (1 - o.learning_rate_decay) * 0.5 *
                               (1 + std::cos(3.14159265358979323846 * done)));
    step = internal::FirstOrderStep(
        {Optimizer::kAdam, 0.0, {o.adam_beta1, o.adam_beta2, o.adam_epsilon}},
        rate,
        direction,
        i,
        &m,
        &v);
    if (manifold != nullptr) {
      manifold->Plus(x, step.data(), next.data());
      point = next;
    } else {
      point += step;
    }
  }
}

}  // namespace ltr::internal
