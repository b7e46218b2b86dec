// ltr plot: every kind of ltr output gets its figures as real PNG and SVG
// files, with the marks (chosen rank, epochs) taken from the file; unknown
// files and a missing gnuplot get one clear error.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/jobs/plot.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ltr;
using Catch::Matchers::Contains;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A figure's files exist and are what they claim: a PNG with its signature
// and a plausible size, an SVG document with an <svg> root.
void CheckFigure(const Figure& f, const std::string& dir) {
  INFO(f.name);
  CHECK(!f.title.empty());
  CHECK(!f.caption.empty());
  REQUIRE(f.png == (fs::path(dir) / (f.name + ".png")).string());
  REQUIRE(f.svg == (fs::path(dir) / (f.name + ".svg")).string());
  const std::string png = Slurp(f.png);
  REQUIRE(png.size() > 8000);  // an empty 600 x 400 canvas is ~3 kB
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  const std::string svg = Slurp(f.svg);
  CHECK(svg.compare(0, 5, "<?xml") == 0);
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
}

std::set<std::string> Names(const std::vector<Figure>& figures) {
  std::set<std::string> names;
  for (const Figure& f : figures) names.insert(f.name);
  return names;
}

// Only the figures remain: gnuplot scripts and partial outputs are removed.
void CheckNoTemporaries(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    INFO(name);
    CHECK(name.front() != '.');
    const std::string ext = e.path().extension().string();
    CHECK((ext == ".png" || ext == ".svg"));
  }
}

void Ltr(const std::string& args) {
  const auto r = test::RunLtr(args);
  INFO(args << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("plot draws TCA factor grids, rank plots and CV of a decomposition",
          "[plot]") {
  test::ScratchDir dir;
  const std::string rec = dir / "rec.h5", dec = dir / "dec.h5";
  Ltr("synth --trials 60 --time-bins 20 --neurons 15 -o " + rec);
  Ltr("decompose " + rec + " --ranks 1:3 --restarts 2 --cv -o " + dec);
  PlotOptions o;
  o.output_dir = dir / "figs";
  o.ranks = {3};
  REQUIRE(DetectPlotKinds(dec) == std::vector<std::string>{"decomposition"});
  const std::vector<Figure> figures = PlotFile(o, dec);
  CHECK(Names(figures) == std::set<std::string>{"tca_rank_error_similarity",
                                                "tca_ensemble_rank3_factors",
                                                "tca_cv_error_rank"});
  for (const Figure& f : figures) CheckFigure(f, o.output_dir);
  CheckNoTemporaries(o.output_dir);
  // The trial factors are coloured by the recording's epochs (found through
  // the decomposition's `input` attribute) and the key names them.
  const std::string grid =
      Slurp(o.output_dir + "/tca_ensemble_rank3_factors.svg");
  for (const char* epoch : {"baseline", "adaptation", "washout"})
    CHECK_THAT(grid, Contains(epoch));
  // A rank outside the ensemble is an error, not an empty figure.
  o.ranks = {7};
  CHECK_THROWS_WITH(PlotFile(o, dec),
                    Contains("rank 7 is not in the ensemble"));
}

TEST_CASE("plot draws a single CP fit with epochs from --epochs", "[plot]") {
  test::ScratchDir dir;
  const std::string rec = dir / "rec.h5", cp = dir / "cp.h5";
  Ltr("synth --trials 30 --time-bins 12 --neurons 10 -o " + rec);
  Ltr("decompose " + rec + " --rank 2 -o " + cp);
  fs::rename(rec, dir / "elsewhere.h5");  // `input` no longer resolves
  PlotOptions o;
  o.output_dir = dir.path();
  o.svg = false;
  o.prefix = "run1_";
  std::vector<Figure> figures = PlotFile(o, cp);
  REQUIRE(figures.size() == 1);
  CHECK(figures[0].name == "run1_tca_factors_rank2");
  CHECK(figures[0].svg.empty());
  CHECK(fs::exists(dir / "run1_tca_factors_rank2.png"));
  CHECK_FALSE(fs::exists(dir / "run1_tca_factors_rank2.svg"));

  o.svg = true;
  o.epochs_file = dir / "elsewhere.h5";
  figures = PlotFile(o, cp);
  CheckFigure(figures[0], o.output_dir);
  CHECK_THAT(Slurp(figures[0].svg), Contains("washout"));
  // Epoch labels that do not fit the trials are refused.
  o.epochs_file = dir / "rec2.h5";
  Ltr("synth --trials 45 --time-bins 12 --neurons 10 -o " + o.epochs_file);
  CHECK_THROWS_WITH(PlotFile(o, cp), Contains("45 labels"));
}

TEST_CASE("plot draws CV curves, trial factors and the loss of a fitted model",
          "[plot]") {
  test::ScratchDir dir;
  const std::string teacher = dir / "teacher.h5", fit = dir / "fit.h5";
  Ltr("synth --kind ltr-teacher --units 10 --rank 2 --trials 24 --steps 12 "
      "-o " +
      teacher);
  Ltr("fit " + teacher +
      " --model ltr --ranks 1:2 --units 10 --max-iters 30 -o " + fit);
  PlotOptions o;
  o.output_dir = dir / "figs";
  const std::vector<Figure> figures = PlotFile(o, fit);
  const int chosen =
      static_cast<int>(io::ReadDoubleAttribute(fit, "/cv", "chosen_rank"));
  CHECK(Names(figures) ==
        std::set<std::string>{"fit_cv_rank",
                              "fit_trial_factors_rank" + std::to_string(chosen),
                              "fit_loss"});
  for (const Figure& f : figures) CheckFigure(f, o.output_dir);
  // The chosen rank is marked with the value stored in the file.
  CHECK_THAT(Slurp(o.output_dir + "/fit_cv_rank.svg"),
             Contains("chosen rank " + std::to_string(chosen)));
  CHECK_THAT(figures[0].caption,
             Contains("chosen rank " + std::to_string(chosen)));
}

TEST_CASE("plot draws a trajectory, its analysis, bounds and theory tables",
          "[plot]") {
  test::ScratchDir dir;
  const std::string traj = dir / "traj.h5", an = dir / "an.h5",
                    bounds = dir / "bounds.h5", theory = dir / "theory.h5";
  Ltr("train --task flipflop --units 12 --steps 16 --batch 4 --record-every 4 "
      "-o " +
      traj);
  Ltr("analyze " + traj + " --test-batch 16 --max-rank 6 --cp-max-rank 2 -o " +
      an);
  Ltr("bounds " + traj + " -o " + bounds);
  Ltr("theory linear --units 48 --g 0,0.5 --seeds 1 -o " + theory);
  PlotOptions o;
  o.output_dir = dir / "figs";
  o.run.num_threads = 2;

  std::vector<Figure> all;
  for (const std::string& f : {traj, an, bounds, theory}) {
    const auto figures = PlotFile(o, f);
    all.insert(all.end(), figures.begin(), figures.end());
  }
  CHECK(Names(all) == std::set<std::string>{"train_loss",
                                            "train_delta_w_singular_values",
                                            "analysis_delta_w_singular_values",
                                            "analysis_truncation_loss",
                                            "analysis_io_overlap",
                                            "analysis_update_tensor_cp_error",
                                            "bounds_measured_vs_bound",
                                            "theory_linear_pred_vs_measured"});
  for (const Figure& f : all) CheckFigure(f, o.output_dir);
  CheckNoTemporaries(o.output_dir);
  // Every bound kind appears in the key.
  const std::string b = Slurp(o.output_dir + "/bounds_measured_vs_bound.svg");
  for (const char* name : {"prop1", "general"}) CHECK_THAT(b, Contains(name));
}

TEST_CASE("plot draws a recording's mean activity per epoch and a heatmap",
          "[plot]") {
  test::ScratchDir dir;
  const std::string rec = dir / "rec.h5";
  Ltr("synth --trials 30 --time-bins 12 --neurons 10 -o " + rec);
  PlotOptions o;
  o.output_dir = dir.path();
  const auto figures = PlotFile(o, rec);
  CHECK(Names(figures) ==
        std::set<std::string>{"recording_mean_activity",
                              "recording_trial_average_heatmap"});
  for (const Figure& f : figures) CheckFigure(f, o.output_dir);
}

TEST_CASE("plot refuses unknown files and a missing gnuplot with one line",
          "[plot]") {
  test::ScratchDir dir;
  const std::string other = dir / "other.h5";
  {
    io::OutputFile out(other, "test");
    out.WriteVector("/something", Vector::Ones(3));
    out.Commit();
  }
  PlotOptions o;
  o.output_dir = dir / "figs";
  CHECK(DetectPlotKinds(other).empty());
  CHECK_THROWS_WITH(PlotFile(o, other),
                    Contains("not an ltr output that can be plotted"));
  CHECK_THROWS_AS(PlotFile(o, dir / "missing.h5"), Error);

  const std::string rec = dir / "rec.h5";
  Ltr("synth --trials 9 --time-bins 5 --neurons 4 -o " + rec);
  o.gnuplot = "/nonexistent/gnuplot";
  CHECK_THROWS_WITH(PlotFile(o, rec), Contains("gnuplot-nox"));
  CHECK_FALSE(fs::exists(o.output_dir));
  o.gnuplot = "/bin/false";
  CHECK_THROWS_WITH(PlotFile(o, rec), Contains("exit status 1"));

  // A gnuplot that fails on the script: its error line, and no files left.
  const std::string fake = dir / "fake-gnuplot";
  {
    std::ofstream out(fake);
    out << "#!/bin/sh\n[ \"$1\" = -e ] && exit 0\n"
           "echo 'line 3: boom: unknown terminal' >&2\nexit 1\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  o.gnuplot = fake;
  CHECK_THROWS_WITH(PlotFile(o, rec),
                    Contains("gnuplot failed on figure") && Contains("boom"));
  REQUIRE(fs::exists(o.output_dir));
  CHECK(fs::is_empty(o.output_dir));

  // The command: one line on stderr, exit status 1, nothing written.
  auto r = test::RunLtr("plot " + rec + " --gnuplot /nonexistent/gnuplot -o " +
                        o.output_dir);
  CHECK(r.exit_code == 1);
  CHECK(test::CountLines(r.err) == 1);
  CHECK_THAT(r.err, Contains("install the Debian package gnuplot-nox"));
  r = test::RunLtr("plot " + other + " -o " + o.output_dir);
  CHECK(r.exit_code == 1);
  CHECK(test::CountLines(r.err) == 1);
  r = test::RunLtr("plot " + rec + " --format pdf");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("--format"));

  // And when it works, one line per figure names the file.
  r = test::RunLtr("plot " + rec + " -o " + o.output_dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("recording_mean_activity.png"));
  CHECK_THAT(r.out, Contains("wrote 2 figures"));
  CHECK(test::RunLtr("plot --help").out.find("usage: ltr plot") !=
        std::string::npos);
}
