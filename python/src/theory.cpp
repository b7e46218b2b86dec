// ltr.analyze, ltr.bounds, ltr.bounds_sweep and ltr.theory_linear: the
// theory module's entry points, as `ltr analyze`, `ltr bounds` and
// `ltr theory linear` run them.
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "theory_common.h"
#include "train_common.h"

namespace ltr::python {

namespace {

template <typename Options>
void Validate(const Options& o) {
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
}

AnalysisObject Analyze(const py::object& trajectory,
                       AnalyzeOptions o,
                       const py::object& threads,
                       const py::object& progress) {
  std::string path;
  const TrajectoryObject* t =
      TrajectoryArgument(trajectory, "trajectory", &path);
  Call call(threads, progress);
  o.run.num_threads = call.run().num_threads;
  Validate(o);
  AnalysisObject a;
  a.source = path;
  a.analysis = call([&](const RunContext& run) {
    o.run = run;
    if (t != nullptr) return AnalyzeTrajectory(o, t->record, t->weights);
    io::CheckReadable(path);
    return AnalyzeTrajectory(o, path);
  });
  return a;
}

// A case is named by its file, as `ltr bounds` names it.
std::string CaseName(const TrajectoryObject& t) {
  return t.record.path.empty() ? "trajectory" : t.record.path;
}

// The bounds' CP options, rejecting those an estimate_cp_rank=False run
// would ignore.
void SetCpOptions(BoundsOptions* b,
                  bool estimate,
                  int max_rank,
                  double error,
                  int restarts,
                  std::uint64_t seed) {
  const CpRankOptions d;
  if (!estimate && (max_rank != d.max_rank || error != d.relative_error ||
                    restarts != d.restarts))
    throw py::value_error(
        "cp_max_rank, cp_error and cp_restarts need estimate_cp_rank=True "
        "(they would be "
        "ignored)");
  b->estimate_cp_rank = estimate;
  b->cp.max_rank = max_rank;
  b->cp.relative_error = error;
  b->cp.restarts = restarts;
  b->cp.seed = seed;
}

BoundsObject Bounds(const py::object& trajectory,
                    BoundsOptions b,
                    const py::object& threads,
                    const py::object& progress) {
  std::string path;
  const TrajectoryObject* t =
      TrajectoryArgument(trajectory, "trajectory", &path);
  Call call(threads, progress);
  b.run.num_threads = call.run().num_threads;
  Validate(b);
  BoundsObject result;
  result.source = path;
  result.cases.push_back(call([&](const RunContext& run) {
    b.run = run;
    if (t != nullptr)
      return EvaluateBounds(b,
                            ToLearningRun(t->record, t->weights, CaseName(*t)));
    io::CheckReadable(path);
    return EvaluateBounds(b, ReadLearningRun(path));
  }));
  result.file = MakeBoundsTable(b, result.cases);
  return result;
}

// A list or tuple argument (not a str); TypeError naming it otherwise.
py::sequence Sequence(const py::handle& object, const char* argument) {
  if (py::isinstance<py::str>(object) || !py::isinstance<py::sequence>(object))
    throw py::type_error(std::string(argument) + " must be a list");
  return py::reinterpret_borrow<py::sequence>(object);
}

bool IsInt(const py::handle& x) {
  return py::isinstance<py::int_>(x) && !py::isinstance<py::bool_>(x);
}

// A list of names parsed by the library's parser (its error lists the
// choices).
template <typename T, typename Parse>
std::vector<T> ParseList(const py::handle& names,
                         const char* argument,
                         Parse parse) {
  std::vector<T> out;
  for (const py::handle& name : Sequence(names, argument))
    out.push_back(parse(py::str(name).cast<std::string>()));
  return out;
}

BoundsObject BoundsSweep(BoundsSweepOptions s,
                         const py::object& dims,
                         const py::object& optimizers,
                         const py::object& random_w0,
                         const py::object& nonlinearities,
                         const py::object& threads,
                         const py::object& progress) {
  s.dims.clear();
  for (const py::handle& pair : Sequence(dims, "dims")) {
    const py::sequence p = Sequence(pair, "dims entries");
    if (p.size() != 2 || !IsInt(p[0]) || !IsInt(p[1]))
      throw py::type_error("dims must be a list of (N_in, N_out) int pairs");
    s.dims.emplace_back(p[0].cast<int>(), p[1].cast<int>());
  }
  s.optimizers = ParseList<Optimizer>(optimizers, "optimizers", ParseOptimizer);
  s.nonlinearities = ParseList<Nonlinearity>(
      nonlinearities, "nonlinearities", ParseNonlinearity);
  s.random_w0.clear();
  for (const py::handle& r : Sequence(random_w0, "random_w0")) {
    if (!py::isinstance<py::bool_>(r))
      throw py::type_error("random_w0 must be a list of True/False");
    s.random_w0.push_back(r.cast<bool>());
  }
  Call call(threads, progress);
  s.run.num_threads = s.bounds.run.num_threads = call.run().num_threads;
  Validate(s.bounds);
  Validate(s);
  BoundsObject result;
  result.cases = call([&](const RunContext& run) {
    s.run = s.bounds.run = run;
    return RunBoundsSweep(s);
  });
  result.file = MakeBoundsTable(s.bounds, result.cases);
  return result;
}

LinearTheoryObject TheoryLinear(LinearTheoryOptions o,
                                const py::object& gains,
                                const py::object& threads,
                                const py::object& progress) {
  if (py::isinstance<py::float_>(gains) || py::isinstance<py::int_>(gains)) {
    o.gains = {gains.cast<double>()};
  } else {
    const Vector g = ToVector(gains, "gains");
    o.gains.assign(g.data(), g.data() + g.size());
  }
  Call call(threads, progress);
  o.run.num_threads = call.run().num_threads;
  Validate(o);
  LinearTheoryObject result;
  result.summary = call([&](const RunContext& run) {
    o.run = run;
    return RunLinearTheory(o);
  });
  result.file = MakeLinearTheoryTable(o, *result.summary);
  return result;
}

py::list DefaultDims() {
  py::list out;
  for (const auto& [in, out_dim] : BoundsSweepOptions().dims)
    out.append(py::make_tuple(in, out_dim));
  return out;
}

py::list DefaultNames(bool optimizers) {
  py::list out;
  const BoundsSweepOptions d;
  if (optimizers)
    for (Optimizer o : d.optimizers) out.append(OptimizerName(o));
  else
    for (Nonlinearity f : d.nonlinearities) out.append(NonlinearityName(f));
  return out;
}

py::list DefaultRandomW0() {
  py::list out;
  for (bool r : BoundsSweepOptions().random_w0) out.append(py::bool_(r));
  return out;
}

}  // namespace

void BindAnalyze(py::module_& m);
void BindBoundsFunctions(py::module_& m);
void BindBoundsSweep(py::module_& m);

void BindTheory(py::module_& m) {
  BindTheoryResults(m);
  BindAnalyze(m);
  BindBoundsFunctions(m);
  BindBoundsSweep(m);
  // The loaders, private: ltr.load dispatches to them by the file's content.
  m.def("_load_trajectory",
        &LoadTrajectory,
        py::arg("path"),
        "Reads a trajectory file.");
  m.def("_load_analysis",
        &LoadAnalysis,
        py::arg("path"),
        "Reads an ltr analyze file.");
  m.def("_load_bounds",
        &LoadBounds,
        py::arg("path"),
        "Reads an ltr bounds file.");
  m.def("_load_linear_theory",
        &LoadLinearTheory,
        py::arg("path"),
        "Reads an ltr theory linear file.");
  const LinearTheoryOptions d;
  m.def(
      "theory_linear",
      [](int units,
         const py::object& gains,
         double z_hat,
         int seeds,
         double eta0,
         double stop_loss_ratio,
         int max_steps,
         double convergence_threshold,
         double early_tau_tilde,
         bool antithetic,
         std::uint64_t seed,
         const py::object& threads,
         const py::object& progress) {
        LinearTheoryOptions o;
        o.units = units;
        o.z_hat = z_hat;
        o.seeds = seeds;
        o.eta0 = eta0;
        o.stop_loss_ratio = stop_loss_ratio;
        o.max_steps = max_steps;
        o.convergence_threshold = convergence_threshold;
        o.early_tau_tilde = early_tau_tilde;
        o.antithetic = antithetic;
        o.seed = seed;
        return TheoryLinear(o, gains, threads, progress);
      },
      R"(The linear theory's predictions beside gradient descent (docs/theory.md; Schuessler et al., NeurIPS 2020).

Trains the fixed point z = w^T (I - W)^-1 m of a linear network by gradient
descent with eta = eta0 (1 - g^2)^2, `seeds` networks per g, and tabulates per
g the large-N predictions beside the seed means (docs/theory.md): the
convergence time and mean gradient norm relative to the first g, ||dW|| and
its ratio to the first g's, the alignment of dW's singular vectors with w and
m, the shuffle loss over z_hat^2 / 2, and at tau~ = early_tau_tilde the output
z, s1 (third order), s2 and dW's largest eigenvalue (leading order). As
`ltr theory linear --units N --g a,b,... -o LIN.h5` (whose --g default is
0:0.1:0.9; the library's, used here, is g = 0 alone).

Args:
  units: N.
  gains: a g or a list of g values, each in [0, 1).
  z_hat: the target output.
  seeds: networks per g.
  eta0: eta = eta0 (1 - g^2)^2; 0 = Schuessler et al.'s 0.015 / 0.009 / 0.003 for z_hat
    0.5 / 1 / 2.
  stop_loss_ratio, max_steps: training stops below stop_loss_ratio L(0) or
    after max_steps.
  convergence_threshold: convergence is the first step below this L(0).
  early_tau_tilde: where z, s1, s2 and the eigenvalue are measured.
  antithetic: also run every network with -m, and average.
  seed: the seed of the networks.
  threads: threads over the networks (None: every usable core).
  progress: None, False or a callable (the library reports no lines here).

Returns:
  ltr.LinearTheoryTable: table (gains, columns), columns, column(name) /
  [name], the options (units, z_hat, eta0, seeds, antithetic), runs (every
  network's LinearRun); .save(path) writes what `ltr theory linear -o` writes.

Raises:
  ValueError: invalid options (units < 2, g outside [0, 1), ...).)",
      py::kw_only(),
      py::arg("units") = d.units,
      py::arg("gains") = d.gains.front(),
      py::arg("z_hat") = d.z_hat,
      py::arg("seeds") = d.seeds,
      py::arg("eta0") = d.eta0,
      py::arg("stop_loss_ratio") = d.stop_loss_ratio,
      py::arg("max_steps") = d.max_steps,
      py::arg("convergence_threshold") = d.convergence_threshold,
      py::arg("early_tau_tilde") = d.early_tau_tilde,
      py::arg("antithetic") = d.antithetic,
      py::arg("seed") = d.seed,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

void BindAnalyze(py::module_& m) {
  const AnalyzeOptions d;
  m.def(
      "analyze",
      [](const py::object& trajectory,
         int test_batch,
         int max_truncation_rank,
         double functional_rank_threshold,
         double convergence_threshold,
         int cp_max_rank,
         int cp_restarts,
         int cp_max_iterations,
         bool fresh_test_batches,
         int overlap_depth,
         int overlap_vectors,
         std::uint64_t seed,
         const py::object& threads,
         const py::object& progress) {
        AnalyzeOptions o;
        o.fresh_test_batches = fresh_test_batches;
        o.overlap_depth = overlap_depth;
        o.overlap_vectors = overlap_vectors;
        o.test_batch = test_batch;
        o.max_truncation_rank = max_truncation_rank;
        o.functional_rank_threshold = functional_rank_threshold;
        o.convergence_threshold = convergence_threshold;
        o.cp_max_rank = cp_max_rank;
        o.cp_restarts = cp_restarts;
        o.cp_max_iterations = cp_max_iterations;
        o.seed = seed;
        return Analyze(trajectory, o, threads, progress);
      },
      R"(The rank analyses of a learning trajectory (Schuessler et al., NeurIPS 2020), as `ltr analyze TRAJ.h5 -o A.h5`.

Singular values of dW_k = W_k - W_0 over training, the test loss of rank-R
truncations of the final dW and the functional rank, the convergence step,
||dW||_F, the shuffle test, the overlap of dW's leading singular vectors with
the input and output vectors propagated through W0 (and a shuffled W0), and CP
fits of the update tensor [W_k - W_0] (docs/train.md, docs/theory.md).

Args:
  trajectory: an ltr.Trajectory (ltr.train, ltr.load) or the path of a
    trajectory file written by `ltr train`.
  test_batch: trials of the fixed test batch (drawn from Rng(seed)).
  max_truncation_rank: truncation ranks R = 0 .. this (capped at N).
  functional_rank_threshold: smallest R with L(W_R) < this L(W_{R=0}).
  convergence_threshold: first step whose loss is below this loss(0) (the
    CLI's one --threshold sets both).
  cp_max_rank: CP ranks 1 .. this of the update tensor (0 skips it).
  cp_restarts, cp_max_iterations: CP-ALS fits per rank and their iterations.
  fresh_test_batches: S20's protocol, a new test batch per truncation rank
    and for the shuffle test.
  overlap_depth: powers W0^k, k < this, in the propagated input/output
    subspace; overlap_vectors: leading singular vectors of dW compared.
  seed: seed of the test batch, the W0 permutation and the CP starts.
  threads: threads of the test losses and CP fits (None: every usable core).
  progress: None, False or a callable.

Returns:
  ltr.Analysis with the fields of the library's TrajectoryAnalysis
  (singular_values, truncation_ranks, truncation_loss, functional_rank,
  convergence_step, delta_w_norm, ..., cp_ranks, cp_relative_error);
  .save(path) writes what `ltr analyze -o` writes.

Raises:
  ValueError: invalid options, or a trajectory without what `ltr train`
    writes. OSError: a file that cannot be read.)",
      py::arg("trajectory"),
      py::kw_only(),
      py::arg("test_batch") = d.test_batch,
      py::arg("max_truncation_rank") = d.max_truncation_rank,
      py::arg("functional_rank_threshold") = d.functional_rank_threshold,
      py::arg("convergence_threshold") = d.convergence_threshold,
      py::arg("cp_max_rank") = d.cp_max_rank,
      py::arg("cp_restarts") = d.cp_restarts,
      py::arg("cp_max_iterations") = d.cp_max_iterations,
      py::arg("fresh_test_batches") = d.fresh_test_batches,
      py::arg("overlap_depth") = d.overlap_depth,
      py::arg("overlap_vectors") = d.overlap_vectors,
      py::arg("seed") = d.seed,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

}  // namespace ltr::python

namespace ltr::python {

void BindBoundsFunctions(py::module_& m) {
  const BoundsOptions d;
  m.def(
      "bounds",
      [](const py::object& trajectory,
         double tol,
         double subspace_tolerance,
         bool estimate_cp_rank,
         int cp_max_rank,
         double cp_error,
         int cp_restarts,
         std::uint64_t seed,
         const py::object& threads,
         const py::object& progress) {
        BoundsOptions b;
        b.rank.tolerance = tol;
        b.subspace_tolerance = subspace_tolerance;
        SetCpOptions(
            &b, estimate_cp_rank, cp_max_rank, cp_error, cp_restarts, seed);
        return Bounds(trajectory, b, threads, progress);
      },
      R"(The rank bounds of learning checked on a trajectory (docs/theory.md), as `ltr bounds TRAJ.h5`.

Prop 1 (linear RNN, W0 in span[W_in, W_out], an optimiser linear in
gradients: rank W_k <= d, multilinear rank of [W_1..W_K] <= (d, d,
min(K, d^2)), CP rank <= d^2), Prop 2 (rank of the first update <=
min(T N_in, T N_out, N)) and the general bound rank(W_K - W_0) <= min(N, K P T),
each with whether its hypotheses hold and the measured rank (docs/theory.md).

Args:
  trajectory: an ltr.Trajectory or the path of a file written by `ltr train`.
  tol: relative tolerance of every numerical rank (--tol).
  subspace_tolerance: W0 counts as inside S0 (x) S0 below this.
  estimate_cp_rank: estimate the CP rank of the update stack (the CLI's
    --cp-max-rank 0 turns it off).
  cp_max_rank: largest CP rank tried (0 = up to the size; the CLI's default
    is 12, the library's, used here, 8).
  cp_error: relative error a CP fit must reach to count (--cp-error).
  cp_restarts: CP-ALS fits per rank.
  seed: seed of the CP fits (--seed).
  threads: threads of the rank estimates (None: every usable core).
  progress: None, False or a callable.

Returns:
  ltr.BoundsTable: table (rows, columns) with columns and column(name) /
  [name], case_names, bounds, cases (the BoundsSummary with its rows);
  .save(path) writes what `ltr bounds -o` writes.

Raises:
  ValueError: invalid options or a trajectory without what `ltr train`
    writes; OSError: a file that cannot be read.)",
      py::arg("trajectory"),
      py::kw_only(),
      py::arg("tol") = d.rank.tolerance,
      py::arg("subspace_tolerance") = d.subspace_tolerance,
      py::arg("estimate_cp_rank") = d.estimate_cp_rank,
      py::arg("cp_max_rank") = d.cp.max_rank,
      py::arg("cp_error") = d.cp.relative_error,
      py::arg("cp_restarts") = d.cp.restarts,
      py::arg("seed") = d.cp.seed,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

void BindBoundsSweep(py::module_& m) {
  const BoundsSweepOptions s;
  m.def(
      "bounds_sweep",
      [](const py::object& dims,
         const py::object& optimizers,
         const py::object& random_w0,
         const py::object& nonlinearities,
         int units,
         int horizon,
         int batch,
         int steps,
         double g,
         double alpha,
         double sgd_learning_rate,
         double adam_learning_rate,
         double tol,
         bool estimate_cp_rank,
         int cp_max_rank,
         double cp_error,
         int cp_restarts,
         std::uint64_t seed,
         const py::object& threads,
         const py::object& progress) {
        BoundsSweepOptions o;
        o.units = units;
        o.horizon = horizon;
        o.batch = batch;
        o.steps = steps;
        o.g = g;
        o.alpha = alpha;
        o.sgd_learning_rate = sgd_learning_rate;
        o.adam_learning_rate = adam_learning_rate;
        o.seed = seed;
        o.bounds.rank.tolerance = tol;
        SetCpOptions(&o.bounds,
                     estimate_cp_rank,
                     cp_max_rank,
                     cp_error,
                     cp_restarts,
                     seed);
        return BoundsSweep(
            o, dims, optimizers, random_w0, nonlinearities, threads, progress);
      },
      R"(The synthetic sweep of docs/theory.md, as `ltr bounds --sweep`.

Trains every case (N_in, N_out) x optimizer x (W0 = 0 or g J) x
nonlinearity by full-batch gradient descent or Adam on a fixed random
regression task and checks the rank bounds on each (see ltr.bounds).

Args:
  dims: the (N_in, N_out) pairs. optimizers: 'sgd' / 'adam' names.
  random_w0: False (W0 = 0) and/or True (W0 = g J).
  nonlinearities: 'identity' / 'tanh' ... names.
  units, horizon, batch, steps: N, T, P and the optimiser steps K.
  g, alpha: W0's gain and dt / tau.
  sgd_learning_rate, adam_learning_rate: the step sizes.
  tol, estimate_cp_rank, cp_max_rank, cp_error, cp_restarts: as in ltr.bounds.
  seed: seed of the cases and the CP fits.
  threads: threads of the training and the bounds (None: every usable core).
  progress: None, False or a callable.

Returns:
  ltr.BoundsTable with one case per combination.)",
      py::kw_only(),
      py::arg("dims") = DefaultDims(),
      py::arg("optimizers") = DefaultNames(true),
      py::arg("random_w0") = DefaultRandomW0(),
      py::arg("nonlinearities") = DefaultNames(false),
      py::arg("units") = s.units,
      py::arg("horizon") = s.horizon,
      py::arg("batch") = s.batch,
      py::arg("steps") = s.steps,
      py::arg("g") = s.g,
      py::arg("alpha") = s.alpha,
      py::arg("sgd_learning_rate") = s.sgd_learning_rate,
      py::arg("adam_learning_rate") = s.adam_learning_rate,
      py::arg("tol") = s.bounds.rank.tolerance,
      py::arg("estimate_cp_rank") = s.bounds.estimate_cp_rank,
      py::arg("cp_max_rank") = s.bounds.cp.max_rank,
      py::arg("cp_error") = s.bounds.cp.relative_error,
      py::arg("cp_restarts") = s.bounds.cp.restarts,
      py::arg("seed") = s.seed,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

}  // namespace ltr::python
