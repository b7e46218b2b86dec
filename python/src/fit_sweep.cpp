// ltr.sweep_ranks (through python/ltr/_fit.py) over ltr::SweepRanks, the
// held-out rank sweep, and ltr.RankSweep, its table.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "arrays.h"
#include "call.h"
#include "fit_common.h"
#include "ltr/core/error.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/io.h"

namespace ltr::python {

namespace {

std::vector<int> Ranks(const py::object& ranks) {
  if (py::isinstance<py::str>(ranks) || !py::isinstance<py::iterable>(ranks))
    throw py::type_error("ranks must be a list of ints, e.g. range(1, 7)");
  std::vector<int> out;
  for (const py::handle& r : ranks) {
    if (py::isinstance<py::bool_>(r) || !py::isinstance<py::int_>(r))
      throw py::type_error("ranks must be ints, found " +
                           std::string(py::str(py::type::of(r))));
    out.push_back(r.cast<int>());
  }
  return out;
}

py::object SweepBinding(const py::object& activity,
                        const py::object& ranks,
                        int seeds,
                        double relative_tolerance,
                        bool warm_start,
                        const py::object& mask,
                        const py::object& test_mask,
                        const py::object& inputs,
                        const py::object& condition,
                        const py::object& epoch,
                        const py::object& init,
                        const py::object& base_weights,
                        const std::string& axes,
                        const py::dict& keywords,
                        const py::object& threads,
                        const py::object& progress) {
  SweepObject sweep;
  const Recording recording = RecordingFromArguments(
      activity, inputs, mask, condition, epoch, axes, &sweep.input);
  RankSweepOptions o;
  o.fit = FitOptionsFromKeywords(keywords, py::none(), false);
  SetFitData(
      InCanonicalOrder(test_mask, axes), init, base_weights, recording, &o.fit);
  if (!o.fit.checkpoint_path.empty() || o.fit.checkpoint_every > 0)
    throw py::value_error(
        "a rank sweep writes no checkpoints; drop checkpoint and "
        "checkpoint_every");
  o.ranks = Ranks(ranks);
  o.seeds = seeds;
  o.relative_tolerance = relative_tolerance;
  o.warm_start = warm_start;
  if (!progress.is_none() && !py::isinstance<py::bool_>(progress) &&
      o.fit.progress_every <= 0)
    throw py::value_error(
        "progress=callable gets the sweep's lines only with progress_every=K");
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  sweep.warnings = FitWarnings(o.fit, recording);
  Call call(threads, progress);
  sweep.summary = call([&](const RunContext& run) {
    o.fit.run = run;
    return SweepRanks(o, recording);
  });
  AddHeldOutWarning(sweep.summary.best, recording, &sweep.warnings);
  return MakeSweep(std::move(sweep));
}

void Save(const SweepObject& sweep, const std::filesystem::path& file) {
  const std::string path = file.string();
  io::RefuseOutputOverInput(path, {sweep.input});
  io::OutputFile out(path, "ltr.sweep_ranks (Python)");
  WriteRankSweep(sweep.summary, &out);
  WriteFitOutputAttributes({sweep.input, "", sweep.summary.Failure()}, &out);
  out.Commit();
}

std::string Repr(const SweepObject& s) {
  std::string ranks;
  for (int r : s.summary.ranks)
    ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  std::string text = "RankSweep(ranks [" + ranks + "] x " +
                     std::to_string(s.summary.train_loss.cols()) +
                     " seeds, chosen rank " +
                     std::to_string(s.summary.chosen_rank);
  const std::string failure = s.summary.Failure();
  if (!failure.empty()) text += "; FAILED: " + failure;
  return text + ")";
}

constexpr const char* kSweepDoc =
    "A held-out rank sweep (ltr.sweep_ranks, or ltr.load of a sweep file): "
    "ranks, and per rank (rows) and seed (columns) train_loss, test_loss "
    "and test_r2; chosen_rank by the one-standard-error rule; best, the "
    "chosen rank's fit with the lowest held-out loss (an ltr.RnnFit).";

}  // namespace

py::object MakeSweep(SweepObject sweep) { return py::cast(std::move(sweep)); }

void BindSweep(py::module_& m) {
  using S = SweepObject;
  auto table = [](Eigen::MatrixXd RankSweepSummary::*field) {
    return [field](py::object self) {
      return MatrixView(self.cast<const S&>().summary.*field, self);
    };
  };
  py::class_<S>(m, "RankSweep", kSweepDoc)
      .def_property_readonly(
          "ranks",
          [](const S& s) { return FromStdVector(s.summary.ranks); },
          "the ranks fitted (rows of the tables)")
      .def_property_readonly("train_loss",
                             table(&RankSweepSummary::train_loss),
                             "(ranks, seeds) training data term")
      .def_property_readonly("test_loss",
                             table(&RankSweepSummary::test_loss),
                             "(ranks, seeds) held-out data term")
      .def_property_readonly("test_r2",
                             table(&RankSweepSummary::test_r2),
                             "(ranks, seeds) held-out R2")
      .def_property_readonly("chosen_rank",
                             [](const S& s) { return s.summary.chosen_rank; })
      .def_property_readonly(
          "best",
          [](const S& s) {
            return MakeFit({s.summary.best, s.warnings, s.input, true});
          },
          "the chosen rank's best fit (ltr.RnnFit)")
      .def_property_readonly("seconds",
                             [](const S& s) { return s.summary.seconds; })
      .def_property_readonly(
          "failure",
          [](const S& s) { return s.summary.Failure(); },
          "why the sweep must not be trusted; \"\" when it can")
      .def_readonly("warnings", &S::warnings)
      .def_readonly("input", &S::input)
      .def(
          "report",
          [](const S& s) { return s.summary.BriefReport(); },
          "The table `ltr fit --ranks` prints.")
      .def("save",
           &Save,
           py::arg("path"),
           "Writes the layout `ltr fit --ranks A:B -o` writes (the best fit "
           "and /cv; WriteRankSweep) atomically to `path`.")
      .def("__repr__", &Repr);
  m.def("_sweep_ranks",
        &SweepBinding,
        "ltr.sweep_ranks's binding (python/ltr/_fit.py gives the signature).",
        py::arg("activity"),
        py::arg("ranks"),
        py::arg("seeds"),
        py::arg("relative_tolerance"),
        py::arg("warm_start"),
        py::arg("mask"),
        py::arg("test_mask"),
        py::arg("inputs"),
        py::arg("condition"),
        py::arg("epoch"),
        py::arg("init"),
        py::arg("base_weights"),
        py::arg("axes"),
        py::arg("options"),
        py::arg("threads"),
        py::arg("progress"));
  m.def("_sweep_defaults", [] {
    const RankSweepOptions d;
    py::dict out;
    out["seeds"] = d.seeds;
    out["relative_tolerance"] = d.relative_tolerance;
    out["warm_start"] = d.warm_start;
    return out;
  });
}

}  // namespace ltr::python
