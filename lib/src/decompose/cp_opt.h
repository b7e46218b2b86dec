// The CP-OPT objective, kept free of Ceres so that tests can evaluate it and
// check its gradient against finite differences.
//
// Parameters are the three factors flattened column-major one after another:
// A (I x R), then B (J x R), then C (K x R). The model is
// M(i, j, k) = sum_r A(i, r) B(j, r) C(k, r) (weights fixed at 1) and
//   f = 1/2 sum over observed (i, j, k) of (X(i, j, k) - M(i, j, k))^2.
// With the weighted residual R = W * (X - M) (W the 0/1 mask),
//   df/dA = -R_(0) (C kr B),  df/dB = -R_(1) (C kr A),  df/dC = -R_(2) (B kr
//   A),
// computed slice by slice without forming R or a Khatri-Rao product.
#ifndef LTR_SRC_CP_OPT_H_
#define LTR_SRC_CP_OPT_H_

#include <array>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr::internal {

class CpOptObjective {
 public:
  // x and mask (may be null: all observed) must outlive the objective.
  CpOptObjective(const Tensor3& x,
                 const Mask3* mask,
                 int rank,
                 int num_threads);

  int NumParameters() const { return num_parameters_; }
  int rank() const { return rank_; }

  // Returns f at `parameters`; fills `gradient` (NumParameters() values) when
  // it is not null. Deterministic for a given num_threads.
  double Evaluate(const double* parameters, double* gradient) const;

  // Flattens three factors (I x R, J x R, K x R) into the parameter layout.
  std::vector<double> Pack(const std::array<Matrix, 3>& factors) const;
  // The inverse of Pack.
  std::array<Matrix, 3> Unpack(const double* parameters) const;

 private:
  const Tensor3& x_;
  const Mask3* mask_;
  int rank_;
  int num_threads_;
  int num_parameters_;
};

}  // namespace ltr::internal

#endif  // LTR_SRC_CP_OPT_H_
