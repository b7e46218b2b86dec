// How a fit starts: the initial parameters (random, data-driven or given)
// and the prepared problem (split, trials, trained blocks, losses, prior).
#include <cmath>

#include "fit/fit_internal.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "optim/stiefel_manifold.h"

namespace ltr::internal {

namespace {

using Eigen::MatrixXd;

RnnParameters InitialParameters(const FitOptions& o,
                                const Recording& r,
                                const Mask3& train,
                                Index conditions,
                                bool inputs) {
  const Index n = o.units > 0 ? o.units : r.neurons();
  const Index m = r.neurons();
  // kind, nonlinearity, alpha, units, rank, trials, inputs, conditions,
  // outputs, base weights, condition inputs (RnnShape's order).
  const RnnShape shape{o.kind,
                       o.nonlinearity,
                       o.alpha,
                       n,
                       o.kind == WeightKind::kFull ? 0 : o.rank,
                       r.trials(),
                       inputs ? r.inputs.dim(2) : 0,
                       conditions,
                       m,
                       o.base_gain > 0 || o.base_weights.size() > 0,
                       o.condition_inputs};
  RnnParameters p = ZeroRnnParameters(shape);

  Rng rng(o.seed);
  const double inv_sqrt_n = 1.0 / std::sqrt(static_cast<double>(n));
  if (o.base_gain > 0) p.w0 = o.base_gain * inv_sqrt_n * rng.NormalMatrix(n, n);
  if (o.base_weights.size() > 0) p.w0 = o.base_weights;
  switch (o.kind) {
    case WeightKind::kFull:
      p.w = 0.1 * inv_sqrt_n * rng.NormalMatrix(n, n);
      break;
    case WeightKind::kLowRank:
      p.a = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      p.b = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      break;
    case WeightKind::kLowTensorRank:
      p.a = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      p.b = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      // Constant trial factors: no smoothing penalty at the start; the
      // random a, b break the symmetry between components.
      p.c = MatrixXd::Ones(r.trials(), o.rank);
      break;
  }
  if (inputs)
    p.w_in = (1.0 / std::sqrt(static_cast<double>(p.w_in.cols()))) *
             rng.NormalMatrix(n, p.w_in.cols());
  p.x0 = o.init_x0_scale * rng.NormalMatrix(n, conditions);
  switch (o.readout) {
    case ReadoutKind::kFree:
      p.readout = inv_sqrt_n * rng.NormalMatrix(m, n);
      break;
    case ReadoutKind::kOrthonormal:
      p.readout = internal::BlockStiefelManifold::Orthonormalize(
          rng.NormalMatrix(m, n));
      break;
    case ReadoutKind::kIdentity:
      p.readout = MatrixXd::Identity(m, n);
      break;
  }
  // Offsets at each neuron's mean over the training entries.
  for (Index j = 0; j < m; ++j) {
    double sum = 0, count = 0;
    ForEachEntry(
        r,
        j,
        [&](Index k, Index t) { return train(k, t, j) != 0; },
        [&](Index, Index, double y) {
          sum += y;
          count += 1;
        });
    const double mean = count > 0 ? sum / count : 0.0;
    p.offset(j) =
        o.loss.loss == RnnLoss::kPoisson ? InverseSoftplus(mean) : mean;
  }
  return p;
}

// The given start (options.initial_parameters) in place of *initial, whose
// shape it must have.
void UseGivenStart(const FitOptions& o, RnnParameters* initial) {
  const RnnParameters& given = *o.initial_parameters;
  given.Validate();
  const RnnParameters& want = *initial;
  auto same = [](const MatrixXd& x, const MatrixXd& y) {
    return x.rows() == y.rows() && x.cols() == y.cols();
  };
  if (given.kind != want.kind || !same(given.w, want.w) ||
      !same(given.a, want.a) || !same(given.c, want.c) ||
      !same(given.x0, want.x0) || !same(given.readout, want.readout) ||
      given.num_inputs() != want.num_inputs() ||
      given.h.size() != want.h.size())
    throw Error(
        "the initial parameters do not have the shape the fit options and "
        "the recording imply (kind, rank, units, inputs, conditions, "
        "neurons, trials)");
  *initial = given;
  initial->nonlinearity = o.nonlinearity;
  initial->alpha = o.alpha;
  if (o.readout == ReadoutKind::kOrthonormal)
    initial->readout =
        internal::BlockStiefelManifold::Orthonormalize(given.readout);
}

RnnBlocks TrainedBlocks(const FitOptions& o, bool inputs) {
  RnnBlocks blocks;
  blocks.w = true;
  blocks.c = true;
  blocks.w_in = inputs;
  blocks.h = o.condition_inputs;
  blocks.bias = true;
  blocks.x0 = true;
  blocks.readout = o.readout != ReadoutKind::kIdentity;
  blocks.offset = true;
  return blocks;
}

// One training and one test trial per recorded trial (pr->test is left
// empty when nothing is held out).
void AddTrials(const Recording& r, bool inputs, Problem* pr) {
  double test_count = 0;
  for (Index k = 0; k < r.trials(); ++k) {
    RnnTrial trial;
    trial.trial = k;
    trial.condition = r.condition.empty() ? 0 : r.condition[k];
    if (inputs) trial.inputs = r.inputs.Slice(k);
    trial.targets = r.activity.Slice(k);
    trial.mask = pr->masks.train.Slice(k).cast<double>();
    RnnTrial test = trial;
    test.mask = pr->masks.test.Slice(k).cast<double>();
    test_count += test.mask.sum();
    pr->train.push_back(std::move(trial));
    pr->test.push_back(std::move(test));
  }
  if (test_count == 0) pr->test.clear();
}

}  // namespace

TrialSmoothingPenalty TrialPrior(const FitOptions& o, const Recording& r) {
  if (o.kind != WeightKind::kLowTensorRank ||
      o.smoothing.kind == TrialSmoothing::kNone)
    return TrialSmoothingPenalty();
  std::vector<int> epochs;
  if (o.smoothing_breaks_at_epochs)
    epochs.assign(r.epoch.begin(), r.epoch.end());
  return TrialSmoothingPenalty(o.smoothing, r.trials(), epochs);
}

Problem BuildProblem(const FitOptions& o, const Recording& r) {
  ValidateData(o, r);
  Problem pr;
  const Index conditions = ResolveConditions(o, r);
  pr.masks = MakeHoldOutMasks(
      o.hold_out, r.activity.dims(), r.mask ? &*r.mask : nullptr);
  const bool inputs =
      o.external_inputs && !r.inputs.empty() && r.inputs.dim(2) > 0;
  pr.initial = InitialParameters(o, r, pr.masks.train, conditions, inputs);
  if (!o.initial_parameters &&
      ResolvedInitialization(o) == FitInitialization::kData)
    pr.init = DataDrivenInitialization(o, r, pr.masks.train, &pr.initial);
  if (o.initial_parameters) UseGivenStart(o, &pr.initial);
  pr.blocks = TrainedBlocks(o, inputs);

  pr.loss = o.loss;
  pr.loss.num_threads = std::max(1, o.run.num_threads);
  pr.test_loss = RnnLossOptions();
  pr.test_loss.loss = o.loss.loss;
  pr.test_loss.poisson_rate_floor = o.loss.poisson_rate_floor;
  pr.test_loss.num_threads = pr.loss.num_threads;
  AddTrials(r, inputs, &pr);

  pr.smoothing = TrialPrior(o, r);
  if (o.readout == ReadoutKind::kOrthonormal) {
    // Packed order w|a|b|c|w_in|h|bias|x0|readout|offset: readout is
    // followed only by the offset.
    pr.readout_offset = NumPackedParameters(pr.initial, pr.blocks) -
                        pr.initial.readout.size() - pr.initial.offset.size();
  }
  return pr;
}

}  // namespace ltr::internal
