// Comparing CP fits: ltr.align (ltr::Align + ltr::ApplyAlignment),
// ltr.factor_match_score (ltr::FactorMatchScore) and ltr.corcondia
// (ltr::Corcondia).
#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "ltr/decompose/diagnostics.h"

namespace ltr::python {

namespace {

// ltr.Alignment: the other fit reordered to match the reference, and how.
struct AlignmentResult {
  Ktensor aligned;
  Alignment alignment;
};

AlignmentResult AlignFits(const py::object& reference,
                          const py::object& other,
                          bool penalize_weights) {
  const Ktensor a = ToKtensor(reference, "reference");
  const Ktensor b = ToKtensor(other, "other");
  AlignmentResult result;
  result.alignment = Align(a, b, penalize_weights);
  result.aligned = ApplyAlignment(a, b, result.alignment);
  return result;
}

double Fms(const py::object& reference,
           const py::object& other,
           bool penalize_weights) {
  const Ktensor a = ToKtensor(reference, "reference");
  const Ktensor b = ToKtensor(other, "other");
  return penalize_weights ? Align(a, b, true).score : FactorMatchScore(a, b);
}

double CoreConsistency(const py::object& tensor,
                       const py::object& cp,
                       const py::object& threads) {
  const Tensor3 x = ToTensor3(tensor, "tensor");
  const Ktensor model = ToKtensor(cp, "cp");
  Call call(threads, py::bool_(false));
  return call([&](const RunContext& run) { return Corcondia(x, model, run); });
}

void BindAlignment(py::module_& m) {
  py::class_<AlignmentResult>(
      m,
      "Alignment",
      R"(ltr.align's result: `cp`, the other fit with its components reordered
(and signs flipped) to match the reference's; `permutation[r]`, the other's
component matched with reference component r; `component_scores[r]`, that
match's congruence; `score`, their mean (the factor match score).

Unpacks as ``cp, permutation, score = ltr.align(reference, other)``.)")
      .def_property_readonly(
          "cp",
          [](const AlignmentResult& a) { return ToCPTensor(a.aligned); },
          "the other fit aligned to the reference (a CPTensor of the "
          "reference's rank)")
      .def_property_readonly(
          "permutation",
          [](const AlignmentResult& a) {
            return FromStdVector(a.alignment.permutation);
          },
          "permutation[r]: the other's component matched with reference "
          "component r")
      .def_property_readonly(
          "component_scores",
          [](const AlignmentResult& a) {
            return FromVector(a.alignment.component_scores);
          },
          "per matched component: the product over modes of |cos| (times the "
          "weight penalty when asked for)")
      .def_property_readonly(
          "score",
          [](const AlignmentResult& a) { return a.alignment.score; },
          "mean of component_scores: the factor match score in [0, 1]")
      .def("__iter__",
           [](const AlignmentResult& a) {
             return py::iter(
                 py::make_tuple(ToCPTensor(a.aligned),
                                FromStdVector(a.alignment.permutation),
                                a.alignment.score));
           })
      .def("__repr__", [](const AlignmentResult& a) {
        std::string perm;
        for (size_t r = 0; r < a.alignment.permutation.size(); ++r)
          perm += (r ? ", " : "") + std::to_string(a.alignment.permutation[r]);
        return "Alignment(score=" +
               std::string(py::str(py::float_(a.alignment.score))) +
               ", permutation=[" + perm + "])";
      });
}

}  // namespace

void BindFitComparison(py::module_& m) {
  BindAlignment(m);
  m.def(
      "align",
      &AlignFits,
      py::arg("reference"),
      py::arg("other"),
      py::kw_only(),
      py::arg("penalize_weights") = false,
      R"(Matches the components of `other` to those of `reference` (ltr::Align,
the Hungarian algorithm on the product over modes of |cos| between factor
columns) and reorders them (ltr::ApplyAlignment: signs flipped in pairs of
modes so each component agrees with the reference and the tensor is
unchanged; unmatched components dropped).

reference, other: CPTensors or (weights, factors) pairs (weights may be
None) of the same shape; other's rank >= reference's. penalize_weights:
also multiply each match by 1 - |l1 - l2| / max(l1, l2), l the component's
weight times its column norms.

Returns an ltr.Alignment (.cp, .permutation, .component_scores, .score);
it unpacks as (cp, permutation, score). Raises ValueError on shapes that
disagree or a lower-rank `other`, TypeError on what is not a CP tensor.)");
  m.def(
      "factor_match_score",
      &Fms,
      py::arg("reference"),
      py::arg("other"),
      py::kw_only(),
      py::arg("penalize_weights") = false,
      R"(The factor match score of two CP fits (ltr::FactorMatchScore): the mean
over the reference's components of the product over modes of |cos| with
the best-matched component of `other` (Hungarian algorithm), in [0, 1]; 1
for the same components up to order, scale and sign. penalize_weights:
also penalise weights as ltr.align does. Arguments and errors as ltr.align.)");
  m.def(
      "corcondia",
      &CoreConsistency,
      py::arg("tensor"),
      py::arg("cp"),
      py::kw_only(),
      py::arg("threads") = py::none(),
      R"(Core consistency (CORCONDIA, Bro & Kiers 2003) of the CP model `cp` of
`tensor` (ltr::Corcondia): 100 (1 - ||G - T||^2 / R), G the least-squares
Tucker core given cp's factors, T the superdiagonal of ones. 100: an ideal
trilinear structure; far below (or negative): the rank is too high.

tensor: a 3-D real array. cp: a CPTensor or (weights, factors) of its
shape. threads: None (every core) or an int. Returns a float. Raises
ValueError when the shapes disagree.)");
}

}  // namespace ltr::python
