// One Bind function per library area, and the readers ltr.load dispatches
// to; module.cpp calls the Bind functions.
#ifndef LTR_PYTHON_BINDINGS_H_
#define LTR_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>

#include <string>

namespace ltr::python {

// Library errors as Python exceptions: ltr::FileError -> OSError, every
// other ltr::Error -> ValueError, with the library's one-line message.
void RegisterErrors(pybind11::module_& m);

void BindPipeline(pybind11::module_& m);
void BindImport(pybind11::module_& m);
void BindFiles(pybind11::module_& m);

// Each reads one layout of docs/formats.md into its Python object.
pybind11::object LoadPipelineSummary(const std::string& path);
pybind11::object LoadPipelineScores(const std::string& path);

// Fitting RNNs (fit.cpp, fit_sweep.cpp) and recordings (recording.cpp).
void BindFit(pybind11::module_& m);
void BindRecording(pybind11::module_& m);
// For ltr.load: a fit file as ltr.RnnFit (a model file without /fit too),
// a rank sweep as ltr.RankSweep; a recording as ltr.Recording.
pybind11::object LoadFit(const std::string& path);
pybind11::object LoadRecording(const std::string& path);

// Choosing a rank (decompose_rank.cpp, decompose_diag.cpp): rank_ensemble,
// cross_validate, align, factor_match_score, corcondia; decomposition files
// (decompose_files.cpp): load_decomposition, save_cp.
void BindRankSelection(pybind11::module_& m);
void BindFitComparison(pybind11::module_& m);
void BindDecompositionFiles(pybind11::module_& m);
// Any `ltr decompose` output as an ltr.Decomposition (its /cp, /tucker,
// /ensemble and /crossval parts).
pybind11::object LoadDecomposition(const std::string& path);

// ltr.train and ltr.Trajectory (train*.cpp); ltr.analyze, ltr.bounds,
// ltr.bounds_sweep, ltr.theory_linear and their results (theory*.cpp).
void BindTrain(pybind11::module_& m);
void BindTheory(pybind11::module_& m);
// The CLI's outputs read back with the formats readers, for ltr.load:
// a learning trajectory (ltr train, ltr synth --kind trajectory), an
// analysis (ltr analyze), a bounds table (ltr bounds), a linear-theory
// table (ltr theory linear). Raise OSError/ValueError as the readers do.
pybind11::object LoadTrajectory(const std::string& path);
pybind11::object LoadAnalysis(const std::string& path);
pybind11::object LoadBounds(const std::string& path);
pybind11::object LoadLinearTheory(const std::string& path);
// decompose_cp.cpp: parafac, non_negative_parafac_hals, cp_opt, cp_to_tensor.
void BindDecomposeCp(pybind11::module_& m);
// decompose_tucker.cpp: tucker, tucker_to_tensor.
void BindDecomposeTucker(pybind11::module_& m);

}  // namespace ltr::python

#endif  // LTR_PYTHON_BINDINGS_H_
