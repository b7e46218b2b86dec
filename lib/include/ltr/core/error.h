// Errors raised for bad input and I/O failure. Numerical trouble (no
// convergence, divergence) is never an exception: it is reported in the
// Summary of the algorithm that met it.
#ifndef LTR_ERROR_H_
#define LTR_ERROR_H_

#include <stdexcept>
#include <string>

namespace ltr {

// The one exception type of the project. Its message is a single line that
// names the file, the dataset or the option at fault and what was expected.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace ltr

#endif  // LTR_ERROR_H_
