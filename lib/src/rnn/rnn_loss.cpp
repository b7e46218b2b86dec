// The loss of a batch of trials and its exact gradient, on THE forward and
// backward passes (forward_backward.cpp), and the flat-vector objective.
#include <algorithm>
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "ltr/core/error.h"
#include "ltr/rnn/rnn.h"
#include "rnn/rnn_internal.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

void ValidateTrial(const RnnParameters& p, const RnnTrial& trial, Index i) {
  const std::string what = "RNN trial " + std::to_string(i);
  internal::ValidateTrialShapes(
      p, trial.trial, trial.condition, trial.num_steps(), trial.inputs, what);
  if (trial.targets.rows() != p.num_outputs())
    throw Error(what + ": targets have " +
                std::to_string(trial.targets.rows()) + " rows, expected " +
                std::to_string(p.num_outputs()) + " (one per output)");
  if (trial.mask.size() > 0) {
    if (trial.mask.rows() != trial.targets.rows() ||
        trial.mask.cols() != trial.targets.cols())
      throw Error(what + ": mask shape differs from the targets");
    if (!(trial.mask.array() >= 0.0).all())
      throw Error(what + ": mask has a negative (or NaN) weight");
  }
}

// Adds the selected blocks of `from` into `to` (same shapes).
void AddInto(const RnnParameters& from, RnnParameters* to) {
  auto add = [](const MatrixXd& a, MatrixXd* b) {
    if (b->size() > 0) *b += a;
  };
  add(from.w, &to->w);
  add(from.a, &to->a);
  add(from.b, &to->b);
  add(from.c, &to->c);
  add(from.w_in, &to->w_in);
  add(from.h, &to->h);
  if (to->bias.size() > 0) to->bias += from.bias;
  add(from.x0, &to->x0);
  add(from.readout, &to->readout);
  if (to->offset.size() > 0) to->offset += from.offset;
}

void ScaleBy(double s, RnnParameters* g) {
  g->w *= s;
  g->a *= s;
  g->b *= s;
  g->c *= s;
  g->w_in *= s;
  g->h *= s;
  g->bias *= s;
  g->x0 *= s;
  g->readout *= s;
  g->offset *= s;
}

// --- Data terms of a batch ---------------------------------------------------
//
// Each writes S_k and M_k of trial j of the batch into *out and, when e is
// given, dS_k/dy_hat into its columns t * B + j.

void MseTerm(const RnnTrial& trial,
             const Eigen::Map<const MatrixXd>& y_hat,
             Index j,
             Index nb,
             Eigen::Map<MatrixXd>* e,
             RnnTrialLoss* out) {
  // Whole columns at once; a missing target (mask 0) may hold NaN, so its
  // residual is selected away rather than multiplied by 0.
  const bool has_mask = trial.mask.size() > 0;
  for (Index t = 0; t < trial.num_steps(); ++t) {
    const Index col = t * nb + j;
    const auto z = y_hat.col(col).array();
    const auto y = trial.targets.col(t).array();
    if (has_mask) {
      const auto m = trial.mask.col(t).array();
      const auto r = (m != 0.0).select(z - y, 0.0);
      out->mask_sum += m.sum();
      out->data += 0.5 * (m * r.square()).sum();
      if (e != nullptr) e->col(col) = (m * r).matrix();
    } else {
      out->mask_sum += static_cast<double>(y_hat.rows());
      out->data += 0.5 * (z - y).square().sum();
      if (e != nullptr) e->col(col) = (z - y).matrix();
    }
  }
}

void PoissonTerms(const RnnTrial& trial,
                  const Eigen::Map<const MatrixXd>& y_hat,
                  Index j,
                  Index nb,
                  double floor,
                  Eigen::Map<MatrixXd>* e,
                  RnnTrialLoss* out) {
  const bool has_mask = trial.mask.size() > 0;
  double d = 0.0;
  for (Index t = 0; t < trial.num_steps(); ++t) {
    const Index col = t * nb + j;
    for (Index i = 0; i < y_hat.rows(); ++i) {
      const double m = has_mask ? trial.mask(i, t) : 1.0;
      if (m == 0.0) continue;  // missing targets may hold NaN
      out->mask_sum += m;
      out->data += internal::PoissonTerm(
          m, y_hat(i, col), trial.targets(i, t), floor, &d);
      if (e != nullptr) (*e)(i, col) = d;
    }
  }
}

void CustomTerm(const RnnTrial& trial,
                const RnnOutputLoss& loss,
                const Eigen::Map<const MatrixXd>& y_hat,
                Index j,
                Index nb,
                Eigen::Map<MatrixXd>* e,
                RnnTrialLoss* out) {
  const Index tj = trial.num_steps();
  MatrixXd yj(y_hat.rows(), tj), ej;
  for (Index t = 0; t < tj; ++t) yj.col(t) = y_hat.col(t * nb + j);
  if (e != nullptr) ej.setZero(y_hat.rows(), tj);
  out->data = loss(trial, yj, e != nullptr ? &ej : nullptr, &out->mask_sum);
  if (e != nullptr)
    for (Index t = 0; t < tj; ++t) e->col(t * nb + j) = ej.col(t);
}

// Per-thread buffers of a batch, reused from call to call.
struct Workspace {
  internal::BatchStates states;
  internal::BackwardBuffers backward;
  internal::BatchBuffer e;
};

// Loss of trials[0 .. count) run as one batch; per-trial losses go to
// per_trial[0 .. count), the unnormalised gradient is added to *g (if not
// null).
void BatchLoss(const RnnParameters& p,
               const internal::RecurrentOperator& op,
               const RnnTrial* trials,
               Index count,
               const RnnLossOptions& options,
               const RnnBlocks& blocks,
               RnnParameters* g,
               RnnTrialLoss* per_trial) {
  // An output_loss that itself evaluated a loss on this thread would find
  // the buffers in use; it then gets fresh ones.
  thread_local Workspace shared;
  thread_local bool busy = false;
  Workspace fresh;
  Workspace& ws = busy ? fresh : shared;
  struct Claim {
    bool* flag;
    bool was;
    ~Claim() { *flag = was; }
  } claim{&busy, busy};
  busy = true;

  std::vector<internal::BatchTrial> batch(count);
  for (Index j = 0; j < count; ++j)
    batch[j] = {trials[j].trial,
                trials[j].condition,
                trials[j].num_steps(),
                &trials[j].inputs};
  const bool grad = g != nullptr;
  internal::BatchStates& s = ws.states;
  internal::Forward(p, op, batch, grad, 0.0, nullptr, &s);

  const internal::BatchStates& states = s;
  const Eigen::Map<const MatrixXd> y_hat = states.outputs.view();
  Eigen::Map<MatrixXd> e = ws.e.Resize(y_hat.rows(), grad ? y_hat.cols() : 0);
  e.setZero();  // and zero in the padding
  Eigen::Map<MatrixXd>* e_or_null = grad ? &e : nullptr;
  const auto phi = states.phi.view();
  for (Index j = 0; j < count; ++j) {
    const RnnTrial& trial = trials[j];
    RnnTrialLoss out;
    if (options.output_loss) {
      CustomTerm(trial, options.output_loss, y_hat, j, count, e_or_null, &out);
    } else if (options.loss == RnnLoss::kMse) {
      MseTerm(trial, y_hat, j, count, e_or_null, &out);
    } else {
      PoissonTerms(
          trial, y_hat, j, count, options.poisson_rate_floor, e_or_null, &out);
    }
    double activity = 0.0;
    for (Index t = 0; t < trial.num_steps(); ++t)
      activity += phi.col(t * count + j).squaredNorm();
    out.activity = 0.5 * activity;
    per_trial[j] = out;
  }
  if (grad)
    internal::Backward(
        p, op, batch, s, e, options.l2_activity, blocks, &ws.backward, g);
}

// Trials per batch: batches depend only on the trials, never on the number
// of threads, so per-trial losses have the same bits whatever the thread
// count.
constexpr Index kBatchTrials = 16;

// 1/2 l2 ||block||^2 and its gradient l2 * block.
template <typename Block>
double L2(double l2, const Block& value, bool want, Block* gradient) {
  if (l2 == 0.0 || value.size() == 0) return 0.0;
  if (want && gradient != nullptr && gradient->size() > 0)
    *gradient += l2 * value;
  return 0.5 * l2 * value.squaredNorm();
}

// The sum of the parameter penalties; adds their gradient to *g if given.
double ParameterPenalties(const RnnParameters& p,
                          const RnnLossOptions& options,
                          const RnnBlocks& blocks,
                          RnnParameters* g) {
  const bool want = g != nullptr;
  const bool factors = p.kind != WeightKind::kFull;
  double l2 = 0.0;
  l2 +=
      L2(options.l2_w, p.w, want && blocks.w && !factors, g ? &g->w : nullptr);
  l2 += L2(options.l2_w, p.a, want && blocks.w && factors, g ? &g->a : nullptr);
  l2 += L2(options.l2_w, p.b, want && blocks.w && factors, g ? &g->b : nullptr);
  if (p.kind == WeightKind::kLowTensorRank)
    l2 += L2(options.l2_c, p.c, want && blocks.c, g ? &g->c : nullptr);
  l2 +=
      L2(options.l2_w_in, p.w_in, want && blocks.w_in, g ? &g->w_in : nullptr);
  l2 += L2(options.l2_h, p.h, want && blocks.h, g ? &g->h : nullptr);
  l2 +=
      L2(options.l2_bias, p.bias, want && blocks.bias, g ? &g->bias : nullptr);
  l2 += L2(options.l2_x0, p.x0, want && blocks.x0, g ? &g->x0 : nullptr);
  l2 += L2(options.l2_readout,
           p.readout,
           want && blocks.readout,
           g ? &g->readout : nullptr);
  l2 += L2(options.l2_offset,
           p.offset,
           want && blocks.offset,
           g ? &g->offset : nullptr);
  return l2;
}

}  // namespace

// --- Options -----------------------------------------------------------------

bool RnnLossOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (!(poisson_rate_floor > 0.0))
    return fail("poisson_rate_floor must be > 0");
  const double l2s[] = {l2_activity,
                        l2_w,
                        l2_c,
                        l2_w_in,
                        l2_h,
                        l2_bias,
                        l2_x0,
                        l2_readout,
                        l2_offset};
  for (double l2 : l2s)
    if (!(l2 >= 0.0) || !std::isfinite(l2))
      return fail("L2 penalty weights must be finite and >= 0");
  if (num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

// --- Loss --------------------------------------------------------------------

RnnParameters ZeroGradient(const RnnParameters& p, const RnnBlocks& blocks) {
  RnnParameters g;
  g.kind = p.kind;
  g.nonlinearity = p.nonlinearity;
  g.alpha = p.alpha;
  auto zero = [](bool on, const MatrixXd& like, MatrixXd* out) {
    if (on) out->setZero(like.rows(), like.cols());
  };
  const bool factors = p.kind != WeightKind::kFull;
  zero(blocks.w && !factors, p.w, &g.w);
  zero(blocks.w && factors, p.a, &g.a);
  zero(blocks.w && factors, p.b, &g.b);
  zero(blocks.c && p.kind == WeightKind::kLowTensorRank, p.c, &g.c);
  zero(blocks.w_in, p.w_in, &g.w_in);
  zero(blocks.h, p.h, &g.h);
  if (blocks.bias) g.bias.setZero(p.bias.size());
  zero(blocks.x0, p.x0, &g.x0);
  zero(blocks.readout, p.readout, &g.readout);
  if (blocks.offset) g.offset.setZero(p.offset.size());
  return g;
}

RnnTrialLoss EvaluateTrial(const RnnParameters& parameters,
                           const RnnTrial& trial,
                           const RnnLossOptions& options,
                           const RnnBlocks& blocks,
                           RnnParameters* gradient) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  parameters.Validate();
  ValidateTrial(parameters, trial, 0);
  if (gradient != nullptr) {
    const RnnParameters like = ZeroGradient(parameters, blocks);
    auto same = [](const MatrixXd& x, const MatrixXd& y) {
      return x.rows() == y.rows() && x.cols() == y.cols();
    };
    const RnnParameters& g = *gradient;
    if (!same(g.w, like.w) || !same(g.a, like.a) || !same(g.b, like.b) ||
        !same(g.c, like.c) || !same(g.w_in, like.w_in) || !same(g.h, like.h) ||
        g.bias.size() != like.bias.size() || !same(g.x0, like.x0) ||
        !same(g.readout, like.readout) || g.offset.size() != like.offset.size())
      throw Error(
          "EvaluateTrial: the gradient is not shaped as "
          "ZeroGradient(parameters, blocks)");
  }
  const internal::RecurrentOperator op(parameters);
  RnnTrialLoss out;
  BatchLoss(parameters, op, &trial, 1, options, blocks, gradient, &out);
  return out;
}

RnnLossSummary EvaluateLoss(const RnnParameters& p,
                            const std::vector<RnnTrial>& trials,
                            const RnnLossOptions& options,
                            const RnnBlocks& blocks,
                            RnnParameters* gradient,
                            const TrialSmoothingPenalty* smoothing) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  p.Validate();
  if (trials.empty()) throw Error("RNN loss: the batch has no trials");
  const bool ltr = p.kind == WeightKind::kLowTensorRank;
  if (ltr && smoothing != nullptr &&
      smoothing->kind() != TrialSmoothing::kNone &&
      smoothing->num_trials() != p.num_trials())
    throw Error("RNN loss: the trial smoothing penalty was built for " +
                std::to_string(smoothing->num_trials()) + " trials, c has " +
                std::to_string(p.num_trials()));

  const internal::RecurrentOperator op(p);
  const Index n_trials = static_cast<Index>(trials.size());
  std::vector<RnnTrialLoss> per_trial(trials.size());
  struct Partial {
    RnnParameters gradient;
    std::string error;
  };
  const bool want = gradient != nullptr;
  // Fixed batches of about kBatchTrials trials; one contiguous range of
  // batches per thread, each thread with its own gradient accumulator; the
  // accumulators are summed below in range order.
  const Index n_batches = (n_trials + kBatchTrials - 1) / kBatchTrials;
  std::vector<Partial> partials = ParallelBlocks(
      n_batches, options.num_threads, [&](Index begin, Index end) {
        Partial partial;
        try {
          if (want) partial.gradient = ZeroGradient(p, blocks);
          // Trials are validated here, in parallel: the mask check reads
          // every entry, a serial cost per evaluation otherwise.
          for (Index i = n_trials * begin / n_batches;
               i < n_trials * end / n_batches;
               ++i)
            ValidateTrial(p, trials[i], i);
          for (Index b = begin; b < end; ++b) {
            const Index first = n_trials * b / n_batches;
            BatchLoss(p,
                      op,
                      &trials[first],
                      n_trials * (b + 1) / n_batches - first,
                      options,
                      blocks,
                      want ? &partial.gradient : nullptr,
                      &per_trial[first]);
          }
        } catch (const std::exception& e) {
          partial.error = e.what();
        }
        return partial;
      });
  for (const Partial& partial : partials)
    if (!partial.error.empty()) throw Error("RNN loss: " + partial.error);

  RnnLossSummary summary;
  double data = 0.0;
  double activity = 0.0;
  for (const RnnTrialLoss& t : per_trial) {
    data += t.data;
    activity += t.activity;
    summary.mask_sum += t.mask_sum;
  }
  if (!(summary.mask_sum > 0.0))
    throw Error("RNN loss: the mask of the batch has no observed entries");
  const double inv_m = 1.0 / summary.mask_sum;
  summary.data = data * inv_m;
  summary.activity = options.l2_activity * activity * inv_m;
  if (want) {
    *gradient = ZeroGradient(p, blocks);
    for (const Partial& partial : partials) AddInto(partial.gradient, gradient);
    ScaleBy(inv_m, gradient);
  }
  summary.l2 = ParameterPenalties(p, options, blocks, gradient);
  if (ltr && smoothing != nullptr) {
    summary.smoothing =
        smoothing->Evaluate(p.c, want && blocks.c ? &gradient->c : nullptr);
  }
  summary.total =
      summary.data + summary.activity + summary.l2 + summary.smoothing;
  return summary;
}

// --- Flat-vector objective ---------------------------------------------------

RnnObjective::RnnObjective(RnnParameters parameters,
                           RnnBlocks blocks,
                           RnnLossOptions options,
                           const std::vector<RnnTrial>* trials,
                           const TrialSmoothingPenalty* smoothing)
    : parameters_(std::move(parameters)),
      blocks_(blocks),
      options_(options),
      trials_(trials),
      smoothing_(smoothing) {
  std::string error;
  if (!options_.IsValid(&error)) throw Error(error);
  parameters_.Validate();
  num_parameters_ = NumPackedParameters(parameters_, blocks_);
}

VectorXd RnnObjective::InitialPoint() const {
  return PackParameters(parameters_, blocks_);
}

RnnParameters RnnObjective::Parameters(const double* x) const {
  RnnParameters p = parameters_;
  UnpackParameters(x, blocks_, &p);
  return p;
}

bool RnnObjective::Evaluate(const double* x,
                            double* cost,
                            double* gradient,
                            RnnLossSummary* summary) const {
  if (trials_ == nullptr) throw Error("RnnObjective: no trials set");
  const RnnParameters p = Parameters(x);
  RnnParameters g;
  const RnnLossSummary s = EvaluateLoss(
      p, *trials_, options_, blocks_, gradient ? &g : nullptr, smoothing_);
  if (summary != nullptr) *summary = s;
  *cost = s.total;
  bool finite = std::isfinite(s.total);
  if (gradient != nullptr) {
    PackParameters(g, blocks_, gradient);
    for (Index i = 0; i < num_parameters_ && finite; ++i)
      finite = std::isfinite(gradient[i]);
  }
  return finite;
}

}  // namespace ltr
