// Task training (Schuessler et al. 2020): the options, the initial network
// and what is trained. The loop is train_loop.cpp, the runs to a file
// train_to_file.cpp, Pellegrino et al.'s protocol adaptation_protocol.cpp.
#include "ltr/train/train.h"

#include <cmath>
#include <sstream>

#include "ltr/core/error.h"
#include "train/report.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;

namespace {

std::uint64_t SplitMix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Columns normalised, then scaled to `norm`.
void NormalizeColumns(double norm, MatrixXd* m) {
  for (Index j = 0; j < m->cols(); ++j) {
    const double n = m->col(j).norm();
    if (n > 0.0) m->col(j) *= norm / n;
  }
}

}  // namespace

double TrainOptions::EffectiveLearningRate() const {
  return learning_rate > 0.0 ? learning_rate : 0.05 / units;
}

bool TrainOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (!task.IsValid(error)) return false;
  if (units < 1)
    return fail("units must be >= 1 (got " + std::to_string(units) + ")");
  if (!std::isfinite(g) || g < 0.0) return fail("g must be finite and >= 0");
  if (!(alpha > 0.0) || alpha > 1.0) return fail("alpha must be in (0, 1]");
  if (!(learning_rate >= 0.0) || !std::isfinite(learning_rate))
    return fail("learning rate must be finite and >= 0");
  if (!(momentum >= 0.0) || momentum >= 1.0)
    return fail("momentum must be in [0, 1)");
  if (!(adam_beta1 >= 0.0) || adam_beta1 >= 1.0 || !(adam_beta2 >= 0.0) ||
      adam_beta2 >= 1.0)
    return fail("Adam betas must be in [0, 1)");
  if (!(adam_epsilon > 0.0)) return fail("Adam epsilon must be > 0");
  if (steps < 0) return fail("steps must be >= 0");
  if (batch < 1) return fail("batch must be >= 1");
  if (record_every < 1) return fail("record_every must be >= 1");
  if (!train_w_in && !train_w && !train_w_out)
    return fail("nothing to train: choose some of in, rec, out");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  if (stop_after_steps < 0) return fail("stop_after_steps must be >= 0");
  return true;
}

void ParseTrainedBlocks(const std::string& list, TrainOptions* options) {
  options->train_w_in = options->train_w = options->train_w_out = false;
  std::stringstream parts(list);
  std::string part;
  bool any = false;
  while (std::getline(parts, part, ',')) {
    if (part == "in") {
      options->train_w_in = true;
    } else if (part == "rec") {
      options->train_w = true;
    } else if (part == "out") {
      options->train_w_out = true;
    } else {
      throw Error("option --train: unknown block '" + part +
                  "'; expected a comma-separated list of in, rec, out");
    }
    any = true;
  }
  if (!any)
    throw Error("option --train: empty list; expected some of in, rec, out");
}

std::string TrainedBlocksName(const TrainOptions& o) {
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ",";
    s += name;
  };
  add(o.train_w_in, "in");
  add(o.train_w, "rec");
  add(o.train_w_out, "out");
  return s;
}

std::uint64_t StepSeed(std::uint64_t seed, std::int64_t step) {
  return SplitMix64(SplitMix64(seed) ^ (0x5851f42d4c957f2dULL *
                                        static_cast<std::uint64_t>(step + 1)));
}

RnnParameters InitialNetwork(const TrainOptions& o) {
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  RnnShape s;
  s.kind = WeightKind::kFull;  // W = w0 + w, w0 fixed
  s.base_weights = true;
  s.nonlinearity = o.nonlinearity;
  s.alpha = o.alpha;
  s.units = o.units;
  const TaskShape task = GetTaskShape(o.task);
  s.inputs = task.inputs;
  s.outputs = task.outputs;
  RnnParameters p = ZeroRnnParameters(s);
  Rng rng(o.seed);
  const double n = static_cast<double>(o.units);
  p.w0 = (o.g / std::sqrt(n)) * rng.NormalMatrix(o.units, o.units);
  p.w_in = rng.NormalMatrix(o.units, task.inputs);
  NormalizeColumns(std::sqrt(n), &p.w_in);
  MatrixXd w_out = rng.NormalMatrix(o.units, task.outputs);
  NormalizeColumns(1.0 / std::sqrt(n), &w_out);
  p.readout = w_out.transpose();
  return p;
}

RnnBlocks TrainedBlocks(const TrainOptions& o) {
  RnnBlocks b;
  b.w = o.train_w;
  b.c = false;
  b.w_in = o.train_w_in;
  b.readout = o.train_w_out;
  return b;
}

RnnLossOptions TaskLossOptions(const TaskOptions& task, int num_threads) {
  RnnLossOptions l;
  l.output_loss = TaskOutputLoss(task);
  l.num_threads = num_threads;
  return l;
}

std::string TrainSummary::BriefReport() const {
  std::ostringstream out;
  out << "train: " << steps_done << " steps";
  if (!loss.empty())
    out << ", loss " << internal::Fixed(loss.front()) << " -> "
        << internal::Fixed(loss.back());
  out << ", " << snapshots << " snapshots, " << internal::Fixed(seconds) << " s"
      << (complete ? "" : " (not complete)");
  if (!message.empty()) out << ": " << message;
  return out.str();
}

}  // namespace ltr
