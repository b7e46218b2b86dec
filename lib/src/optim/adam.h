// Adam's update (Kingma & Ba 2015, with PyTorch's defaults and bias
// correction), shared by task training, the bounds experiments and RNN
// fitting so that all three take the same step.
#ifndef LTR_SRC_ADAM_H_
#define LTR_SRC_ADAM_H_

#include <Eigen/Core>
#include <cmath>

namespace ltr::internal {

struct AdamSettings {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

// Folds gradient g into the moments m, v (zero before step 1) for step
// number t = 1, 2, ... and returns the step to add to the parameters:
// -rate m_hat / (sqrt(v_hat) + epsilon), m_hat = m / (1 - beta1^t),
// v_hat = v / (1 - beta2^t).
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

}  // namespace ltr::internal

#endif  // LTR_SRC_ADAM_H_
