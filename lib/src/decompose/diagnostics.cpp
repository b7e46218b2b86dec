// Comparing CP fits: alignment, factor match score and core consistency.
#include "ltr/decompose/diagnostics.h"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/hungarian.h"
#include "ltr/core/error.h"

namespace ltr {
namespace {

// Throws unless every factor of m has rank() columns.
void CheckConsistent(const Ktensor& m, const char* where, const char* name) {
  for (int n = 0; n < 3; ++n)
    if (m.factors[n].cols() != m.rank())
      throw Error(std::string(where) + ": " + name + " has " +
                  std::to_string(m.rank()) + " weights but factor " +
                  std::to_string(n) + " has " +
                  std::to_string(m.factors[n].cols()) + " columns");
}

// A copy with unit factor columns and the norms (and signs) in the weights;
// zero columns stay zero.
Ktensor Normalized(const Ktensor& m) {
  Ktensor copy = m;
  copy.Normalize();
  return copy;
}

}  // namespace

Alignment Align(const Ktensor& reference,
                const Ktensor& other,
                bool penalize_weights) {
  CheckConsistent(reference, "Align", "reference");
  CheckConsistent(other, "Align", "other");
  if (reference.dims() != other.dims())
    throw Error("Align: reference is " + DimsToString(reference.dims()) +
                " but other is " + DimsToString(other.dims()));
  if (reference.rank() < 1)
    throw Error("Align: the reference has no components");
  if (other.rank() < reference.rank())
    throw Error("Align: other has rank " + std::to_string(other.rank()) +
                ", less than the reference's " +
                std::to_string(reference.rank()));
  const Ktensor a = Normalized(reference);
  const Ktensor b = Normalized(other);
  // scores(r, s): congruence of reference component r and other component s.
  Matrix scores = Matrix::Ones(a.rank(), b.rank());
  for (int n = 0; n < 3; ++n)
    scores.array() *= (a.factors[n].transpose() * b.factors[n]).array().abs();
  if (penalize_weights) {
    for (Index r = 0; r < a.rank(); ++r)
      for (Index s = 0; s < b.rank(); ++s) {
        const double l1 = std::abs(a.weights[r]);
        const double l2 = std::abs(b.weights[s]);
        const double largest = std::max(l1, l2);
        if (largest > 0) scores(r, s) *= 1.0 - std::abs(l1 - l2) / largest;
      }
  }
  // Non-finite factors match nothing.
  scores = scores.unaryExpr(
      [](double v) { return std::isfinite(v) ? std::min(v, 1.0) : 0.0; });

  Alignment alignment;
  alignment.permutation = internal::MinCostAssignment(-scores);
  alignment.component_scores.resize(a.rank());
  for (Index r = 0; r < a.rank(); ++r)
    alignment.component_scores[r] = scores(r, alignment.permutation[r]);
  alignment.score = alignment.component_scores.mean();
  return alignment;
}

Ktensor ApplyAlignment(const Ktensor& reference,
                       const Ktensor& other,
                       const Alignment& alignment) {
  CheckConsistent(reference, "ApplyAlignment", "reference");
  CheckConsistent(other, "ApplyAlignment", "other");
  if (reference.dims() != other.dims())
    throw Error("ApplyAlignment: reference is " +
                DimsToString(reference.dims()) + " but other is " +
                DimsToString(other.dims()));
  const Index rank = reference.rank();
  if (static_cast<Index>(alignment.permutation.size()) != rank)
    throw Error("ApplyAlignment: the alignment matches " +
                std::to_string(alignment.permutation.size()) +
                " components but the reference has " + std::to_string(rank));
  std::vector<char> taken(static_cast<size_t>(other.rank()), 0);
  for (int s : alignment.permutation) {
    if (s < 0 || s >= other.rank() || taken[s])
      throw Error(
          "ApplyAlignment: the permutation is not an injective map into the "
          "other's " +
          std::to_string(other.rank()) + " components");
    taken[s] = 1;
  }
  Ktensor out;
  out.weights.resize(rank);
  for (int n = 0; n < 3; ++n)
    out.factors[n].resize(other.factors[n].rows(), rank);
  for (Index r = 0; r < rank; ++r) {
    const int s = alignment.permutation[r];
    out.weights[r] = other.weights[s];
    for (int n = 0; n < 3; ++n) out.factors[n].col(r) = other.factors[n].col(s);
    // Make the cosines of modes 0 and 1 nonnegative; mode 2 takes the product
    // of the flips so the component is unchanged.
    for (int n = 0; n < 2; ++n) {
      if (reference.factors[n].col(r).dot(out.factors[n].col(r)) < 0) {
        out.factors[n].col(r) *= -1;
        out.factors[2].col(r) *= -1;
      }
    }
  }
  return out;
}

double FactorMatchScore(const Ktensor& reference, const Ktensor& other) {
  return Align(reference, other).score;
}

double Corcondia(const Tensor3& x,
                 const Ktensor& model,
                 const RunContext& run) {
  CheckConsistent(model, "Corcondia", "the model");
  if (model.dims() != x.dims())
    throw Error("Corcondia: the model is " + DimsToString(model.dims()) +
                " but the tensor is " + DimsToString(x.dims()));
  const Index rank = model.rank();
  if (rank < 1) throw Error("Corcondia: the model has no components");
  // Unit columns in modes 1 and 2, all the scale in mode 0, so that the core
  // of an exact CP model is the superdiagonal of ones.
  Ktensor m = Normalized(model);
  std::array<Matrix, 3> pinv;
  for (int n = 0; n < 3; ++n) {
    Matrix f = m.factors[n];
    if (n == 0) f = f * m.weights.asDiagonal();
    pinv[n] = Eigen::CompleteOrthogonalDecomposition<Matrix>(f).pseudoInverse();
  }
  // G = X x_0 A^+ x_1 B^+ x_2 C^+. Each product replaces I_n by R, so the
  // largest mode goes first: the intermediate tensors are then smallest.
  std::array<int, 3> order{0, 1, 2};
  std::stable_sort(order.begin(), order.end(), [&](int p, int q) {
    return x.dim(p) > x.dim(q);
  });
  Tensor3 g = ModeProduct(x, pinv[order[0]], order[0], run.num_threads);
  g = ModeProduct(g, pinv[order[1]], order[1]);
  g = ModeProduct(g, pinv[order[2]], order[2]);
  double sum = 0;
  for (Index i = 0; i < rank; ++i)
    for (Index j = 0; j < rank; ++j)
      for (Index k = 0; k < rank; ++k) {
        const double t = (i == j && j == k) ? 1.0 : 0.0;
        const double e = g(i, j, k) - t;
        sum += e * e;
      }
  return 100.0 * (1.0 - sum / static_cast<double>(rank));
}

}  // namespace ltr
