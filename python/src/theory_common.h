// The result objects of ltr.analyze, ltr.bounds / ltr.bounds_sweep and
// ltr.theory_linear (theory_results.cpp binds them, theory.cpp makes them).
#ifndef LTR_PYTHON_THEORY_COMMON_H_
#define LTR_PYTHON_THEORY_COMMON_H_

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

#include "ltr/formats/table_file.h"
#include "ltr/theory/analyze.h"
#include "ltr/theory/bounds.h"
#include "ltr/theory/theory.h"

namespace ltr::python {

namespace py = pybind11;

// ltr.Analysis; `source`: the trajectory file analysed ("" if in memory).
struct AnalysisObject {
  TrajectoryAnalysis analysis;
  std::string source;
};

// ltr.BoundsTable: the table as written and read; `cases` the summaries of
// a computed table (empty when read from a file).
struct BoundsObject {
  BoundsTableFile file;
  std::vector<BoundsSummary> cases;
  std::string source;
};

// ltr.LinearTheoryTable: the table; `summary` when computed here.
struct LinearTheoryObject {
  LinearTheoryFile file;
  std::optional<LinearTheorySummary> summary;
};

void BindTheoryResults(py::module_& m);

}  // namespace ltr::python

#endif  // LTR_PYTHON_THEORY_COMMON_H_
