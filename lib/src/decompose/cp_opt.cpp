// CP-OPT: all-at-once (weighted) least squares CP with L-BFGS from Ceres.
#include "decompose/cp_opt.h"

#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>

#include "core/parallel.h"
#include "decompose/cp_internal.h"

namespace ltr::internal {
namespace {

// Slices are summed in this many chunks (fewer for fewer slices): enough to
// keep the threads of a small machine busy.
constexpr Index kChunks = 16;

// ALS sweeps that start every CP-OPT fit (see CpOpt).
constexpr int kAlsWarmUpSweeps = 3;

}  // namespace

CpOptObjective::CpOptObjective(const Tensor3& x,
                               const Mask3* mask,
                               int rank,
                               int num_threads)
    : x_(x),
      mask_(mask),
      rank_(rank),
      num_threads_(num_threads),
      num_parameters_(static_cast<int>((x.dim(0) + x.dim(1) + x.dim(2)) *
                                       static_cast<Index>(rank))) {}

double CpOptObjective::Evaluate(const double* parameters,
                                double* gradient) const {
  const Dims& d = x_.dims();
  const Index R = rank_;
  Eigen::Map<const Matrix> a(parameters, d[0], R);
  Eigen::Map<const Matrix> b(parameters + d[0] * R, d[1], R);
  Eigen::Map<const Matrix> c(parameters + (d[0] + d[1]) * R, d[2], R);
  const bool want_gradient = gradient != nullptr;

  struct Partial {
    double f = 0;
    Matrix gb;  // J x R
    Matrix gc;  // K x R
  };
  // Row i of dA depends on slice i only, so each chunk writes its own rows;
  // dB and dC are summed per chunk of slices and the chunks reduced below in
  // order. The chunks do not depend on the thread count, so neither do the
  // bits of f and the gradient.
  const Index chunks = std::min<Index>(d[0], kChunks);
  std::vector<Partial> partials(static_cast<size_t>(chunks));
  ParallelFor(chunks, num_threads_, [&](Index chunk_begin, Index chunk_end) {
    Matrix scaled_c(d[2], R);  // C diag(A(i, :))
    Matrix residual(d[2], d[1]);
    Matrix rb(d[2], R);
    for (Index chunk = chunk_begin; chunk < chunk_end; ++chunk) {
      Partial& out = partials[static_cast<size_t>(chunk)];
      if (want_gradient) {
        out.gb = Matrix::Zero(d[1], R);
        out.gc = Matrix::Zero(d[2], R);
      }
      const Index begin = d[0] * chunk / chunks;
      const Index end = d[0] * (chunk + 1) / chunks;
      for (Index i = begin; i < end; ++i) {
        scaled_c.noalias() = c * a.row(i).transpose().asDiagonal();
        // R_i = W_i * (X_i - C diag(A_i) B^T), K x J.
        residual = x_.Slice(i);
        residual.noalias() -= scaled_c * b.transpose();
        if (mask_) {
          Eigen::Map<
              const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>>
              observed(mask_->data() + i * d[1] * d[2], d[2], d[1]);
          // select, not multiply: missing entries of X may hold NaN.
          residual = (observed.array() != 0).select(residual.array(), 0.0);
        }
        out.f += 0.5 * residual.squaredNorm();
        if (!want_gradient) continue;
        rb.noalias() = residual * b;  // K x R
        // dA(i, r) = -sum_{j,k} R_i(k, j) B(j, r) C(k, r)
        Eigen::Map<Matrix>(gradient, d[0], R).row(i) =
            -(c.cwiseProduct(rb)).colwise().sum();
        // dB(j, r) -= sum_k R_i(k, j) C(k, r) A(i, r)
        out.gb.noalias() -= residual.transpose() * scaled_c;
        // dC(k, r) -= sum_j R_i(k, j) B(j, r) A(i, r)
        out.gc.noalias() -= rb * a.row(i).transpose().asDiagonal();
      }
    }
  });

  double f = 0;
  for (const Partial& p : partials) f += p.f;
  if (want_gradient) {
    Eigen::Map<Matrix> gb(gradient + d[0] * R, d[1], R);
    Eigen::Map<Matrix> gc(gradient + (d[0] + d[1]) * R, d[2], R);
    gb.setZero();
    gc.setZero();
    for (const Partial& p : partials) {
      gb += p.gb;
      gc += p.gc;
    }
  }
  return f;
}

std::vector<double> CpOptObjective::Pack(
    const std::array<Matrix, 3>& factors) const {
  std::vector<double> p(static_cast<size_t>(num_parameters_));
  Index offset = 0;
  for (int n = 0; n < 3; ++n) {
    Eigen::Map<Matrix>(p.data() + offset, x_.dim(n), rank_) = factors[n];
    offset += x_.dim(n) * rank_;
  }
  return p;
}

std::array<Matrix, 3> CpOptObjective::Unpack(const double* parameters) const {
  std::array<Matrix, 3> factors;
  Index offset = 0;
  for (int n = 0; n < 3; ++n) {
    factors[n] =
        Eigen::Map<const Matrix>(parameters + offset, x_.dim(n), rank_);
    offset += x_.dim(n) * rank_;
  }
  return factors;
}

namespace {

class CeresObjective : public ceres::FirstOrderFunction {
 public:
  explicit CeresObjective(const CpOptObjective* objective)
      : objective_(objective) {}
  bool Evaluate(const double* parameters,
                double* cost,
                double* gradient) const override {
    *cost = objective_->Evaluate(parameters, gradient);
    return std::isfinite(*cost);
  }
  int NumParameters() const override { return objective_->NumParameters(); }

 private:
  const CpOptObjective* objective_;
};

// Stops the solver once the relative error is at most the tolerance: from
// there no iteration can change it by more than the tolerance, which is when
// CpOptions says to stop. It is what ends fits of noiseless data, where the
// cost keeps falling by large factors towards round-off. It also aborts the
// solver, keeping the last iterate, when the run is cancelled.
class ErrorFloorCallback : public ceres::IterationCallback {
 public:
  ErrorFloorCallback(double squared_norm,
                     double tolerance,
                     const RunContext& run)
      : squared_norm_(squared_norm), tolerance_(tolerance), run_(run) {}
  ceres::CallbackReturnType operator()(
      const ceres::IterationSummary& summary) override {
    if (run_.cancelled()) {
      cancelled_ = true;
      return ceres::SOLVER_ABORT;
    }
    if (summary.iteration > 0 && tolerance_ > 0 &&
        2 * summary.cost <= tolerance_ * tolerance_ * squared_norm_) {
      reached_ = true;
      return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    }
    return ceres::SOLVER_CONTINUE;
  }
  bool reached() const { return reached_; }
  bool cancelled() const { return cancelled_; }

 private:
  double squared_norm_;
  double tolerance_;
  const RunContext& run_;
  bool reached_ = false;
  bool cancelled_ = false;
};

}  // namespace

CpSummary CpOpt(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                Ktensor init) {
  // A few ALS sweeps first. A random start is uncorrelated with the data and,
  // for data such as sparse counts, far larger: L-BFGS from it shrinks the
  // model towards zero, where the cubic objective is flat, and stops in a
  // poor stationary point (binned retina spikes, rank 3: relative error
  // 0.99997 from the raw start, 0.93-0.97 from one scaled to the data's
  // norm, 0.866 = ALS's after 3 sweeps; measured). The sweeps give a start
  // that is scaled to and aligned with the data.
  CpOptions warm_up = options;
  warm_up.method = CpMethod::kAls;
  warm_up.missing_data = MissingData::kExact;
  warm_up.max_iterations = kAlsWarmUpSweeps;
  warm_up.tolerance = 0;
  const double squared_norm = SquaredNorm(x, mask);
  init = CpAls(warm_up, x, mask, squared_norm, std::move(init)).model;
  // The optimisation keeps weights at 1: spread each initial weight evenly
  // over the three factor columns (its sign on the first) so the starting
  // model is unchanged and the columns are balanced.
  for (Index r = 0; r < init.rank(); ++r) {
    const double w = init.weights[r];
    const double s = std::cbrt(std::abs(w));
    for (int n = 0; n < 3; ++n) init.factors[n].col(r) *= s;
    if (w < 0) init.factors[0].col(r) *= -1.0;
  }

  const CpOptObjective objective(
      x, mask, options.rank, options.run.num_threads);
  std::vector<double> parameters = objective.Pack(init.factors);
  auto relative_error = [squared_norm](double cost) {
    const double residual = std::max(0.0, 2 * cost);
    return squared_norm > 0 ? std::sqrt(residual / squared_norm)
                            : std::sqrt(residual);
  };

  ceres::GradientProblemSolver::Options solver_options;
  solver_options.line_search_direction_type = ceres::LBFGS;
  // The initial inverse Hessian of each L-BFGS step scaled by
  // s^T y / y^T y (Nocedal & Wright 7.20) instead of the identity: on CP
  // problems it cuts the iterations about tenfold (371 -> 40 on the planted
  // test problem at tolerance 1e-10, same optimum).
  solver_options.use_approximate_eigenvalue_bfgs_scaling = true;
  solver_options.max_num_iterations = options.max_iterations;
  // Ceres stops when |cost change| < function_tolerance * cost. As the cost is
  // proportional to the squared relative error e^2, this is a change in e of
  // about tolerance * e / 2: never looser than ALS's |change in e| < tolerance.
  // Gradient and step tests are scale dependent, so they are off; with
  // tolerance 0 every test is off and the solver runs max_iterations (unless
  // the gradient or a step is exactly zero, or the line search fails).
  solver_options.function_tolerance = options.tolerance;
  solver_options.gradient_tolerance = 0;
  solver_options.parameter_tolerance = 0;
  solver_options.logging_type = ceres::SILENT;
  solver_options.minimizer_progress_to_stdout = false;
  ErrorFloorCallback error_floor(squared_norm, options.tolerance, options.run);
  solver_options.callbacks.push_back(&error_floor);

  auto function = std::make_unique<CeresObjective>(&objective);
  ceres::GradientProblem problem(function.release());  // takes ownership
  ceres::GradientProblemSolver::Summary ceres_summary;
  ceres::Solve(solver_options, problem, parameters.data(), &ceres_summary);

  CpSummary summary;
  summary.model.weights = Vector::Ones(options.rank);
  summary.model.factors = objective.Unpack(parameters.data());
  for (const ceres::IterationSummary& it : ceres_summary.iterations)
    if (it.iteration > 0)
      summary.error_history.push_back(relative_error(it.cost));
  summary.iterations = static_cast<int>(summary.error_history.size());
  summary.relative_error = relative_error(ceres_summary.final_cost);
  summary.converged = ceres_summary.termination_type == ceres::CONVERGENCE ||
                      ceres_summary.termination_type == ceres::USER_SUCCESS;
  std::ostringstream message;
  message << "(Ceres L-BFGS after " << kAlsWarmUpSweeps << " ALS sweeps): ";
  if (error_floor.cancelled())
    message << "interrupted after iteration " << summary.iterations;
  else if (error_floor.reached())
    message << "relative error " << summary.relative_error
            << " at most the tolerance " << options.tolerance;
  else
    message << ceres_summary.message;
  summary.message = message.str();
  return summary;
}

}  // namespace ltr::internal
