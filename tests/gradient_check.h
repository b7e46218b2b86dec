// The one gradient checker of the tests: central finite differences of a
// function of a flat vector against its hand-written gradient. Use it for
// every derivative a test checks (rnn losses, training losses, CP-OPT, ...).
#ifndef LTR_TESTS_GRADIENT_CHECK_H_
#define LTR_TESTS_GRADIENT_CHECK_H_

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <functional>

namespace ltr {
namespace testing {

struct GradientCheck {
  // max_i |fd_i - g_i| / max(|g_i|, floor): relative where the gradient is
  // large, absolute (scaled by floor) where it is small.
  double max_error = 0.0;
  Eigen::Index worst = -1;        // the entry of max_error
  double max_abs_gradient = 0.0;  // so a test can refuse a vacuous check
  Eigen::VectorXd finite_differences;
};

// Central differences fd_i = (f(x + h e_i) - f(x - h e_i)) / (2 h) with step
// h, compared with `gradient` (the analytic gradient of f at x). The default
// h = 1e-5 balances truncation (~h^2 |f'''|) against round-off
// (~eps |f| / h) for functions of order one.
inline GradientCheck CheckGradient(
    const std::function<double(const Eigen::VectorXd&)>& f,
    const Eigen::VectorXd& x,
    const Eigen::VectorXd& gradient,
    double step = 1e-5,
    double floor = 1e-3) {
  GradientCheck out;
  out.finite_differences.resize(x.size());
  out.max_abs_gradient =
      gradient.size() > 0 ? gradient.cwiseAbs().maxCoeff() : 0.0;
  Eigen::VectorXd moved = x;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    moved[i] = x[i] + step;
    const double plus = f(moved);
    moved[i] = x[i] - step;
    const double minus = f(moved);
    moved[i] = x[i];
    const double fd = (plus - minus) / (2.0 * step);
    out.finite_differences[i] = fd;
    const double error =
        std::abs(fd - gradient[i]) / std::max(std::abs(gradient[i]), floor);
    if (!(error <= out.max_error)) {  // NaN counts as the worst
      out.max_error = std::isnan(error) ? HUGE_VAL : error;
      out.worst = i;
    }
  }
  return out;
}

}  // namespace testing
}  // namespace ltr

#endif  // LTR_TESTS_GRADIENT_CHECK_H_
