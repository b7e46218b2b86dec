// Tucker decomposition: sequentially truncated HOSVD and HOOI.
#ifndef LTR_TUCKER_H_
#define LTR_TUCKER_H_

#include <array>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"

namespace ltr {

struct TuckerOptions {
  TuckerMethod method = TuckerMethod::kHosvd;
  // Multilinear ranks (r0, r1, r2). A 0 entry is chosen by error_tolerance.
  std::array<int, 3> ranks = {0, 0, 0};
  // When ranks are chosen: the smallest ranks whose ST-HOSVD relative error
  // ||X - M|| / ||X|| is at most this (the discarded Gram eigenvalues of each
  // mode sum to at most tolerance^2 ||X||^2 / 3).
  double error_tolerance = 1e-2;
  int max_iterations = 100;  // HOOI
  double tolerance = 1e-8;   // HOOI: stop on relative-error change below this
  // Threads of the mode products and Gram matrices; cancellation, polled
  // after every HOOI iteration, returns the current model, not converged.
  RunContext run;

  bool IsValid(const Dims& dims, std::string* error) const;
};

struct TuckerSummary {
  TuckerTensor model;
  double relative_error = 0;
  int iterations = 0;
  bool converged = true;
  double seconds = 0;
  std::string message;
  // HOOI: the relative error after each iteration (empty for ST-HOSVD).
  std::vector<double> error_history;

  std::string BriefReport() const;
};

TuckerSummary Tucker(const TuckerOptions& options, const Tensor3& x);

}  // namespace ltr

#endif  // LTR_TUCKER_H_
