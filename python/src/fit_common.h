// What the fitting bindings share (fit.cpp, fit_options.cpp, fit_sweep.cpp,
// recording.cpp): a recording from numpy arguments, the Python objects of a
// recording, a fit and a sweep, and the FitOptions built from keywords.
#ifndef LTR_PYTHON_FIT_COMMON_H_
#define LTR_PYTHON_FIT_COMMON_H_

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "ltr/fit/fit.h"
#include "ltr/formats/recording.h"

namespace ltr::python {

namespace py = pybind11;

// ltr.Recording: a recording and the file it was read from ("" when made
// from arrays), which its save() refuses to overwrite.
struct RecordingObject {
  Recording recording;
  std::string file;
};

// ltr.RnnFit: one fit (or a model read from a file), the warnings of its
// data and the file of the recording it was fitted to ("" for arrays).
struct FitObject {
  FitSummary summary;
  std::vector<std::string> warnings;
  std::string input;
  bool has_statistics = true;  // false: a model file without /fit
};

// ltr.RankSweep.
struct SweepObject {
  RankSweepSummary summary;
  std::vector<std::string> warnings;
  std::string input;
};

// The recording of the data arguments: `activity` an ltr.Recording (then
// the others must be None) or an array whose stored axis order `axes` names
// (RecordingAxes); inputs and mask in the same order, condition and epoch
// one int per trial. *file: the recording's file, if it came from one.
Recording RecordingFromArguments(const py::object& activity,
                                 const py::object& inputs,
                                 const py::object& mask,
                                 const py::object& condition,
                                 const py::object& epoch,
                                 const std::string& axes,
                                 std::string* file);

// One integer >= 0 per trial (`name` in messages).
std::vector<std::int64_t> TrialLabels(const py::object& labels,
                                      Index trials,
                                      const std::string& name);

// `array` (a 3-D array-like stored in the order `axes` names) as a view in
// trial,time,neuron order; anything else is returned as it is.
py::object InCanonicalOrder(const py::object& array, const std::string& axes);

// FitOptions from the keyword dict the Python wrapper passes (every name of
// FitDefaults()); unknown names are a TypeError, bad values a ValueError,
// options the chosen model or optimiser would ignore a ValueError (as the
// command line's). rank: None (required unless model="full").
FitOptions FitOptionsFromKeywords(const py::dict& keywords,
                                  const py::object& rank,
                                  bool rank_required);
// The keyword names with the library's defaults (FitOptions{}).
py::dict FitDefaults();
// The fit options that need data: a given split, a warm start, a base.
void SetFitData(const py::object& test_mask,
                const py::object& init,
                const py::object& base_weights,
                const Recording& recording,
                FitOptions* options);

// Python objects (the classes are registered by BindFit / BindRecording).
// Adds the library's held-out warning (ltr/fit/metrics.h) for a finished
// fit with held-out entries that predicts them no better than the neurons'
// training means, as `ltr fit` prints it; nothing for a failed fit.
void AddHeldOutWarning(const FitSummary& fit,
                       const Recording& recording,
                       std::vector<std::string>* warnings);

py::object MakeFit(FitObject fit);
py::object MakeSweep(SweepObject sweep);
py::object MakeRecording(RecordingObject recording);

// An array view of `m` owned by `owner` (read-only; None when m is empty).
py::object MatrixView(const Eigen::MatrixXd& m, const py::handle& owner);
py::object VectorView(const Eigen::VectorXd& v, const py::handle& owner);

void BindSweep(py::module_& m);  // fit_sweep.cpp, called by BindFit

}  // namespace ltr::python

#endif  // LTR_PYTHON_FIT_COMMON_H_
