#include "optim/stiefel_manifold.h"

#include <Eigen/QR>
#include <algorithm>

namespace ltr::internal {

using Eigen::Map;
using Eigen::MatrixXd;

BlockStiefelManifold::BlockStiefelManifold(int size,
                                           int offset,
                                           int rows,
                                           int cols)
    : size_(size), offset_(offset), rows_(rows), cols_(cols) {}

MatrixXd BlockStiefelManifold::Orthonormalize(const MatrixXd& m) {
  const bool tall = m.rows() >= m.cols();
  const MatrixXd a = tall ? m : MatrixXd(m.transpose());
  Eigen::HouseholderQR<MatrixXd> qr(a);
  MatrixXd q = qr.householderQ() * MatrixXd::Identity(a.rows(), a.cols());
  const MatrixXd& r = qr.matrixQR();
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    if (r(j, j) < 0) q.col(j) = -q.col(j);
  return tall ? q : MatrixXd(q.transpose());
}

MatrixXd BlockStiefelManifold::Project(const MatrixXd& x,
                                       const MatrixXd& z) const {
  if (rows_ >= cols_) {
    const MatrixXd s = x.transpose() * z;
    return z - x * (0.5 * (s + s.transpose()));
  }
  const MatrixXd s = z * x.transpose();  // rows orthonormal: X X^T = I
  return z - (0.5 * (s + s.transpose())) * x;
}

bool BlockStiefelManifold::Plus(const double* x,
                                const double* delta,
                                double* x_plus_delta) const {
  for (int i = 0; i < size_; ++i) x_plus_delta[i] = x[i] + delta[i];
  const Map<const MatrixXd> xb(x + offset_, rows_, cols_);
  const Map<const MatrixXd> db(delta + offset_, rows_, cols_);
  const MatrixXd moved = xb + Project(xb, db);
  if (!moved.allFinite()) return false;
  Map<MatrixXd>(x_plus_delta + offset_, rows_, cols_) = Orthonormalize(moved);
  return true;
}

bool BlockStiefelManifold::PlusJacobian(const double* x,
                                        double* jacobian) const {
  Map<MatrixXd> j(jacobian, size_, size_);  // column-major is fine: symmetric
  j.setIdentity();
  const Map<const MatrixXd> xb(x + offset_, rows_, cols_);
  const int block = rows_ * cols_;
  for (int c = 0; c < block; ++c) {
    MatrixXd e = MatrixXd::Zero(rows_, cols_);
    e.data()[c] = 1.0;
    const MatrixXd p = Project(xb, e);
    for (int r = 0; r < block; ++r) j(offset_ + r, offset_ + c) = p.data()[r];
  }
  return true;
}

bool BlockStiefelManifold::RightMultiplyByPlusJacobian(
    const double* x,
    const int num_rows,
    const double* ambient_matrix,
    double* tangent_matrix) const {
  // Row-major num_rows x size: each row is a gradient-like vector.
  const Map<const MatrixXd> xb(x + offset_, rows_, cols_);
  for (int row = 0; row < num_rows; ++row) {
    const double* in = ambient_matrix + static_cast<size_t>(row) * size_;
    double* out = tangent_matrix + static_cast<size_t>(row) * size_;
    std::copy(in, in + size_, out);
    const Map<const MatrixXd> g(in + offset_, rows_, cols_);
    Map<MatrixXd>(out + offset_, rows_, cols_) = Project(xb, g);
  }
  return true;
}

bool BlockStiefelManifold::Minus(const double* y,
                                 const double* x,
                                 double* y_minus_x) const {
  for (int i = 0; i < size_; ++i) y_minus_x[i] = y[i] - x[i];
  const Map<const MatrixXd> xb(x + offset_, rows_, cols_);
  const MatrixXd d = Map<MatrixXd>(y_minus_x + offset_, rows_, cols_);
  Map<MatrixXd>(y_minus_x + offset_, rows_, cols_) = Project(xb, d);
  return true;
}

bool BlockStiefelManifold::MinusJacobian(const double* x,
                                         double* jacobian) const {
  return PlusJacobian(x, jacobian);
}

}  // namespace ltr::internal
