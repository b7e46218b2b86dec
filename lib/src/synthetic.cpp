#include "ltr/synthetic.h"

#include <cmath>

#include "ltr/error.h"
#include "ltr/random.h"

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

}  // namespace ltr
