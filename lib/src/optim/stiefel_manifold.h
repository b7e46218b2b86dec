// A Ceres Manifold over the flat parameter vector of an RNN fit that is
// Euclidean everywhere except one contiguous block: a rows x cols matrix
// (column-major) kept on the Stiefel manifold (orthonormal columns when
// rows >= cols, orthonormal rows otherwise).
//
// Tangent vectors are represented in the ambient space (TangentSize ==
// AmbientSize). At X, Plus(X, D) = qf(X + P_X D), with P_X the orthogonal
// projection onto the tangent space, P_X(Z) = Z - X sym(X^T Z), and qf the Q
// factor of a thin QR with a positive diagonal of R (the QR retraction).
// The Plus Jacobian at D = 0 is P_X (symmetric), so the gradient Ceres sees
// is the Riemannian gradient P_X g.
//
// Why not ceres::ProductManifold: in Ceres 2.1 it does not override
// RightMultiplyByPlusJacobian, so every gradient evaluation would form the
// dense AmbientSize x TangentSize Jacobian of the whole vector (tens of GB for
// a 200 x 200 readout). This class applies P_X to the block in O(rows cols^2).
#ifndef LTR_SRC_STIEFEL_MANIFOLD_H_
#define LTR_SRC_STIEFEL_MANIFOLD_H_

#include <ceres/manifold.h>

#include <Eigen/Core>

namespace ltr::internal {

class BlockStiefelManifold final : public ceres::Manifold {
 public:
  // The block starts at `offset` of a vector of `size` entries.
  BlockStiefelManifold(int size, int offset, int rows, int cols);

  int AmbientSize() const override { return size_; }
  int TangentSize() const override { return size_; }
  bool Plus(const double* x,
            const double* delta,
            double* x_plus_delta) const override;
  bool PlusJacobian(const double* x, double* jacobian) const override;
  bool RightMultiplyByPlusJacobian(const double* x,
                                   const int num_rows,
                                   const double* ambient_matrix,
                                   double* tangent_matrix) const override;
  bool Minus(const double* y,
             const double* x,
             double* y_minus_x) const override;
  bool MinusJacobian(const double* x, double* jacobian) const override;

  // Q factor (positive R diagonal) of m, orthonormalised along its shorter
  // side: the point of the manifold nearest to m in the QR sense.
  static Eigen::MatrixXd Orthonormalize(const Eigen::MatrixXd& m);

 private:
  // P_X applied to z (both in the block's rows x cols shape).
  Eigen::MatrixXd Project(const Eigen::MatrixXd& x,
                          const Eigen::MatrixXd& z) const;
  int size_, offset_, rows_, cols_;
};

}  // namespace ltr::internal

#endif  // LTR_SRC_STIEFEL_MANIFOLD_H_
