// The nonlinearities of the RNN (scalar and on blocks) and the Poisson term:
// one implementation each, used by the forward pass, the loss, Simulate and
// SimulateRecording.
#include <cmath>

#include "ltr/rnn/rnn.h"
#include "rnn/rnn_internal.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// tanh of a block: core/kernels.h's TanhArray, the vectorised
// rational/exponential form within 2 ulp of std::tanh, with the kernel of
// this machine (tests/rnn: "The RNN's one tanh ..."). About 3 times faster
// than std::tanh per entry (the forward pass takes N T B of them per
// evaluation).
void TanhBlock(const Eigen::Ref<const MatrixXd>& x, Eigen::Ref<MatrixXd> y) {
  if (x.outerStride() == x.rows() && y.outerStride() == y.rows()) {
    internal::TanhArray(x.data(), y.data(), x.size());
    return;
  }
  for (Index j = 0; j < x.cols(); ++j)
    internal::TanhArray(x.col(j).data(), y.col(j).data(), x.rows());
}

double Softplus(double x) {
  return x > 0.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

double Logistic(double x) {
  return x >= 0.0 ? 1.0 / (1.0 + std::exp(-x))
                  : std::exp(x) / (1.0 + std::exp(x));
}

// The same kernel one value at a time (the fit's start calls it per entry),
// so the scalar and the block tanh have the same bits.
double Tanh(double x) {
  double y;
  internal::TanhArray(&x, &y, 1);
  return y;
}

}  // namespace

double Phi(Nonlinearity f, double x) {
  switch (f) {
    case Nonlinearity::kTanh:
      return Tanh(x);
    case Nonlinearity::kRelu:
      return x > 0.0 ? x : 0.0;
    case Nonlinearity::kSoftplus:
      return Softplus(x);
    case Nonlinearity::kIdentity:
      return x;
  }
  return x;
}

double PhiDerivative(Nonlinearity f, double x) {
  switch (f) {
    case Nonlinearity::kTanh: {
      const double t = Tanh(x);
      return 1.0 - t * t;
    }
    case Nonlinearity::kRelu:
      return x > 0.0 ? 1.0 : 0.0;
    case Nonlinearity::kSoftplus:
      return Logistic(x);
    case Nonlinearity::kIdentity:
      return 1.0;
  }
  return 1.0;
}

VectorXd Phi(Nonlinearity f, const VectorXd& x) {
  VectorXd out(x.size());
  internal::PhiBlock(f, x, out);
  return out;
}

namespace internal {

void PhiBlock(Nonlinearity f,
              const Eigen::Ref<const MatrixXd>& x,
              Eigen::Ref<MatrixXd> phi) {
  switch (f) {
    case Nonlinearity::kTanh:
      TanhBlock(x, phi);
      return;
    case Nonlinearity::kRelu:
      phi = x.cwiseMax(0.0);
      return;
    case Nonlinearity::kSoftplus:
      phi = x.unaryExpr([](double v) { return Softplus(v); });
      return;
    case Nonlinearity::kIdentity:
      phi = x;
      return;
  }
}

void PhiDerivativeBlock(Nonlinearity f,
                        const Eigen::Ref<const MatrixXd>& x,
                        const Eigen::Ref<const MatrixXd>& phi,
                        Eigen::Ref<MatrixXd> dphi) {
  switch (f) {
    case Nonlinearity::kTanh:
      dphi.array() = 1.0 - phi.array().square();
      return;
    case Nonlinearity::kRelu:
      dphi = (x.array() > 0.0).cast<double>();
      return;
    case Nonlinearity::kSoftplus:
      dphi = x.unaryExpr([](double v) { return Logistic(v); });
      return;
    case Nonlinearity::kIdentity:
      dphi.setOnes();
      return;
  }
}

double PoissonTerm(double m, double z, double y, double floor, double* d) {
  double rate = Softplus(z);
  double drate = Logistic(z);
  if (!(rate >= floor)) {
    rate = floor;
    drate = 0.0;
  }
  *d = m * (1.0 - y / rate) * drate;
  return m * (rate - y * std::log(rate));
}

}  // namespace internal
}  // namespace ltr
