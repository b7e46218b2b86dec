// What dW shares with W0 (S20): the overlap of dW's leading singular vectors
// with the input and output vectors propagated through W0 (analyze.h).
#include <Eigen/SVD>
#include <algorithm>

#include "ltr/core/error.h"
#include "ltr/theory/analyze.h"

namespace ltr {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;

// Spanning vectors of S_K: each column of `start` and its images under
// `m`, m^2, ..., m^(depth-1), each scaled to unit norm (the span is the
// same; the scaling keeps g > 1 from overflowing). Zero images stay zero.
void AppendPowers(const MatrixXd& m,
                  const MatrixXd& start,
                  int depth,
                  MatrixXd* spanning,
                  Index* column) {
  for (Index j = 0; j < start.cols(); ++j) {
    Eigen::VectorXd v = start.col(j);
    for (int k = 0; k < depth; ++k) {
      if (k > 0) v = m * v;
      const double norm = v.norm();
      if (norm > 0.0) v /= norm;
      spanning->col((*column)++) = v;
    }
  }
}

// Orthonormal basis of S_K for base weights w0: the left singular vectors
// of the spanning vectors above a relative tolerance.
MatrixXd SubspaceBasis(const MatrixXd& w0,
                       const MatrixXd& w_in,
                       const MatrixXd& w_out,
                       int depth) {
  MatrixXd spanning(w0.rows(), depth * (w_in.cols() + w_out.cols()));
  Index column = 0;
  AppendPowers(w0, w_in, depth, &spanning, &column);
  AppendPowers(w0.transpose(), w_out, depth, &spanning, &column);
  Eigen::BDCSVD<MatrixXd> svd(spanning, Eigen::ComputeThinU);
  const Eigen::VectorXd& s = svd.singularValues();
  const double tolerance =
      s.size() > 0 ? 1e-8 * std::max(1.0, s(0)) : 0.0;  // unit columns
  Index rank = 0;
  while (rank < s.size() && s(rank) > tolerance) ++rank;
  return svd.matrixU().leftCols(rank);
}

// ||Q^T x_r||^2 for the first `count` columns x_r of `vectors`.
std::vector<double> SquaredProjections(const MatrixXd& basis,
                                       const MatrixXd& vectors,
                                       Index count) {
  std::vector<double> out;
  for (Index r = 0; r < count; ++r)
    out.push_back((basis.transpose() * vectors.col(r)).squaredNorm());
  return out;
}

double WeightedMean(const Eigen::VectorXd& s,
                    const std::vector<double>& left,
                    const std::vector<double>& right) {
  double sum = 0.0, weight = 0.0;
  for (size_t r = 0; r < left.size(); ++r) {
    const double w = s(static_cast<Index>(r)) * s(static_cast<Index>(r));
    sum += w * 0.5 * (left[r] + right[r]);
    weight += w;
  }
  return weight > 0.0 ? sum / weight : 0.0;
}

}  // namespace

IoOverlap InputOutputOverlap(const Matrix& w0,
                             const Matrix& w0_shuffled,
                             const Matrix& w_in,
                             const Matrix& w_out,
                             const Matrix& dw,
                             int depth,
                             int vectors) {
  const Index n = w0.rows();
  if (w0.cols() != n || w0_shuffled.rows() != n || w0_shuffled.cols() != n ||
      dw.rows() != n || dw.cols() != n || w_in.rows() != n || w_out.rows() != n)
    throw Error(
        "io overlap: W0, its shuffle and dW must be N x N and W_in, W_out "
        "have N rows");
  if (depth < 1) throw Error("io overlap: depth must be >= 1");
  if (vectors < 0) throw Error("io overlap: vectors must be >= 0");
  IoOverlap o;
  o.depth = depth;
  const MatrixXd basis = SubspaceBasis(w0, w_in, w_out, depth);
  const MatrixXd shuffled = SubspaceBasis(w0_shuffled, w_in, w_out, depth);
  o.subspace_dim = static_cast<int>(basis.cols());
  o.shuffled_subspace_dim = static_cast<int>(shuffled.cols());
  if (!(dw.norm() > 0.0)) return o;  // no singular vectors to compare
  Eigen::BDCSVD<MatrixXd> svd(dw, Eigen::ComputeThinU | Eigen::ComputeThinV);
  // Only the nonzero singular values have defined vectors.
  const Eigen::VectorXd& s = svd.singularValues();
  Index count = std::min<Index>(vectors, n);
  while (count > 0 && !(s(count - 1) > 1e-12 * s(0))) --count;
  o.left = SquaredProjections(basis, svd.matrixU(), count);
  o.right = SquaredProjections(basis, svd.matrixV(), count);
  o.left_shuffled = SquaredProjections(shuffled, svd.matrixU(), count);
  o.right_shuffled = SquaredProjections(shuffled, svd.matrixV(), count);
  o.overlap = WeightedMean(s, o.left, o.right);
  o.overlap_shuffled = WeightedMean(s, o.left_shuffled, o.right_shuffled);
  return o;
}

}  // namespace ltr
