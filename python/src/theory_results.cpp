// ltr.Analysis, ltr.BoundsTable and ltr.LinearTheoryTable: the results of
// the theory module as numpy arrays, their save to the layouts the CLI
// writes, and the loaders of those layouts.
#include <sstream>

#include "bindings.h"
#include "call.h"
#include "ltr/core/error.h"
#include "ltr/formats/analysis_file.h"
#include "ltr/formats/io.h"
#include "theory_common.h"
#include "train_common.h"

namespace ltr::python {

namespace {

// Writes through io::OutputFile (a temporary name, renamed when complete),
// refusing to write over the input the result was computed from.
template <typename Write>
void SaveWith(const py::object& path_argument,
              const std::string& source,
              const std::string& command,
              Write write) {
  const std::string path = PathArgument(path_argument, "path");
  if (!source.empty()) io::RefuseOutputOverInput(path, {source});
  Call call(py::none(), py::bool_(false));
  call([&](const RunContext&) {
    io::OutputFile out(path, command);
    write(&out);
    out.Commit();
    return 0;
  });
}

// Column `name` of a table as a read-only view (columns are contiguous).
py::array ColumnView(const ColumnTable& table,
                     const std::string& name,
                     const py::handle& owner) {
  const Index column = table.Column(name);
  const Matrix& v = table.values;
  py::array a = py::array_t<double>(
      static_cast<py::ssize_t>(v.rows()), v.data() + column * v.rows(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

py::list Strings(const std::vector<std::string>& v) {
  py::list out;
  for (const std::string& s : v) out.append(s);
  return out;
}

const char* StatusName(BoundStatus s) {
  switch (s) {
    case BoundStatus::kHolds:
      return "holds";
    case BoundStatus::kViolated:
      return "violated";
    default:
      return "unknown";
  }
}

void BindAnalysis(py::module_& m) {
  using A = AnalysisObject;
  auto of = [](const py::object& self) -> const TrajectoryAnalysis& {
    return self.cast<const A&>().analysis;
  };
  py::class_<A>(m,
                "Analysis",
                "The analyses of a learning trajectory (ltr analyze; "
                "docs/formats.md \"Analysis "
                "of a trajectory\"). Arrays are read-only views.")
      .def_property_readonly(
          "singular_values",
          [of](py::object s) { return View(of(s).singular_values, s); },
          "Singular values of W_k - W_0 per snapshot, (snapshots, N), "
          "descending.")
      .def_property_readonly(
          "truncation_ranks",
          [of](py::object s) { return View(of(s).truncation_ranks, s); })
      .def_property_readonly(
          "truncation_loss",
          [of](py::object s) { return View(of(s).truncation_loss, s); },
          "Test loss of W0 + the rank-R part of the final dW, per rank R.")
      .def_property_readonly(
          "cp_ranks", [of](py::object s) { return View(of(s).cp_ranks, s); })
      .def_property_readonly(
          "cp_relative_error",
          [of](py::object s) { return View(of(s).cp_relative_error, s); },
          "Best relative error of the CP fits of [W_k - W_0] per rank.")
      .def_property_readonly(
          "functional_rank",
          [](const A& a) { return a.analysis.functional_rank; })
      .def_property_readonly(
          "convergence_step",
          [](const A& a) { return a.analysis.convergence_step; })
      .def_property_readonly("delta_w_norm",
                             [](const A& a) { return a.analysis.delta_w_norm; })
      .def_property_readonly("initial_loss",
                             [](const A& a) { return a.analysis.initial_loss; })
      .def_property_readonly("final_loss",
                             [](const A& a) { return a.analysis.final_loss; })
      .def_property_readonly(
          "initial_test_loss",
          [](const A& a) { return a.analysis.initial_test_loss; })
      .def_property_readonly("test_loss",
                             [](const A& a) { return a.analysis.test_loss; })
      .def_property_readonly("shuffle_loss",
                             [](const A& a) { return a.analysis.shuffle_loss; })
      .def_property_readonly(
          "shuffle_loss_ratio",
          [](const A& a) { return a.analysis.shuffle_loss_ratio; })
      .def_property_readonly(
          "io_overlap",
          [](const A& a) { return a.analysis.io_overlap.overlap; },
          "s^2-weighted overlap of dW's leading singular vectors with the "
          "input/output vectors propagated through W0 (docs/theory.md).")
      .def_property_readonly(
          "io_overlap_shuffled",
          [](const A& a) { return a.analysis.io_overlap.overlap_shuffled; },
          "The same with a permuted W0 (the control).")
      .def_property_readonly(
          "io_overlap_left",
          [of](py::object s) { return View(of(s).io_overlap.left, s); },
          "||P u_r||^2 per leading left singular vector u_r of dW.")
      .def_property_readonly(
          "io_overlap_right",
          [of](py::object s) { return View(of(s).io_overlap.right, s); })
      .def_property_readonly("io_overlap_left_shuffled",
                             [of](py::object s) {
                               return View(of(s).io_overlap.left_shuffled, s);
                             })
      .def_property_readonly("io_overlap_right_shuffled",
                             [of](py::object s) {
                               return View(of(s).io_overlap.right_shuffled, s);
                             })
      .def_property_readonly(
          "io_overlap_depth",
          [](const A& a) { return a.analysis.io_overlap.depth; })
      .def_property_readonly(
          "io_subspace_dim",
          [](const A& a) { return a.analysis.io_overlap.subspace_dim; })
      .def_property_readonly("seconds",
                             [](const A& a) { return a.analysis.seconds; })
      .def(
          "save",
          [](const A& a, const py::object& path) {
            SaveWith(
                path,
                a.source,
                "python: ltr.Analysis.save",
                [&](io::OutputFile* out) { WriteAnalysis(a.analysis, out); });
          },
          py::arg("path"),
          "Writes the layout `ltr analyze -o PATH` writes (through a temporary "
          "file). Raises "
          "ValueError if PATH is the analysed trajectory, OSError if it cannot "
          "be written.")
      .def("__repr__", [](const A& a) {
        return "Analysis(" + a.analysis.BriefReport() + ")";
      });
}

void BindBoundRows(py::module_& m) {
  py::class_<BoundRow>(
      m, "BoundRow", "One bound of one case (the library's BoundRow).")
      .def_readonly("case_name", &BoundRow::case_name)
      .def_readonly("bound", &BoundRow::bound)
      .def_readonly("hypotheses_hold", &BoundRow::hypotheses_hold)
      .def_readonly("why_not", &BoundRow::why_not)
      .def_readonly("bound_value", &BoundRow::bound_value)
      .def_readonly("measured", &BoundRow::measured)
      .def_readonly("measured_is_lower_bound",
                    &BoundRow::measured_is_lower_bound)
      .def_property_readonly(
          "status",
          [](const BoundRow& r) { return StatusName(r.status); },
          "'holds', 'violated' or 'unknown'.")
      .def("__repr__", [](const BoundRow& r) {
        std::ostringstream out;
        out << "BoundRow(" << r.bound << ": measured " << r.measured
            << ", bound " << r.bound_value << ", " << StatusName(r.status)
            << (r.hypotheses_hold ? "" : ", hypotheses fail: " + r.why_not)
            << ")";
        return out.str();
      });
  py::class_<BoundsSummary>(
      m,
      "BoundsSummary",
      "The bounds of one case (the library's BoundsSummary).")
      .def_readonly("case_name", &BoundsSummary::case_name)
      .def_readonly("units", &BoundsSummary::units)
      .def_readonly("inputs", &BoundsSummary::inputs)
      .def_readonly("outputs", &BoundsSummary::outputs)
      .def_readonly("snapshots", &BoundsSummary::snapshots)
      .def_readonly("optimizer_steps", &BoundsSummary::optimizer_steps)
      .def_readonly("d", &BoundsSummary::d)
      .def_readonly("linear", &BoundsSummary::linear)
      .def_readonly("w0_in_span", &BoundsSummary::w0_in_span)
      .def_readonly("optimizer_linear", &BoundsSummary::optimizer_linear)
      .def_readonly("w0_outside_fraction", &BoundsSummary::w0_outside_fraction)
      .def_property_readonly("rows",
                             [](const BoundsSummary& s) {
                               py::list rows;
                               for (const BoundRow& r : s.rows)
                                 rows.append(py::cast(r));
                               return rows;
                             })
      .def_readonly("seconds", &BoundsSummary::seconds)
      .def_readonly("threads", &BoundsSummary::threads)
      .def("__repr__", [](const BoundsSummary& s) {
        return "BoundsSummary(" + s.BriefReport() + ")";
      });
}

void BindBounds(py::module_& m) {
  using B = BoundsObject;
  py::class_<B>(
      m,
      "BoundsTable",
      "The rank bounds of learning beside the measured ranks (ltr bounds; "
      "docs/formats.md \"Bounds and theory\"): one row per case and bound.")
      .def_property_readonly(
          "table",
          [](py::object s) {
            return View(s.cast<const B&>().file.table.values, s);
          },
          "(rows, columns) values; `columns` names the columns.")
      .def_property_readonly(
          "columns", [](const B& b) { return Strings(b.file.table.columns); })
      .def(
          "column",
          [](py::object s, const std::string& name) {
            return ColumnView(s.cast<const B&>().file.table, name, s);
          },
          py::arg("name"),
          "The column `name` as a 1-D array (ValueError if absent).")
      .def(
          "__getitem__",
          [](py::object s, const std::string& name) {
            return ColumnView(s.cast<const B&>().file.table, name, s);
          },
          py::arg("name"))
      .def_property_readonly(
          "case_names",
          [](const B& b) { return Strings(b.file.cases); },
          "Case names, indexed by the `case` column.")
      .def_property_readonly(
          "bounds",
          [](const B& b) { return Strings(b.file.bounds); },
          "Bound names, indexed by the `bound` column.")
      .def_property_readonly("status_codes",
                             [](const B& b) { return b.file.status_codes; })
      .def_property_readonly("rank_tolerance",
                             [](const B& b) { return b.file.rank_tolerance; })
      .def_property_readonly(
          "cases",
          [](const B& b) {
            py::list cases;
            for (const BoundsSummary& c : b.cases) cases.append(py::cast(c));
            return cases;
          },
          "The BoundsSummary of every case (empty for a table read from a "
          "file).")
      .def(
          "save",
          [](const B& b, const py::object& path) {
            SaveWith(path,
                     b.source,
                     "python: ltr.BoundsTable.save",
                     [&](io::OutputFile* out) { WriteBounds(b.file, out); });
          },
          py::arg("path"),
          "Writes /bounds/table as `ltr bounds -o PATH` does (through a "
          "temporary file).")
      .def("__str__",
           [](const B& b) {
             return b.cases.empty()
                        ? "BoundsTable(" +
                              std::to_string(b.file.table.values.rows()) +
                              " rows)"
                        : FormatBounds(b.cases);
           })
      .def("__repr__", [](const B& b) {
        return "BoundsTable(rows=" +
               std::to_string(b.file.table.values.rows()) +
               ", cases=" + std::to_string(b.file.cases.size()) + ")";
      });
}

void BindLinearRun(py::module_& m) {
  py::class_<LinearRun>(
      m,
      "LinearRun",
      "One network of the linear theory's runs (the library's LinearRun).")
      .def_readonly("g", &LinearRun::g)
      .def_readonly("seed", &LinearRun::seed)
      .def_readonly("eta", &LinearRun::eta)
      .def_readonly("steps", &LinearRun::steps)
      .def_readonly("convergence_step", &LinearRun::convergence_step)
      .def_readonly("convergence_time", &LinearRun::convergence_time)
      .def_readonly("initial_loss", &LinearRun::initial_loss)
      .def_readonly("final_loss", &LinearRun::final_loss)
      .def_readonly("delta_w_norm", &LinearRun::delta_w_norm)
      .def_readonly("mean_grad_norm", &LinearRun::mean_grad_norm)
      .def_readonly("alignment_w", &LinearRun::alignment_w)
      .def_readonly("alignment_m", &LinearRun::alignment_m)
      .def_readonly("s3_ratio", &LinearRun::s3_ratio)
      .def_readonly("shuffle_loss_ratio", &LinearRun::shuffle_loss_ratio)
      .def_readonly("early_z", &LinearRun::early_z)
      .def_readonly("early_s1", &LinearRun::early_s1)
      .def_readonly("early_s2", &LinearRun::early_s2)
      .def_readonly("early_eigenvalue", &LinearRun::early_eigenvalue)
      .def_readonly("finite", &LinearRun::finite)
      .def("__repr__", [](const LinearRun& r) {
        std::ostringstream out;
        out << "LinearRun(g=" << r.g << ", seed=" << r.seed
            << ", steps=" << r.steps
            << ", convergence_step=" << r.convergence_step
            << ", final_loss=" << r.final_loss << ")";
        return out.str();
      });
}

void BindLinearTheory(py::module_& m) {
  using T = LinearTheoryObject;
  py::class_<T>(
      m,
      "LinearTheoryTable",
      "The linear theory's predictions beside gradient descent, a row per g "
      "(ltr theory linear; docs/formats.md \"Bounds and theory\").")
      .def_property_readonly(
          "table",
          [](py::object s) {
            return View(s.cast<const T&>().file.table.values, s);
          },
          "(gains, columns) values; `columns` names the columns.")
      .def_property_readonly(
          "columns", [](const T& t) { return Strings(t.file.table.columns); })
      .def(
          "column",
          [](py::object s, const std::string& name) {
            return ColumnView(s.cast<const T&>().file.table, name, s);
          },
          py::arg("name"),
          "The column `name` as a 1-D array (ValueError if absent).")
      .def(
          "__getitem__",
          [](py::object s, const std::string& name) {
            return ColumnView(s.cast<const T&>().file.table, name, s);
          },
          py::arg("name"))
      .def_property_readonly("units", [](const T& t) { return t.file.units; })
      .def_property_readonly("z_hat", [](const T& t) { return t.file.z_hat; })
      .def_property_readonly("eta0", [](const T& t) { return t.file.eta0; })
      .def_property_readonly("seeds", [](const T& t) { return t.file.seeds; })
      .def_property_readonly("antithetic",
                             [](const T& t) { return t.file.antithetic != 0; })
      .def_property_readonly("model", [](const T& t) { return t.file.model; })
      .def_property_readonly(
          "runs",
          [](const T& t) {
            py::list runs;
            if (t.summary)
              for (const LinearRun& r : t.summary->runs)
                runs.append(py::cast(r));
            return runs;
          },
          "Every network's LinearRun (empty for a table read from a file).")
      .def_property_readonly("seconds",
                             [](const T& t) -> py::object {
                               return t.summary ? py::cast(t.summary->seconds)
                                                : py::none();
                             })
      .def(
          "save",
          [](const T& t, const py::object& path) {
            SaveWith(
                path,
                "",
                "python: ltr.LinearTheoryTable.save",
                [&](io::OutputFile* out) { WriteLinearTheory(t.file, out); });
          },
          py::arg("path"),
          "Writes /theory/linear as `ltr theory linear -o PATH` does (through "
          "a temporary file).")
      .def("__str__",
           [](const T& t) {
             return t.summary
                        ? t.summary->FormatTable() + t.summary->BriefReport()
                        : "LinearTheoryTable(" +
                              std::to_string(t.file.table.values.rows()) +
                              " gains)";
           })
      .def("__repr__", [](const T& t) {
        std::ostringstream out;
        out << "LinearTheoryTable(gains=" << t.file.table.values.rows()
            << ", units=" << t.file.units << ", z_hat=" << t.file.z_hat
            << ", seeds=" << t.file.seeds << ")";
        return out.str();
      });
}

// Reads on a worker thread with the GIL released.
template <typename Read>
auto Released(Read read) {
  Call call(py::none(), py::bool_(false));
  return call([&](const RunContext&) { return read(); });
}

}  // namespace

void BindTheoryResults(py::module_& m) {
  BindAnalysis(m);
  BindBoundRows(m);
  BindBounds(m);
  BindLinearRun(m);
  BindLinearTheory(m);
}

py::object LoadAnalysis(const std::string& path) {
  AnalysisObject a;
  a.analysis = Released([&] {
    io::CheckReadable(path);
    if (!HasAnalysis(path))
      throw Error("'" + path +
                  "' holds no analysis of a trajectory (ltr analyze)");
    return ReadAnalysis(path);
  });
  return py::cast(std::move(a));
}

py::object LoadBounds(const std::string& path) {
  BoundsObject b;
  b.file = Released([&] {
    io::CheckReadable(path);
    return ReadBounds(path);
  });
  return py::cast(std::move(b));
}

py::object LoadLinearTheory(const std::string& path) {
  LinearTheoryObject t;
  t.file = Released([&] {
    io::CheckReadable(path);
    return ReadLinearTheory(path);
  });
  return py::cast(std::move(t));
}

}  // namespace ltr::python
