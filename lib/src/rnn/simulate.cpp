// Recordings simulated from a model.
#include "ltr/rnn/simulate.h"

#include <cmath>
#include <random>

#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/rnn/rnn.h"

namespace ltr {

bool SimulateOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (trials < 0) return fail("trials must be >= 0");
  if (steps < 0) return fail("steps must be >= 0");
  if (!(noise_sigma >= 0) || !std::isfinite(noise_sigma))
    return fail("process noise must be finite and >= 0");
  if (!(observation_noise >= 0) || !std::isfinite(observation_noise))
    return fail("observation noise must be finite and >= 0");
  if (!(dt > 0)) return fail("dt must be > 0");
  return true;
}

Recording SimulateRecording(const FittedModel& model,
                            const SimulateOptions& options,
                            const Recording* inputs) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const RnnParameters& p = model.parameters;
  p.Validate();
  const bool ltr = p.kind == WeightKind::kLowTensorRank;
  const Index n_in = p.num_inputs();

  Index trials = options.trials;
  Index steps = options.steps;
  if (inputs != nullptr) {
    if (trials == 0) trials = inputs->trials();
    if (steps == 0) steps = inputs->steps();
    if (trials != inputs->trials() || steps != inputs->steps())
      throw Error("the input recording has " +
                  std::to_string(inputs->trials()) + " trials x " +
                  std::to_string(inputs->steps()) + " time bins, asked for " +
                  std::to_string(trials) + " x " + std::to_string(steps));
    const Index given = inputs->inputs.empty() ? 0 : inputs->inputs.dim(2);
    if (given != n_in)
      throw Error("the input recording has " + std::to_string(given) +
                  " inputs, the model takes " + std::to_string(n_in));
    for (size_t k = 0; k < inputs->condition.size(); ++k)
      if (inputs->condition[k] < 0 ||
          inputs->condition[k] >= p.num_conditions())
        throw Error("condition label " + std::to_string(inputs->condition[k]) +
                    " of trial " + std::to_string(k) +
                    " is outside the model's " +
                    std::to_string(p.num_conditions()) + " conditions");
  } else if (n_in > 0) {
    throw Error("the model takes " + std::to_string(n_in) +
                " inputs; give a recording with /inputs");
  }
  if (trials == 0 && ltr) trials = p.num_trials();
  if (trials == 0) throw Error("give the number of trials");
  if (steps == 0) throw Error("give the number of time bins");
  if (ltr && trials > p.num_trials())
    throw Error("the ltr model has trial factors for " +
                std::to_string(p.num_trials()) + " trials, asked for " +
                std::to_string(trials));

  const Index n_out = p.num_outputs();
  Recording out;
  out.dt = options.dt;
  out.activity = Tensor3(trials, steps, n_out);
  if (n_in > 0) out.inputs = inputs->inputs;
  out.condition.resize(trials);
  Rng rng(options.seed);
  Rng noise_rng(rng.NextSeed());
  for (Index k = 0; k < trials; ++k) {
    const Index condition = inputs != nullptr && !inputs->condition.empty()
                                ? inputs->condition[k]
                                : k % p.num_conditions();
    out.condition[k] = condition;
    const Eigen::MatrixXd u =
        n_in > 0 ? Eigen::MatrixXd(inputs->inputs.Slice(k)) : Eigen::MatrixXd();
    const RnnTrajectory run =
        Simulate(p, k, condition, steps, u, options.noise_sigma, &rng);
    auto y = out.activity.Slice(k);  // n_out x steps
    for (Index t = 0; t < steps; ++t)
      for (Index i = 0; i < n_out; ++i) {
        const double z = run.outputs(i, t);
        if (model.loss == RnnLoss::kPoisson) {
          std::poisson_distribution<long> draw(
              std::max(Phi(Nonlinearity::kSoftplus, z), 1e-12));
          y(i, t) = static_cast<double>(draw(noise_rng.engine()));
        } else {
          y(i, t) = z + options.observation_noise * noise_rng.Normal();
        }
      }
  }
  // A diverging model overflows: refuse rather than write NaN or Inf.
  for (Index n = 0; n < out.activity.size(); ++n)
    if (!std::isfinite(out.activity.data()[n])) {
      const Dims& d = out.activity.dims();
      throw Error("the simulated activity is not finite from trial " +
                  std::to_string(n / (d[1] * d[2])) + ", time " +
                  std::to_string((n / d[2]) % d[1]) +
                  " on: the model's dynamics diverge (nothing was written)");
    }
  return out;
}

}  // namespace ltr
