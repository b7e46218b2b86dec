// The checks of a fit's options and data, and the warnings about likely
// mistakes (FitOptions::IsValid, RankSweepOptions::IsValid, FitWarnings).
#include <algorithm>
#include <cmath>
#include <limits>

#include "fit/fit_internal.h"
#include "ltr/core/error.h"

namespace ltr {

namespace internal {

Index ResolveConditions(const FitOptions& options, const Recording& r) {
  std::int64_t largest = -1;
  for (size_t k = 0; k < r.condition.size(); ++k) {
    const std::int64_t c = r.condition[k];
    if (options.conditions > 0 && c >= options.conditions)
      throw Error("condition label " + std::to_string(c) + " of trial " +
                  std::to_string(k) + " is outside [0, " +
                  std::to_string(options.conditions) +
                  ") (the number of conditions given)");
    largest = std::max(largest, c);
  }
  if (options.conditions > 0) return options.conditions;
  return std::max<Index>(1, largest + 1);
}

void ValidateData(const FitOptions& options, const Recording& r) {
  r.Validate("recording");
  if (r.activity.empty()) throw Error("/activity is empty");
  const Index units = options.units > 0 ? options.units : r.neurons();
  if (options.readout == ReadoutKind::kIdentity && units != r.neurons())
    throw Error("an identity readout needs units = neurons (" +
                std::to_string(r.neurons()) + "), got " +
                std::to_string(units));
  if (options.kind != WeightKind::kFull && options.rank > units)
    throw Error("rank " + std::to_string(options.rank) +
                " is larger than the number of units " + std::to_string(units));
  if (options.base_weights.size() > 0 && options.base_weights.rows() != units)
    throw Error("base weights are " +
                std::to_string(options.base_weights.rows()) + " x " +
                std::to_string(options.base_weights.cols()) +
                " but the model has " + std::to_string(units) + " units");
  for (Index k = 0; k < r.trials(); ++k)
    for (Index t = 0; t < r.steps(); ++t)
      for (Index n = 0; n < r.neurons(); ++n) {
        if (r.mask && (*r.mask)(k, t, n) == 0) continue;
        const double y = r.activity(k, t, n);
        if (!std::isfinite(y))
          throw Error("/activity has a non-finite value at trial " +
                      std::to_string(k) + ", time " + std::to_string(t) +
                      ", neuron " + std::to_string(n) +
                      " that is observed (mark it 0 in /mask)");
        if (options.loss.loss == RnnLoss::kPoisson && y < 0)
          throw Error("the poisson loss needs counts >= 0, found " +
                      std::to_string(y) + " at trial " + std::to_string(k));
      }
  if (!r.inputs.empty() && !AllFinite(r.inputs))
    throw Error("/inputs has a non-finite value");
  if (r.steps() < 2)
    throw Error("at least 2 time bins are needed to fit dynamics");
}

FitInitialization ResolvedInitialization(const FitOptions& o) {
  if (o.initialization != FitInitialization::kAuto) return o.initialization;
  return o.readout == ReadoutKind::kIdentity ? FitInitialization::kData
                                             : FitInitialization::kRandom;
}

}  // namespace internal

bool FitOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (kind != WeightKind::kFull && rank < 1) return fail("rank must be >= 1");
  if (units < 0) return fail("units must be >= 0 (0 = number of neurons)");
  if (kind != WeightKind::kFull && units > 0 && rank > units)
    return fail("rank " + std::to_string(rank) +
                " is larger than the number of units " + std::to_string(units));
  if (!(alpha > 0 && alpha <= 1)) return fail("alpha must be in (0, 1]");
  if (conditions < 0) return fail("conditions must be >= 0");
  if (!(base_gain >= 0) || !std::isfinite(base_gain))
    return fail("base gain must be finite and >= 0");
  if (base_weights.size() > 0 && (base_weights.rows() != base_weights.cols() ||
                                  (units > 0 && base_weights.rows() != units) ||
                                  !base_weights.allFinite()))
    return fail("base weights must be a finite units x units matrix");
  if (!(init_x0_scale >= 0)) return fail("init_x0_scale must be >= 0");
  if (!(init_ridge > 0) || !std::isfinite(init_ridge))
    return fail("init_ridge must be finite and > 0");
  if (!(init_tanh_saturation > 0 && init_tanh_saturation < 1))
    return fail("init_tanh_saturation must be in (0, 1)");
  if (init_em_iterations < 0) return fail("init_em_iterations must be >= 0");
  if (init_als_iterations < 0) return fail("init_als_iterations must be >= 0");
  std::string sub;
  RnnLossOptions l = loss;
  l.num_threads = std::max(1, run.num_threads);
  if (!l.IsValid(&sub)) return fail(sub);
  if (!smoothing.IsValid(&sub)) return fail(sub);
  if (!hold_out.IsValid(&sub)) return fail(sub);
  if (max_iterations < 0) return fail("max_iterations must be >= 0");
  if (!(function_tolerance >= 0) || !(gradient_tolerance >= 0) ||
      !(parameter_tolerance >= 0))
    return fail("tolerances must be >= 0");
  if (!(max_seconds > 0)) return fail("max_seconds must be > 0");
  if (lbfgs_rank < 1) return fail("lbfgs_rank must be >= 1");
  if (precondition_every < 1) return fail("precondition_every must be >= 1");
  if (convergence_window < 0)
    return fail("convergence_window must be >= 0 (0 = off)");
  if (!(window_tolerance >= 0)) return fail("window_tolerance must be >= 0");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    return fail("learning_rate must be finite and > 0");
  if (!(adam_beta1 >= 0 && adam_beta1 < 1) ||
      !(adam_beta2 >= 0 && adam_beta2 < 1))
    return fail("Adam's betas must be in [0, 1)");
  if (!(adam_epsilon > 0)) return fail("adam_epsilon must be > 0");
  if (!(learning_rate_decay > 0 && learning_rate_decay <= 1))
    return fail("learning_rate_decay must be in (0, 1]");
  if (patience < 0) return fail("patience must be >= 0");
  if (patience > 0 && hold_out.scheme == HoldOut::kNone)
    return fail("early stopping (patience) needs held-out data");
  if (progress_every < 0) return fail("progress_every must be >= 0");
  if (checkpoint_every < 0) return fail("checkpoint_every must be >= 0");
  if (checkpoint_every > 0 && checkpoint_path.empty())
    return fail("checkpoint_every needs a checkpoint_path");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

bool RankSweepOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (ranks.empty()) return fail("no ranks to sweep");
  for (int r : ranks)
    if (r < 1) return fail("ranks must be >= 1");
  if (seeds < 1) return fail("seeds must be >= 1");
  if (!(relative_tolerance >= 0))
    return fail("relative_tolerance must be >= 0");
  if (fit.hold_out.scheme == HoldOut::kNone)
    return fail("a rank sweep needs held-out data (held-out scheme none)");
  if (fit.kind == WeightKind::kFull)
    return fail("a rank sweep needs a lowrank or ltr model");
  FitOptions probe = fit;
  probe.rank = *std::max_element(ranks.begin(), ranks.end());
  return probe.IsValid(error);
}

std::vector<std::string> FitWarnings(const FitOptions& o, const Recording& r) {
  // Bad data are an error first, as FitRnn would throw it.
  internal::ValidateData(o, r);
  std::vector<std::string> warnings;
  // Observed values, per neuron: integers >= 0? range?
  bool counts = true, any_nonzero = false;
  Index wide = 0;
  for (Index n = 0; n < r.neurons(); ++n) {
    double lowest = std::numeric_limits<double>::infinity();
    double highest = -lowest;
    for (Index k = 0; k < r.trials(); ++k)
      for (Index t = 0; t < r.steps(); ++t) {
        if (r.mask && (*r.mask)(k, t, n) == 0) continue;
        const double y = r.activity(k, t, n);
        if (!std::isfinite(y)) continue;
        counts = counts && y >= 0 && y == std::floor(y);
        any_nonzero = any_nonzero || y != 0;
        lowest = std::min(lowest, y);
        highest = std::max(highest, y);
      }
    if (highest - lowest > 2) ++wide;
  }
  if (o.loss.loss == RnnLoss::kMse && counts && any_nonzero)
    warnings.push_back(
        "the activity is integer counts; --loss poisson models counts (mse "
        "treats them as rates)");
  if (r.condition.empty() && (r.inputs.empty() || !o.external_inputs))
    warnings.push_back(
        "the recording has no /condition and no /inputs: every trial starts "
        "from one state with no input");
  // Counts span more than 2 by Poisson noise alone, whatever their rates.
  if (o.nonlinearity == Nonlinearity::kTanh &&
      o.readout == ReadoutKind::kIdentity && o.loss.loss != RnnLoss::kPoisson &&
      wide > 0)
    warnings.push_back(
        std::to_string(wide) + " of " + std::to_string(r.neurons()) +
        " neurons span more than 2 (z-scored data?), but tanh through "
        "--readout identity reaches an interval of width 2 per neuron; "
        "rescale the activity into (-1, 1) or use --readout free");
  return warnings;
}

}  // namespace ltr
