// Test helper shared by the run-time kernel tests (core and MTTKRP): every
// kernel set this machine can run. Header-only.
#ifndef LTR_TESTS_EVERY_KERNEL_H_
#define LTR_TESTS_EVERY_KERNEL_H_

#include <string>
#include <vector>

#include "../lib/src/core/kernels.h"

namespace ltr::testing {

// The kernels this machine can run, "sse2" first; the best is restored on
// destruction, so a test that switches kernels leaves the process as it was.
struct EveryKernel {
  std::string best = internal::KernelsName();
  std::vector<std::string> names;
  EveryKernel() {
    for (const char* name : {"sse2", "avx2", "avx512"})
      if (internal::UseKernelsForTesting(name)) names.push_back(name);
    internal::UseKernelsForTesting(best.c_str());
  }
  ~EveryKernel() { internal::UseKernelsForTesting(best.c_str()); }
};

}  // namespace ltr::testing

#endif  // LTR_TESTS_EVERY_KERNEL_H_
