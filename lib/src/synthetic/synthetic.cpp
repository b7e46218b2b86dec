#include "ltr/synthetic/synthetic.h"

#include <cmath>

#include "ltr/core/error.h"
#include "ltr/core/random.h"

namespace ltr {

TcaExample MakeTcaExample(const TcaExampleOptions& o) {
  if (o.trials < 3 || o.time_bins < 2 || o.neurons < 1)
    throw Error(
        "the TCA example needs at least 3 trials, 2 time bins and 1 "
        "neuron");
  if (o.noise < 0 || !(o.dt > 0)) throw Error("noise must be >= 0 and dt > 0");
  Rng rng(o.seed);
  const Index K = o.trials, T = o.time_bins, N = o.neurons;
  const Index epoch_length = (K + 2) / 3;

  TcaExample ex;
  Recording& rec = ex.recording;
  rec.dt = o.dt;
  rec.epoch.resize(static_cast<size_t>(K));
  for (Index k = 0; k < K; ++k)
    rec.epoch[static_cast<size_t>(k)] = std::min<Index>(k / epoch_length, 2);
  rec.time.resize(T);
  for (Index t = 0; t < T; ++t) rec.time[t] = t * o.dt;

  Ktensor& truth = ex.truth;
  constexpr int kRank = 3;
  truth.weights = Vector::Ones(kRank);
  Matrix& trial = truth.factors[0];
  Matrix& time = truth.factors[1];
  Matrix& neuron = truth.factors[2];
  trial.resize(K, kRank);
  time.resize(T, kRank);
  neuron.resize(N, kRank);

  for (Index k = 0; k < K; ++k) {
    const double since_adapt = static_cast<double>(k - epoch_length);
    const double since_wash = static_cast<double>(k - 2 * epoch_length);
    double adaptation = 0;
    if (since_adapt >= 0) adaptation = 1 - std::exp(-since_adapt / 12.0);
    if (since_wash >= 0)
      adaptation =
          (1 - std::exp(-epoch_length / 12.0)) * std::exp(-since_wash / 10.0);
    trial(k, 0) = 1.0 + 0.05 * rng.Normal();
    trial(k, 1) = 0.05 + adaptation;
    trial(k, 2) = 0.2 + 0.8 * static_cast<double>(k) / static_cast<double>(K);
  }
  for (Index t = 0; t < T; ++t) {
    const double s = static_cast<double>(t) / static_cast<double>(T - 1);
    time(t, 0) = std::exp(-0.5 * std::pow((s - 0.25) / 0.08, 2));
    time(t, 1) = std::exp(-0.5 * std::pow((s - 0.6) / 0.12, 2));
    time(t, 2) = 0.2 + 0.8 * s;
  }
  // Sparse nonnegative loadings: each neuron mostly serves one component.
  for (Index n = 0; n < N; ++n)
    for (int r = 0; r < kRank; ++r)
      neuron(n, r) =
          (rng.Uniform() < 0.4 ? 1.0 : 0.1) * -std::log(1.0 - rng.Uniform());

  rec.activity = truth.Full();
  if (o.noise > 0) {
    const double rms =
        std::sqrt(SquaredNorm(rec.activity) / rec.activity.size());
    for (double& v : rec.activity.values()) v += o.noise * rms * rng.Normal();
  }
  truth.Canonicalize();
  return ex;
}

TrajectoryExample MakeTrajectoryExample(const TrajectoryExampleOptions& o) {
  if (o.units < 1 || o.snapshots < 2 || o.rank < 1)
    throw Error(
        "a trajectory needs units >= 1, snapshots >= 2 and rank >= 1, got " +
        std::to_string(o.units) + ", " + std::to_string(o.snapshots) + ", " +
        std::to_string(o.rank));
  if (o.rank > o.units || o.rank > o.snapshots - 1)
    throw Error("the planted rank " + std::to_string(o.rank) +
                " must not exceed the units or snapshots - 1");
  if (!(o.noise >= 0) || !(o.w0_gain >= 0))
    throw Error("noise and w0_gain must be >= 0");
  Rng rng(o.seed);
  const Index n = o.units, k_count = o.snapshots, rank = o.rank;
  TrajectoryExample ex;
  ex.w0 = rng.NormalMatrix(n, n) * (o.w0_gain / std::sqrt(double(n)));
  Ktensor& u = ex.update;
  u.weights.resize(rank);
  u.factors[0].resize(k_count, rank);
  u.factors[1] = rng.NormalMatrix(n, rank);
  u.factors[2] = rng.NormalMatrix(n, rank);
  for (Index r = 0; r < rank; ++r) {
    // Time constants spread over the run: 5% .. 50% of its length.
    const double tau =
        double(k_count) *
        (0.05 + 0.45 * double(r) / double(std::max<Index>(1, rank - 1)));
    for (Index k = 0; k < k_count; ++k) {
      const double s = double(k) / tau;
      u.factors[0](k, r) =
          r % 2 == 0 ? 1.0 - std::exp(-s) : s * std::exp(1.0 - s);
    }
    for (int m = 0; m < 3; ++m) u.factors[m].col(r).normalize();
    u.weights[r] = (double(rank) - 0.5 * double(r)) * double(n);
  }
  u.Canonicalize();
  // ||update||^2 = lambda^T (*_m F_m^T F_m) lambda, without forming it.
  const Matrix g = (u.factors[0].transpose() * u.factors[0])
                       .cwiseProduct(u.factors[1].transpose() * u.factors[1])
                       .cwiseProduct(u.factors[2].transpose() * u.factors[2]);
  const double norm2 = u.weights.dot(g * u.weights);
  ex.noise_sigma = o.noise * std::sqrt(norm2 / double(k_count * n * n));
  return ex;
}

void ForEachTrajectorySnapshot(
    const TrajectoryExampleOptions& o,
    const TrajectoryExample& ex,
    const std::function<void(const Matrix& wt)>& snapshot) {
  const Ktensor& u = ex.update;
  const Index n = ex.w0.rows();
  // The noise stream is separate from the one that drew the factors.
  Rng rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
  // Row-major W_k is the column-major W_k^T = W0^T + B diag(lambda c_k) A^T.
  const Matrix w0t = ex.w0.transpose();
  Matrix wt(n, n);
  for (Index k = 0; k < u.factors[0].rows(); ++k) {
    const Vector scale =
        u.weights.cwiseProduct(u.factors[0].row(k).transpose());
    wt = w0t;
    wt.noalias() +=
        u.factors[2] * scale.asDiagonal() * u.factors[1].transpose();
    if (ex.noise_sigma > 0)
      for (Index e = 0; e < wt.size(); ++e)
        wt.data()[e] += ex.noise_sigma * rng.Normal();
    snapshot(wt);
  }
}

}  // namespace ltr
