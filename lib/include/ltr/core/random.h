// The single source of randomness. Every algorithm that draws random numbers
// takes a seed in its Options and builds one Rng from it, so that the same
// seed gives the same result.
#ifndef LTR_RANDOM_H_
#define LTR_RANDOM_H_

#include <Eigen/Core>
#include <cstdint>
#include <random>

namespace ltr {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  double Uniform() { return uniform_(engine_); }  // in [0, 1)
  double Normal() { return normal_(engine_); }    // N(0, 1)
  // Uniform integer in [0, n).
  std::uint64_t Below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(engine_);
  }
  Eigen::MatrixXd NormalMatrix(Eigen::Index rows, Eigen::Index cols) {
    Eigen::MatrixXd m(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = Normal();
    return m;
  }
  Eigen::MatrixXd UniformMatrix(Eigen::Index rows, Eigen::Index cols) {
    Eigen::MatrixXd m(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = Uniform();
    return m;
  }
  // A seed for a child computation (a restart, a fold), drawn from this one so
  // that children are independent yet reproducible.
  std::uint64_t NextSeed() { return engine_(); }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  std::normal_distribution<double> normal_{0.0, 1.0};
};

}  // namespace ltr

#endif  // LTR_RANDOM_H_
