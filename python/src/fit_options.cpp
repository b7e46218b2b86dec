// The keyword arguments of ltr.fit_rnn and ltr.sweep_ranks: one table of
// names (close to `ltr fit`'s flags) bound to FitOptions fields, which gives
// both the defaults (from FitOptions{}) and the parsing.
#include <pybind11/numpy.h>

#include <functional>

#include "arrays.h"
#include "fit_common.h"
#include "ltr/core/enums.h"
#include "ltr/core/error.h"
#include "ltr/formats/model_file.h"

namespace ltr::python {

namespace {

struct Keyword {
  const char* name;
  std::function<py::object(const FitOptions&)> get;
  std::function<void(const py::handle&, FitOptions*)> set;
};

std::string TypeName(const py::handle& value) {
  return py::str(py::type::of(value));
}

// A number keyword: float, or int for int fields (bool is refused).
template <typename T, typename Field>
Keyword Number(const char* name, Field field) {
  return {name,
          [field](const FitOptions& o) {
            return py::cast(field(const_cast<FitOptions&>(o)));
          },
          [name, field](const py::handle& v, FitOptions* o) {
            const bool integral = std::is_integral_v<T>;
            if (py::isinstance<py::bool_>(v) ||
                !(py::isinstance<py::int_>(v) ||
                  (!integral && py::isinstance<py::float_>(v))))
              throw py::type_error(std::string(name) + " must be " +
                                   (integral ? "an int" : "a number") +
                                   ", not " + TypeName(v));
            if (std::is_unsigned_v<T> && v.cast<py::int_>() < py::int_(0))
              throw py::value_error(std::string(name) + " must be >= 0");
            field(*o) = v.cast<T>();
          }};
}

template <typename Field>
Keyword Flag(const char* name, Field field) {
  return {
      name,
      [field](const FitOptions& o) {
        return py::cast(field(const_cast<FitOptions&>(o)));
      },
      [name, field](const py::handle& v, FitOptions* o) {
        if (!py::isinstance<py::bool_>(v))
          throw py::type_error(std::string(name) + " must be True or False");
        field(*o) = v.cast<bool>();
      }};
}

// An enum keyword by the library's names (Parse* lists the choices).
template <typename Enum, typename Field>
Keyword Choice(const char* name,
               Field field,
               Enum (*parse)(const std::string&),
               std::string (*print)(Enum)) {
  return {name,
          [field, print](const FitOptions& o) {
            return py::cast(print(field(const_cast<FitOptions&>(o))));
          },
          [name, field, parse](const py::handle& v, FitOptions* o) {
            if (!py::isinstance<py::str>(v))
              throw py::type_error(std::string(name) + " must be a str, not " +
                                   TypeName(v));
            try {
              field(*o) = parse(v.cast<std::string>());
            } catch (const Error& e) {
              throw py::value_error(std::string(name) + ": " + e.what());
            }
          }};
}

#define LTR_FIELD(path) \
  [](FitOptions & o) -> auto& { return o.path; }

const std::vector<Keyword>& Keywords() {
  static const std::vector<Keyword> table = {
      Choice("model", LTR_FIELD(kind), ParseWeightKind, WeightKindName),
      Number<int>("units", LTR_FIELD(units)),
      Choice("nonlinearity",
             LTR_FIELD(nonlinearity),
             ParseNonlinearity,
             NonlinearityName),
      Number<double>("alpha", LTR_FIELD(alpha)),
      Choice("loss", LTR_FIELD(loss.loss), ParseRnnLoss, RnnLossName),
      Choice("readout", LTR_FIELD(readout), ParseReadoutKind, ReadoutKindName),
      Flag("condition_inputs", LTR_FIELD(condition_inputs)),
      Number<int>("conditions", LTR_FIELD(conditions)),
      Number<double>("base_gain", LTR_FIELD(base_gain)),
      Choice("smoothing",
             LTR_FIELD(smoothing.kind),
             ParseTrialSmoothing,
             TrialSmoothingName),
      Number<double>("smoothing_weight", LTR_FIELD(smoothing.weight)),
      Number<double>("smoothing_length", LTR_FIELD(smoothing.length_scale)),
      Number<double>("smoothing_amplitude", LTR_FIELD(smoothing.amplitude)),
      Number<double>("smoothing_shape", LTR_FIELD(smoothing.shape)),
      Number<double>("smoothing_jitter", LTR_FIELD(smoothing.jitter)),
      Flag("epoch_breaks", LTR_FIELD(smoothing_breaks_at_epochs)),
      Number<double>("l2_w", LTR_FIELD(loss.l2_w)),
      Number<double>("l2_c", LTR_FIELD(loss.l2_c)),
      // As --l2-inputs: one weight on w_in and h.
      {"l2_inputs",
       [](const FitOptions& o) { return py::cast(o.loss.l2_w_in); },
       [](const py::handle& v, FitOptions* o) {
         Number<double>("l2_inputs", LTR_FIELD(loss.l2_w_in)).set(v, o);
         o->loss.l2_h = o->loss.l2_w_in;
       }},
      Number<double>("l2_bias", LTR_FIELD(loss.l2_bias)),
      Number<double>("l2_x0", LTR_FIELD(loss.l2_x0)),
      Number<double>("l2_readout", LTR_FIELD(loss.l2_readout)),
      Number<double>("l2_offset", LTR_FIELD(loss.l2_offset)),
      Number<double>("l2_activity", LTR_FIELD(loss.l2_activity)),
      Number<double>("poisson_rate_floor", LTR_FIELD(loss.poisson_rate_floor)),
      Choice("held_out", LTR_FIELD(hold_out.scheme), ParseHoldOut, HoldOutName),
      Number<std::uint64_t>("held_out_seed", LTR_FIELD(hold_out.seed)),
      Number<double>("neuron_fraction", LTR_FIELD(hold_out.neuron_fraction)),
      Number<double>("trial_fraction", LTR_FIELD(hold_out.trial_fraction)),
      Number<int>("block_trials", LTR_FIELD(hold_out.block_trials)),
      Number<int>("block_time", LTR_FIELD(hold_out.block_time)),
      Number<int>("block_neurons", LTR_FIELD(hold_out.block_neurons)),
      Number<int>("test_trials", LTR_FIELD(hold_out.test_trials)),
      Number<int>("test_time", LTR_FIELD(hold_out.test_time)),
      Number<int>("test_neurons", LTR_FIELD(hold_out.test_neurons)),
      Number<int>("guard", LTR_FIELD(hold_out.guard)),
      Choice("optimizer",
             LTR_FIELD(optimizer),
             ParseFitOptimizer,
             FitOptimizerName),
      Number<int>("max_iters", LTR_FIELD(max_iterations)),
      Number<double>("tol", LTR_FIELD(function_tolerance)),
      Number<double>("gradient_tol", LTR_FIELD(gradient_tolerance)),
      Number<double>("parameter_tol", LTR_FIELD(parameter_tolerance)),
      Number<double>("max_seconds", LTR_FIELD(max_seconds)),
      Number<int>("lbfgs_rank", LTR_FIELD(lbfgs_rank)),
      Flag("lbfgs_scaling", LTR_FIELD(lbfgs_scaling)),
      Flag("precondition_trial_factors", LTR_FIELD(precondition_trial_factors)),
      Flag("precondition_readout", LTR_FIELD(precondition_readout)),
      Number<int>("precondition_every", LTR_FIELD(precondition_every)),
      Number<int>("convergence_window", LTR_FIELD(convergence_window)),
      Number<double>("window_tolerance", LTR_FIELD(window_tolerance)),
      Number<double>("learning_rate", LTR_FIELD(learning_rate)),
      Number<double>("lr_decay", LTR_FIELD(learning_rate_decay)),
      Number<double>("adam_beta1", LTR_FIELD(adam_beta1)),
      Number<double>("adam_beta2", LTR_FIELD(adam_beta2)),
      Number<double>("adam_epsilon", LTR_FIELD(adam_epsilon)),
      Number<int>("patience", LTR_FIELD(patience)),
      Number<int>("progress_every", LTR_FIELD(progress_every)),
      Number<int>("checkpoint_every", LTR_FIELD(checkpoint_every)),
      {"checkpoint",
       [](const FitOptions& o) -> py::object {
         if (o.checkpoint_path.empty()) return py::none();
         return py::cast(o.checkpoint_path);
       },
       [](const py::handle& v, FitOptions* o) {
         if (v.is_none()) return o->checkpoint_path.clear();
         if (!py::isinstance<py::str>(v) &&
             !py::isinstance(v, py::module_::import("os").attr("PathLike")))
           throw py::type_error("checkpoint must be None or a path");
         o->checkpoint_path =
             py::str(py::module_::import("os").attr("fspath")(v));
       }},
      Choice("start",
             LTR_FIELD(initialization),
             ParseFitInitialization,
             FitInitializationName),
      Number<double>("init_ridge", LTR_FIELD(init_ridge)),
      Number<int>("init_als_iterations", LTR_FIELD(init_als_iterations)),
      Number<int>("init_em_iterations", LTR_FIELD(init_em_iterations)),
      Number<double>("init_tanh_saturation", LTR_FIELD(init_tanh_saturation)),
      Number<double>("init_x0_scale", LTR_FIELD(init_x0_scale)),
      Number<std::uint64_t>("seed", LTR_FIELD(seed)),
  };
  return table;
}

#undef LTR_FIELD

// Options the chosen model, optimiser or split would ignore (as `ltr fit`
// refuses the flags): a keyword that differs from its default then.
void RejectIgnored(const FitOptions& o) {
  const FitOptions d;
  auto reject =
      [](bool ignored, const std::string& names, const std::string& why) {
        if (ignored) throw py::value_error(names + " " + why);
      };
  const bool ltr = o.kind == WeightKind::kLowTensorRank;
  const bool adam = o.optimizer == FitOptimizer::kAdam;
  const TrialSmoothingOptions& s = o.smoothing;
  reject((s.kind != d.smoothing.kind || o.loss.l2_c != d.loss.l2_c) && !ltr,
         "smoothing and l2_c",
         "act on the trial factors of model=\"ltr\"");
  reject((s.weight != d.smoothing.weight ||
          o.smoothing_breaks_at_epochs != d.smoothing_breaks_at_epochs) &&
             s.kind == TrialSmoothing::kNone,
         "smoothing_weight and epoch_breaks",
         "need smoothing=\"second-diff\" or \"gp\"");
  reject((s.length_scale != d.smoothing.length_scale ||
          s.amplitude != d.smoothing.amplitude ||
          s.shape != d.smoothing.shape || s.jitter != d.smoothing.jitter) &&
             s.kind != TrialSmoothing::kGaussianProcess,
         "smoothing_length, _amplitude, _shape and _jitter",
         "need smoothing=\"gp\"");
  reject((o.learning_rate != d.learning_rate ||
          o.learning_rate_decay != d.learning_rate_decay ||
          o.adam_beta1 != d.adam_beta1 || o.adam_beta2 != d.adam_beta2 ||
          o.adam_epsilon != d.adam_epsilon) &&
             !adam,
         "learning_rate, lr_decay and adam_*",
         "need optimizer=\"adam\"");
  reject((o.function_tolerance != d.function_tolerance ||
          o.gradient_tolerance != d.gradient_tolerance ||
          o.parameter_tolerance != d.parameter_tolerance ||
          o.lbfgs_rank != d.lbfgs_rank || o.lbfgs_scaling != d.lbfgs_scaling ||
          o.precondition_trial_factors != d.precondition_trial_factors ||
          o.precondition_readout != d.precondition_readout ||
          o.precondition_every != d.precondition_every) &&
             adam,
         "tol, gradient_tol, parameter_tol, lbfgs_rank, lbfgs_scaling and "
         "precondition_*",
         "are L-BFGS's (Adam runs max_iters)");
  const HoldOutOptions& h = o.hold_out;
  reject((h.neuron_fraction != d.hold_out.neuron_fraction ||
          h.trial_fraction != d.hold_out.trial_fraction) &&
             h.scheme != HoldOut::kNeurons,
         "neuron_fraction and trial_fraction",
         "need held_out=\"neurons\"");
  reject((h.block_trials != d.hold_out.block_trials ||
          h.block_time != d.hold_out.block_time ||
          h.block_neurons != d.hold_out.block_neurons ||
          h.test_trials != d.hold_out.test_trials ||
          h.test_time != d.hold_out.test_time ||
          h.test_neurons != d.hold_out.test_neurons ||
          h.guard != d.hold_out.guard) &&
             h.scheme != HoldOut::kBlocks,
         "block_*, test_trials, test_time, test_neurons and guard",
         "need held_out=\"blocks\"");
  reject(h.seed != d.hold_out.seed && h.scheme == HoldOut::kNone,
         "held_out_seed",
         "needs held-out data (held_out=\"blocks\" or "
         "\"neurons\")");
  reject(o.loss.l2_readout != d.loss.l2_readout &&
             o.readout == ReadoutKind::kIdentity,
         "l2_readout",
         "needs a learned readout (readout=\"free\" or "
         "\"orthonormal\")");
  reject(o.checkpoint_every > 0 && o.checkpoint_path.empty(),
         "checkpoint_every",
         "needs checkpoint=PATH (where the fit goes)");
  reject(o.loss.poisson_rate_floor != d.loss.poisson_rate_floor &&
             o.loss.loss != RnnLoss::kPoisson,
         "poisson_rate_floor",
         "needs loss=\"poisson\"");
}

// The parameters of a warm start: an ltr.RnnFit or a model file's path.
RnnParameters InitialParameters(const py::object& init) {
  if (py::isinstance<FitObject>(init))
    return init.cast<const FitObject&>().summary.model.parameters;
  if (py::isinstance<py::str>(init) ||
      py::isinstance(init, py::module_::import("os").attr("PathLike")))
    return ReadModel(py::str(py::module_::import("os").attr("fspath")(init)))
        .parameters;
  throw py::type_error(
      "init must be an ltr.RnnFit or a model file's path, not " +
      TypeName(init));
}

}  // namespace

py::dict FitDefaults() {
  const FitOptions defaults;
  py::dict d;
  for (const Keyword& k : Keywords()) d[k.name] = k.get(defaults);
  return d;
}

FitOptions FitOptionsFromKeywords(const py::dict& keywords,
                                  const py::object& rank,
                                  bool rank_required) {
  FitOptions o;
  size_t used = 0;
  for (const Keyword& k : Keywords())
    if (keywords.contains(k.name)) {
      k.set(keywords[k.name], &o);
      ++used;
    }
  if (used != keywords.size())
    for (const auto& item : keywords) {
      const std::string name = py::str(item.first);
      bool known = false;
      for (const Keyword& k : Keywords()) known = known || name == k.name;
      if (!known)
        throw py::type_error("unexpected keyword argument '" + name + "'");
    }
  if (o.kind == WeightKind::kFull) {
    if (!rank.is_none())
      throw py::value_error(
          "rank needs model=\"lowrank\" or \"ltr\" (a full model has no rank)");
  } else if (rank.is_none()) {
    if (rank_required)
      throw py::value_error("give the rank (rank=R) of model=\"" +
                            WeightKindName(o.kind) + "\"");
  } else {
    Number<int>(
        "rank", [](FitOptions & f) -> auto& { return f.rank; })
        .set(rank, &o);
  }
  RejectIgnored(o);
  return o;
}

void SetFitData(const py::object& test_mask,
                const py::object& init,
                const py::object& base_weights,
                const Recording& recording,
                FitOptions* options) {
  const FitOptions d;
  if (!test_mask.is_none()) {
    const HoldOutOptions& h = options->hold_out;
    if (h.scheme != d.hold_out.scheme || h.seed != d.hold_out.seed ||
        h.neuron_fraction != d.hold_out.neuron_fraction ||
        h.trial_fraction != d.hold_out.trial_fraction)
      throw py::value_error(
          "test_mask gives the held-out entries; drop held_out, "
          "held_out_seed, neuron_fraction and trial_fraction");
    options->hold_out.scheme = HoldOut::kGiven;
    options->hold_out.test_mask =
        ToMask3(test_mask, recording.activity.dims(), "test_mask");
  }
  if (!init.is_none()) {
    if (options->initialization != d.initialization)
      throw py::value_error(
          "start is replaced by init (the fit starts from the given model)");
    options->initial_parameters = InitialParameters(init);
  }
  if (!base_weights.is_none())
    options->base_weights = ToMatrix(base_weights, "base_weights");
}

}  // namespace ltr::python
