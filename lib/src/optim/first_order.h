// The first-order optimisers (SGD, heavy-ball momentum, Adam), one step at a
// time, shared by task training, the bounds experiments, the linear theory
// and RNN fitting so that all of them take the same step. The caller owns the
// loop: it computes the gradient, asks for the step and applies it (to a
// vector, or through a manifold's Plus).
#ifndef LTR_SRC_OPTIM_FIRST_ORDER_H_
#define LTR_SRC_OPTIM_FIRST_ORDER_H_

#include <Eigen/Core>
#include <cmath>
#include <cstdint>

#include "ltr/core/enums.h"

namespace ltr::internal {

// Adam's constants (Kingma & Ba 2015, PyTorch's defaults).
struct AdamSettings {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

struct FirstOrderSettings {
  Optimizer optimizer = Optimizer::kAdam;
  double momentum = 0.9;  // kMomentum: v <- momentum v + g
  AdamSettings adam;
};

// Folds gradient g into the moments m, v (zero before step 1) for step
// number t = 1, 2, ... and returns the step to add to the parameters:
// -rate m_hat / (sqrt(v_hat) + epsilon), m_hat = m / (1 - beta1^t),
// v_hat = v / (1 - beta2^t) (with bias correction, as PyTorch).
inline Eigen::VectorXd AdamStep(const AdamSettings& adam,
                                double rate,
                                double t,
                                const Eigen::VectorXd& g,
                                Eigen::VectorXd* m,
                                Eigen::VectorXd* v) {
  *m = adam.beta1 * *m + (1.0 - adam.beta1) * g;
  *v = adam.beta2 * *v + (1.0 - adam.beta2) * g.cwiseAbs2();
  const double c1 = 1.0 - std::pow(adam.beta1, t);
  const double c2 = 1.0 - std::pow(adam.beta2, t);
  return -(rate * (m->array() / c1) / ((v->array() / c2).sqrt() + adam.epsilon))
              .matrix();
}

// The step to add to the parameters for gradient g at learning rate `rate`,
// after `steps_taken` steps: SGD -rate g; momentum v <- momentum v + g,
// -rate v (v in moment1); Adam as AdamStep (m, v in moment1, moment2). The
// moments a run carries from step to step (and a checkpoint saves) are
// zero-filled here when empty.
inline Eigen::VectorXd FirstOrderStep(const FirstOrderSettings& settings,
                                      double rate,
                                      const Eigen::VectorXd& g,
                                      std::int64_t steps_taken,
                                      Eigen::VectorXd* moment1,
                                      Eigen::VectorXd* moment2) {
  const Eigen::Index n = g.size();
  if (settings.optimizer != Optimizer::kSgd && moment1->size() != n)
    *moment1 = Eigen::VectorXd::Zero(n);
  if (settings.optimizer == Optimizer::kAdam && moment2->size() != n)
    *moment2 = Eigen::VectorXd::Zero(n);
  switch (settings.optimizer) {
    case Optimizer::kSgd:
      return -(rate * g);
    case Optimizer::kMomentum:
      *moment1 = settings.momentum * *moment1 + g;
      return -(rate * *moment1);
    case Optimizer::kAdam:
      break;
  }
  return AdamStep(settings.adam,
                  rate,
                  static_cast<double>(steps_taken + 1),
                  g,
                  moment1,
                  moment2);
}

// Applies the step to *x in place: x -= rate g (SGD), x -= rate v
// (momentum), x += AdamStep. For a point on a manifold, take
// FirstOrderStep and the manifold's Plus instead.
inline void FirstOrderUpdate(const FirstOrderSettings& settings,
                             double rate,
                             const Eigen::VectorXd& g,
                             std::int64_t steps_taken,
                             Eigen::VectorXd* moment1,
                             Eigen::VectorXd* moment2,
                             Eigen::VectorXd* x) {
  // In place, not x += FirstOrderStep(...): the compiler may fuse x - rate g
  // into one rounding, which keeps results bit-identical to earlier runs.
  switch (settings.optimizer) {
    case Optimizer::kSgd:
      *x -= rate * g;
      return;
    case Optimizer::kMomentum:
      if (moment1->size() != g.size())
        *moment1 = Eigen::VectorXd::Zero(g.size());
      *moment1 = settings.momentum * *moment1 + g;
      *x -= rate * *moment1;
      return;
    case Optimizer::kAdam:
      break;
  }
  *x += FirstOrderStep(settings, rate, g, steps_taken, moment1, moment2);
}

}  // namespace ltr::internal

#endif  // LTR_SRC_OPTIM_FIRST_ORDER_H_
