// Decomposition files in Python: LoadDecomposition reads any `ltr decompose`
// output (ltr.Decomposition with its /cp, /tucker, /ensemble and /crossval
// parts), and the objects save to the same layout through the formats
// writers (ltr/formats/decomposition_file.h), so Python and the command
// read each other's files. ltr.save_cp writes a CPTensor as a single fit.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "arrays.h"
#include "bindings.h"
#include "decompose_results.h"
#include "ltr/core/enums.h"
#include "ltr/decompose/decompose.h"
#include "ltr/formats/io.h"

namespace ltr::python {

// The failure line of an ensemble or a cross-validation read back or fitted
// (DecomposeResult::Failure).
std::string FailureOf(const EnsembleSummary& ensemble) {
  DecomposeResult result;
  result.ensemble = ensemble;
  return result.Failure();
}

std::string FailureOf(const CrossValidationSummary& cv) {
  DecomposeResult result;
  result.cross_validation = cv;
  return result.Failure();
}

namespace {

// The root attribute `command` of a file Python wrote.
constexpr const char* kCommand = "python: ltr";

std::string Axes(const ModeNames& modes) {
  return modes[0] + "," + modes[1] + "," + modes[2];
}

// A file's parts, as LoadDecomposition read them.
struct DecompositionFile {
  std::optional<CpFitResult> cp;
  std::optional<TuckerFitResult> tucker;
  std::optional<EnsembleResult> ensemble;
  std::optional<CrossValidationResult> cross_validation;
  DecomposeRecord record;  // input, dataset, failure ("" when absent)
  std::string resume_key;
};

// The method DecomposeOptions names for WriteDecomposition: the first part's.
DecompositionMethod MethodOf(const DecompositionFile& d) {
  for (const std::string* name : {d.cp ? &d.cp->method : nullptr,
                                  d.ensemble ? &d.ensemble->method : nullptr,
                                  d.tucker ? &d.tucker->method : nullptr})
    if (name && !name->empty()) return ParseMethod(*name);
  return DecompositionMethod::kCpAls;
}

ModeNames ModesOf(const DecompositionFile& d) {
  if (d.cp) return d.cp->modes;
  if (d.ensemble) return d.ensemble->modes;
  return {"mode0", "mode1", "mode2"};
}

void SaveDecomposition(const DecompositionFile& d, const std::string& path) {
  DecomposeOptions options;
  options.method = MethodOf(d);
  DecomposeResult result;
  if (d.cp) result.cp = d.cp->summary;
  if (d.tucker) result.tucker = d.tucker->summary;
  if (d.ensemble) result.ensemble = d.ensemble->summary;
  if (d.cross_validation) {
    result.cross_validation = d.cross_validation->summary;
    options.test_fraction = d.cross_validation->test_fraction;
  }
  result.resume_key = d.resume_key;
  // The recording the file names as its input is never replaced.
  io::RefuseOutputOverInput(path, {d.record.input});
  io::OutputFile out(path, kCommand);
  WriteDecomposition(options, result, Axes(ModesOf(d)), &out);
  WriteDecomposeRecord(d.record, &out);
  out.Commit();
}

DecomposeRecord ReadRecord(const std::string& file) {
  DecomposeRecord record;
  record.input = io::StringAttributeOr(file, "/", "input");
  record.dataset = io::StringAttributeOr(file, "/", "dataset");
  record.failure = io::StringAttributeOr(file, "/", "failure");
  return record;
}

// The method and mode names of an ensemble, from its first fit.
void ReadEnsembleLabels(const std::string& file, EnsembleResult* e) {
  const EnsembleSummary& s = e->summary;
  for (Index r = 0; r < s.restart.rows(); ++r)
    for (Index k = 0; k < s.restart.cols(); ++k)
      if (s.restart(r, k) >= 0) {
        const std::string group = EnsembleFitGroup(s.ranks[r], k);
        e->method = ReadCpMethod(file, group);
        e->modes = ReadModeNames(file, group);
        return;
      }
}

DecompositionFile ReadDecompositionFile(const std::string& path) {
  DecomposeResult result = ReadDecomposition(path);
  DecompositionFile d;
  if (result.cp)
    d.cp = CpFitResult{std::move(*result.cp),
                       ReadCpMethod(path, CpFitGroup()),
                       ReadModeNames(path, CpFitGroup())};
  if (result.tucker)
    d.tucker = TuckerFitResult{std::move(*result.tucker),
                               ReadCpMethod(path, "/tucker")};
  if (result.ensemble) {
    d.ensemble = EnsembleResult{};
    d.ensemble->summary = std::move(*result.ensemble);
    ReadEnsembleLabels(path, &*d.ensemble);
    d.ensemble->failure = FailureOf(d.ensemble->summary);
  }
  if (result.cross_validation) {
    d.cross_validation = CrossValidationResult{};
    d.cross_validation->summary = std::move(*result.cross_validation);
    ReadCrossValidation(path, &d.cross_validation->test_fraction);
    d.cross_validation->failure = FailureOf(d.cross_validation->summary);
  }
  if (!d.cp && !d.tucker && !d.ensemble && !d.cross_validation)
    throw py::value_error(path +
                          " holds no decomposition (/cp, /tucker, /ensemble or "
                          "/crossval of docs/formats.md)");
  d.record = ReadRecord(path);
  d.resume_key = std::move(result.resume_key);
  return d;
}

template <typename T>
py::object OrNone(const std::optional<T>& part) {
  return part ? py::cast(*part) : py::none();
}

}  // namespace

py::object ToCpFitObject(const CpFitResult& fit) {
  py::object cp = ToCPTensor(fit.summary.model);
  cp.attr("summary") = py::cast(fit.summary);
  cp.attr("method") = fit.method;
  cp.attr("modes") = py::make_tuple(fit.modes[0], fit.modes[1], fit.modes[2]);
  return cp;
}

std::optional<CpFitResult> FromCpFitObject(const py::handle& cp) {
  if (!py::hasattr(cp, "summary") ||
      !py::isinstance<CpSummary>(cp.attr("summary")))
    return std::nullopt;
  CpFitResult fit;
  fit.summary = cp.attr("summary").cast<CpSummary>();
  fit.summary.model = ToKtensor(cp, "cp");
  if (py::hasattr(cp, "method")) fit.method = py::str(cp.attr("method"));
  if (py::hasattr(cp, "modes")) fit.modes = cp.attr("modes").cast<ModeNames>();
  return fit;
}

namespace {

py::object ToTuckerFitObject(const TuckerFitResult& fit) {
  py::object tucker = ToTuckerTensor(fit.summary.model);
  tucker.attr("summary") = py::cast(fit.summary);
  tucker.attr("method") = fit.method;
  return tucker;
}

void BindDecompositionFile(py::module_& m) {
  py::class_<DecompositionFile>(
      m,
      "Decomposition",
      R"(What an `ltr decompose` output holds (LoadDecomposition, ltr.load):
`cp` (a CPTensor with .summary, .method and .modes), `tucker` (a
TuckerTensor with .summary and .method), `ensemble` (ltr.Ensemble) and
`cross_validation` (ltr.CrossValidation), None where absent; `input`,
`dataset` (what was decomposed) and `failure` (why the result must not be
trusted, '' when it can) from the root attributes.)")
      .def_property_readonly("cp",
                             [](const DecompositionFile& d) {
                               return d.cp ? ToCpFitObject(*d.cp) : py::none();
                             })
      .def_property_readonly("tucker",
                             [](const DecompositionFile& d) {
                               return d.tucker ? ToTuckerFitObject(*d.tucker)
                                               : py::none();
                             })
      .def_property_readonly(
          "ensemble",
          [](const DecompositionFile& d) { return OrNone(d.ensemble); })
      .def_property_readonly(
          "cross_validation",
          [](const DecompositionFile& d) { return OrNone(d.cross_validation); })
      .def_property_readonly(
          "input", [](const DecompositionFile& d) { return d.record.input; })
      .def_property_readonly(
          "dataset",
          [](const DecompositionFile& d) { return d.record.dataset; })
      .def_property_readonly(
          "failure",
          [](const DecompositionFile& d) { return d.record.failure; })
      .def_readonly("resume_key",
                    &DecompositionFile::resume_key,
                    "the options of an interrupted sweep, for --resume ('' "
                    "for a single fit)")
      .def(
          "save",
          [](const DecompositionFile& d, const std::filesystem::path& path) {
            SaveDecomposition(d, path.string());
          },
          py::arg("path"),
          "Writes every part back in the same layout (a temporary file "
          "renamed to `path`).")
      .def("__repr__", [](const DecompositionFile& d) {
        std::string parts;
        for (const auto& [present, name] :
             {std::pair<bool, const char*>{d.cp.has_value(), "cp"},
              {d.tucker.has_value(), "tucker"},
              {d.ensemble.has_value(), "ensemble"},
              {d.cross_validation.has_value(), "cross_validation"}})
          if (present) parts += (parts.empty() ? "" : ", ") + std::string(name);
        return "Decomposition(" + parts + ")";
      });
}

// ltr.save_cp: a fit with its .summary as it is, or a bare CPTensor with
// the summary fields given (the relative error computed from `tensor` when
// given).
void SaveCp(const std::filesystem::path& path,
            const py::object& cp,
            const py::object& tensor,
            const std::string& method,
            const py::object& axes) {
  std::optional<CpFitResult> given = FromCpFitObject(cp);
  CpFitResult fit;
  if (given) {
    fit = std::move(*given);
    if (!tensor.is_none())
      throw py::value_error(
          "tensor is for a CPTensor without a summary: this fit has its "
          "relative error");
  } else {
    fit.summary.model = ToKtensor(cp, "cp");
    fit.method = MethodName(ParseMethod(method));
    fit.summary.message = "saved from Python";
    fit.summary.relative_error = std::numeric_limits<double>::quiet_NaN();
    if (!tensor.is_none()) {
      const Tensor3 x = ToTensor3(tensor, "tensor");
      if (x.dims() != fit.summary.model.dims())
        throw py::value_error("tensor is " + DimsToString(x.dims()) +
                              " but cp is " +
                              DimsToString(fit.summary.model.dims()));
      fit.summary.relative_error = RelativeError(x, fit.summary.model);
    }
  }
  if (!axes.is_none()) {
    const ModeNames modes = SplitModeNames(axes.cast<std::string>());
    if (Axes(modes) != axes.cast<std::string>())
      throw py::value_error(
          "axes must name three modes, e.g. 'trial,time,neuron'");
    fit.modes = modes;
  }
  SaveCpFit(fit, path.string());
}

}  // namespace

void SaveEnsemble(const EnsembleResult& e, const std::string& path) {
  io::OutputFile out(path, kCommand);
  WriteEnsemble(e.method, e.summary, e.modes, &out);
  WriteDecomposeRecord({"", "", e.failure}, &out);
  out.Commit();
}

void SaveCrossValidation(const CrossValidationResult& cv,
                         const std::string& path) {
  io::OutputFile out(path, kCommand);
  WriteCrossValidation(cv.summary, cv.test_fraction, &out);
  WriteDecomposeRecord({"", "", cv.failure}, &out);
  out.Commit();
}

void SaveCpFit(const CpFitResult& fit, const std::string& path) {
  io::OutputFile out(path, kCommand);
  WriteCpFit(CpFitGroup(), fit.method, fit.summary, fit.modes, &out);
  out.Commit();
}

py::object LoadDecomposition(const std::string& path) {
  return py::cast(ReadDecompositionFile(path));
}

void BindDecompositionFiles(py::module_& m) {
  BindDecompositionFile(m);
  m.def(
      "load_decomposition",
      [](const std::filesystem::path& path) {
        return LoadDecomposition(path.string());
      },
      py::arg("path"),
      R"(Reads an `ltr decompose` output (or a file Python saved in that layout)
into an ltr.Decomposition: .cp (ltr.CpFit), .tucker (ltr.TuckerFit),
.ensemble (ltr.Ensemble), .cross_validation (ltr.CrossValidation), None
where absent. An interrupted sweep's OUT.h5.partial loads too (complete is
False). Raises OSError when the file cannot be read, ValueError when it
holds no decomposition or its parts are inconsistent.)");
  m.def("save_cp",
        &SaveCp,
        py::arg("path"),
        py::arg("cp"),
        py::arg("tensor") = py::none(),
        py::kw_only(),
        py::arg("method") = MethodName(DecompositionMethod::kCpAls),
        py::arg("axes") = py::none(),
        R"(Writes a CP model as `ltr decompose --rank R` writes its fit (/cp of
docs/formats.md), so that `ltr info`, `ltr plot` and ltr.load_decomposition
read it; a temporary file renamed to `path` when complete.

cp: a CPTensor with its .summary (what ltr.parafac, Ensemble.fit and
ltr.load return; written with it), or a bare CPTensor / (weights,
factors) (written with method `method`,
iterations 0 and, when `tensor` is given, the relative error
||tensor - cp|| / ||tensor||; else NaN). axes: the modes' names, e.g.
'trial,time,neuron' (None: the fit's .modes, or mode0,mode1,mode2), which
`ltr plot` uses to draw each factor. Raises OSError when `path` cannot be
written, ValueError on shapes that disagree.)");
}

}  // namespace ltr::python
