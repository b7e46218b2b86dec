// Decomposes a planted rank-2 tensor through the installed library.
#include <ltr/decompose/cp.h>
#include <ltr/version.h>

#include <iostream>

int main() {
  ltr::Ktensor planted;
  planted.weights = Eigen::VectorXd::Ones(2);
  for (int n = 0; n < 3; ++n)
    planted.factors[n] = Eigen::MatrixXd::Random(6 + n, 2);
  ltr::CpOptions options;
  options.rank = 2;
  options.tolerance = 1e-12;
  const ltr::CpSummary summary = ltr::Cp(options, planted.Full());
  std::cout << "ltr " << ltr::kVersion << ": " << summary.BriefReport() << "\n";
  return summary.relative_error < 1e-6 ? 0 : 1;
}
