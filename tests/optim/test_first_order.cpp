// The one first-order step (lib/src/optim/first_order.h) against the
// update rules written out by hand.
#include <catch2/catch.hpp>
#include <cmath>

#include "../../lib/src/optim/first_order.h"

namespace ltr {
namespace {

using Eigen::VectorXd;
using internal::FirstOrderSettings;
using internal::FirstOrderStep;
using internal::FirstOrderUpdate;

VectorXd Gradient(int k) {
  VectorXd g(3);
  g << 0.5 - k, 2.0 * k + 1, -0.25;
  return g;
}

TEST_CASE("SGD and momentum take the steps of their definitions", "[optim]") {
  VectorXd m1, m2;
  const VectorXd sgd =
      FirstOrderStep({Optimizer::kSgd}, 0.1, Gradient(0), 0, &m1, &m2);
  CHECK((sgd + 0.1 * Gradient(0)).norm() == 0.0);
  CHECK(m1.size() == 0);  // SGD keeps no moments

  // v1 = g0, v2 = 0.5 v1 + g1: the second step is -rate v2.
  const FirstOrderSettings momentum{Optimizer::kMomentum, 0.5};
  FirstOrderStep(momentum, 0.1, Gradient(0), 0, &m1, &m2);
  const VectorXd second =
      FirstOrderStep(momentum, 0.1, Gradient(1), 1, &m1, &m2);
  const VectorXd v2 = 0.5 * Gradient(0) + Gradient(1);
  CHECK((second + 0.1 * v2).norm() < 1e-15);
}

TEST_CASE("Adam's steps equal Kingma and Ba's bias-corrected rule", "[optim]") {
  const double rate = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  VectorXd m1, m2, x = VectorXd::Ones(3), y = x;
  VectorXd m = VectorXd::Zero(3), v = VectorXd::Zero(3);
  for (int t = 1; t <= 3; ++t) {
    const VectorXd g = Gradient(t);
    FirstOrderUpdate({Optimizer::kAdam}, rate, g, t - 1, &m1, &m2, &x);
    for (int i = 0; i < 3; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      const double v_hat = v[i] / (1 - std::pow(b2, t));
      y[i] -= rate * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
  CHECK((x - y).norm() < 1e-14);
  // The first step of Adam moves each coordinate by the rate, against g.
  VectorXd a, b;
  const VectorXd first =
      FirstOrderStep({Optimizer::kAdam}, rate, Gradient(2), 0, &a, &b);
  for (int i = 0; i < 3; ++i)
    CHECK(first[i] == Approx(-rate * std::copysign(1.0, Gradient(2)[i])));
}

TEST_CASE("an update in place equals adding the step", "[optim]") {
  for (Optimizer o :
       {Optimizer::kSgd, Optimizer::kMomentum, Optimizer::kAdam}) {
    VectorXd a1, a2, b1, b2, x = VectorXd::Constant(3, 2.0), y = x;
    for (int t = 0; t < 4; ++t) {
      FirstOrderUpdate({o}, 0.05, Gradient(t), t, &a1, &a2, &x);
      y += FirstOrderStep({o}, 0.05, Gradient(t), t, &b1, &b2);
    }
    CHECK((x - y).norm() <= 1e-15 * x.norm());
  }
}

}  // namespace
}  // namespace ltr
