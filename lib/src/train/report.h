// Small helpers of the train module's summaries (private).
#ifndef LTR_SRC_TRAIN_REPORT_H_
#define LTR_SRC_TRAIN_REPORT_H_

#include <chrono>
#include <iomanip>
#include <sstream>
#include <string>

namespace ltr::internal {

inline double SecondsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

// Six significant digits, as the summaries print losses and times.
inline std::string Fixed(double v) {
  std::ostringstream out;
  out << std::setprecision(6) << v;
  return out.str();
}

}  // namespace ltr::internal

#endif  // LTR_SRC_TRAIN_REPORT_H_
