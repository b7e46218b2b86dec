// ltr.load: any ltr output file into the Python objects the functions that
// make it return, by what the file holds (the kinds `ltr plot` detects).
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bindings.h"
#include "ltr/jobs/plot.h"

namespace ltr::python {

namespace py = pybind11;

namespace {

using Loader = py::object (*)(const std::string&);

struct Kind {
  const char* name;
  Loader load;
};

// In the order a file holding several is read by default: a fit file also
// holds its recording's shape, a recording over learning its weights.
const std::vector<Kind>& Kinds() {
  static const std::vector<Kind> kinds = {{"comparison", &LoadPipelineSummary},
                                          {"scores", &LoadPipelineScores},
                                          {"decomposition", &LoadDecomposition},
                                          {"model", &LoadFit},
                                          {"analysis", &LoadAnalysis},
                                          {"bounds", &LoadBounds},
                                          {"theory", &LoadLinearTheory},
                                          {"recording", &LoadRecording},
                                          {"trajectory", &LoadTrajectory}};
  return kinds;
}

std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : ", ") + w;
  return s;
}

py::object Load(const std::string& path, const std::string& kind) {
  const std::vector<std::string> held = DetectPlotKinds(path);
  if (held.empty())
    throw py::value_error("'" + path +
                          "' is not an ltr output (no dataset of "
                          "any layout in docs/formats.md)");
  for (const Kind& k : Kinds()) {
    const bool present =
        std::find(held.begin(), held.end(), k.name) != held.end();
    if (present && (kind.empty() || kind == k.name)) return k.load(path);
  }
  throw py::value_error("'" + path + "' holds no " + kind +
                        " (it holds: " + Join(held) + ")");
}

}  // namespace

void BindFiles(py::module_& m) {
  std::vector<std::string> names;
  for (const Kind& k : Kinds()) names.push_back(k.name);
  m.def("load",
        &Load,
        ("Reads an ltr output file (any command's, or an object's .save) into "
         "the object the function that makes it returns.\n\n"
         "kind: \"\" (the file's main content) or one of " +
         Join(names) +
         ", for a file that holds several (ltr.file_kinds lists them).\n"
         "Raises OSError if the file cannot be read, ValueError if it holds "
         "no ltr layout or not `kind`.")
            .c_str(),
        py::arg("path"),
        py::kw_only(),
        py::arg("kind") = "");
  m.def("file_kinds",
        &DetectPlotKinds,
        "The kinds of ltr output a file holds, as ltr.load(kind=...) names "
        "them.",
        py::arg("path"));
}

}  // namespace ltr::python
