// The pipeline's summary table and HTML report (pipeline_report.h).
#include "jobs/pipeline_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "ltr/core/error.h"

namespace ltr {
namespace internal {

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

namespace {

std::string Number(double v, int precision = 3) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(precision) << v;
  return s.str();
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else if (ch == '&')
      out += "&amp;";
    else
      out += ch;
  }
  return out;
}

// What the chosen fit explains: per-neuron R^2, bits/spike against the
// PSTH baseline, trial factors per group.
void ScoresSection(const PipelineSummary& s, std::ofstream& html) {
  const PipelineScores& sc = s.scores;
  html << "<h2>What the fit explains (rank " << s.sweep.chosen_rank
       << ")</h2>\n<p>Held-out R&sup2; per neuron (neuron 0 first): ";
  for (Index n = 0; n < sc.test_r2_per_neuron.size(); ++n)
    html << Number(sc.test_r2_per_neuron(n), 2) << " ";
  html << "(global " << Number(s.sweep.best.test_metrics.r2) << ").</p>\n";
  if (std::isfinite(sc.bits_per_spike))
    html << "<p>Held-out bits/spike (Poisson log-likelihood gain over each "
            "neuron's constant mean rate, per held-out spike): fit "
         << Number(sc.bits_per_spike, 4)
         << ", per-condition PSTH of the training entries "
         << Number(sc.psth_bits_per_spike, 4) << ".</p>\n";
  html << "<p>Mean trial factors (CP of the fitted update at rank "
       << sc.trial_factors.cols() << ", scaled by their weights) per "
       << sc.grouped_by << ":</p>\n<table><tr><th>" << sc.grouped_by << "</th>";
  for (Index r = 0; r < sc.group_means.cols(); ++r)
    html << "<th>c" << r + 1 << "</th>";
  html << "</tr>\n";
  for (Index g = 0; g < sc.group_means.rows(); ++g) {
    html << "<tr><td>" << sc.groups[static_cast<size_t>(g)] << "</td>";
    for (Index r = 0; r < sc.group_means.cols(); ++r)
      html << "<td>" << Number(sc.group_means(g, r)) << "</td>";
    html << "</tr>\n";
  }
  html << "</table>\n";
}

void ComparisonSection(const PipelineSummary& s, std::ofstream& html) {
  const UpdateComparison& c = s.comparison;
  html << "<h2>Fitted against true weight updates (CP rank " << c.rank
       << ")</h2>\n<p>Compared at the largest CP rank at which both "
          "update tensors have a unique decomposition (every restart "
          "agrees with the best; smallest restart similarity per rank, "
          "true: ";
  for (double v : s.true_cp_stability) html << Number(v, 2) << " ";
  html << "fitted: ";
  for (double v : s.fitted_cp_stability) html << Number(v, 2) << " ";
  html << "). Factor match score of the best CP fits by rank, from 1: ";
  for (double v : s.factor_match_by_rank) html << Number(v, 2) << " ";
  html << "(at the fit's chosen rank, " << s.at_fit_rank.rank << ": "
       << Number(s.at_fit_rank.factor_match) << ").</p>\n";
  html << "<p>Per true component at the compared rank (largest first), "
          "the product of its three congruences with the matched fitted "
          "component: ";
  for (Index r = 0; r < c.component_scores.size(); ++r)
    html << Number(c.component_scores(r), 3) << " ";
  html << "(0.9 or more: recovered).</p>\n";
  html << "<p>Factor match score " << Number(c.factor_match)
       << "; mean congruence of trial factors " << Number(c.trial_congruence)
       << ", of post-synaptic factors " << Number(c.post_congruence)
       << ", of pre-synaptic factors " << Number(c.pre_congruence)
       << ". Relative distance between the fitted and true update tensors: "
       << Number(c.update_distance) << ".</p>\n";
  html << "<table><tr><th>epoch</th>";
  for (int r = 0; r < c.rank; ++r)
    html << "<th>true c" << r + 1 << "</th><th>fitted c" << r + 1 << "</th>";
  html << "</tr>\n";
  for (Index e = 0; e < c.true_epoch_means.rows(); ++e) {
    html << "<tr><td>" << c.epochs[static_cast<size_t>(e)] << "</td>";
    for (int r = 0; r < c.rank; ++r)
      html << "<td>" << Number(c.true_epoch_means(e, r)) << "</td><td>"
           << Number(c.fitted_epoch_means(e, r)) << "</td>";
    html << "</tr>\n";
  }
  html << "</table>\n";

  html << "<h2>Rank bounds on the true trajectory</h2>\n<pre>"
       << Escape(FormatBounds({s.bounds})) << "</pre>\n";
}

}  // namespace

// Figures are referenced by relative path so the directory can be moved as a
// whole.
void WriteReport(const PipelineOptions& o,
                 const PipelineSummary& s,
                 const std::string& path) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream html(temporary);
    if (!html) throw Error("cannot write '" + temporary + "'");
    html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
         << "<title>ltr learning pipeline: " << Escape(BaseName(o.input))
         << "</title>\n<style>body{font-family:sans-serif;max-width:1100px;"
            "margin:2em auto;color:#222}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "th{background:#f3f3f3}figure{margin:1.5em 0}"
            "img{max-width:100%;border:1px solid #eee}figcaption{color:#555}"
            "</style></head><body>\n";
    html << "<h1>Learning over trials: " << Escape(BaseName(o.input))
         << "</h1>\n<p>Command: <code>" << Escape(o.command)
         << "</code></p>\n<pre>" << Escape(s.SummaryTable()) << "</pre>\n";

    html << "<h2>Rank chosen by held-out blocks</h2>\n<table><tr><th>rank"
            "</th><th>train loss</th><th>test loss</th><th>test R&sup2;</th>"
            "</tr>\n";
    for (size_t i = 0; i < s.sweep.ranks.size(); ++i) {
      const Index row = static_cast<Index>(i);
      html << "<tr><td>" << s.sweep.ranks[i]
           << (s.sweep.ranks[i] == s.sweep.chosen_rank ? " (chosen)" : "")
           << "</td><td>" << Number(s.sweep.train_loss.row(row).minCoeff(), 5)
           << "</td><td>" << Number(s.sweep.test_loss.row(row).minCoeff(), 5)
           << "</td><td>" << Number(s.sweep.test_r2.row(row).maxCoeff(), 4)
           << "</td></tr>\n";
    }
    html << "</table>\n";

    ScoresSection(s, html);
    if (s.has_truth)
      ComparisonSection(s, html);
    else
      html << "<p>The input has no true weights (/weights): the "
              "true-vs-fitted comparison and the rank bounds (steps 3 and 4 "
              "on the truth) were skipped, and their files were not "
              "written.</p>\n";

    html << "<h2>Figures</h2>\n";
    for (const Figure& f : s.figures) {
      const std::string image = !f.png.empty() ? f.png : f.svg;
      html << "<figure><img src=\"figures/" << Escape(BaseName(image))
           << "\" alt=\"" << Escape(f.title) << "\"><figcaption><b>"
           << Escape(f.title) << "</b>: " << Escape(f.caption)
           << (f.svg.empty()
                   ? ""
                   : " (<a href=\"figures/" + BaseName(f.svg) + "\">SVG</a>)")
           << "</figcaption></figure>\n";
    }
    html << "<h2>Files</h2>\n<ul>\n";
    for (const std::string& file : s.files)
      html << "<li><code>" << Escape(BaseName(file)) << "</code></li>\n";
    html << "</ul>\n</body></html>\n";
    if (!html) throw Error("cannot write '" + temporary + "'");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    throw Error("cannot rename '" + temporary + "' to '" + path + "'");
}

}  // namespace internal

namespace {

void Line(const std::string& what,
          const std::string& value,
          std::ostringstream* out) {
  *out << "  " << std::left << std::setw(44) << what << value << "\n";
}

// Median, smallest and largest held-out R^2 over the neurons that have one.
std::string Spread(const Eigen::VectorXd& r2) {
  std::vector<double> v;
  for (Index n = 0; n < r2.size(); ++n)
    if (std::isfinite(r2(n))) v.push_back(r2(n));
  if (v.empty()) return "none";
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  const double median = v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
  return internal::Number(median) + " [" + internal::Number(v.front()) + ", " +
         internal::Number(v.back()) + "]";
}

void ComparisonLines(const PipelineSummary& s, std::ostringstream* out) {
  using internal::Number;
  const UpdateComparison& c = s.comparison;
  Line("relative distance, fitted vs true updates",
       Number(c.update_distance),
       out);
  Line("CP rank compared (both CP fits unique)", std::to_string(c.rank), out);
  Line("  true update tensor, CP error", Number(c.true_relative_error), out);
  Line(
      "  fitted update tensor, CP error", Number(c.fitted_relative_error), out);
  Line("  factor match score, fitted vs true", Number(c.factor_match), out);
  std::string scores;
  for (Index r = 0; r < c.component_scores.size(); ++r)
    scores += (r > 0 ? " " : "") + Number(c.component_scores(r), 2);
  Line("  per true component (largest first)", scores, out);
  Line("  congruence trial / post / pre",
       Number(c.trial_congruence) + " / " + Number(c.post_congruence) + " / " +
           Number(c.pre_congruence),
       out);
  std::string by_rank;
  for (size_t r = 0; r < s.factor_match_by_rank.size(); ++r)
    by_rank += (r > 0 ? " " : "") + Number(s.factor_match_by_rank[r], 2);
  Line("factor match by CP rank 1.." +
           std::to_string(s.factor_match_by_rank.size()),
       by_rank,
       out);
  int held = 0, total = 0;
  for (const BoundRow& row : s.bounds.rows) {
    if (!row.hypotheses_hold) continue;
    ++total;
    if (row.status == BoundStatus::kHolds) ++held;
  }
  Line("bounds whose hypotheses hold: met",
       std::to_string(held) + " of " + std::to_string(total),
       out);
}

}  // namespace

std::string PipelineSummary::SummaryTable() const {
  using internal::Number;
  std::ostringstream out;
  out << "learning pipeline summary\n";
  Line("baseline full fit, held-out R^2",
       has_base ? Number(baseline_test_r2) : "none (no /epoch)",
       &out);
  Line(
      "chosen rank (held-out blocks)", std::to_string(sweep.chosen_rank), &out);
  Line("ltr fit at chosen rank, held-out R^2",
       Number(sweep.best.test_metrics.r2),
       &out);
  Line("  per neuron: median [min, max]",
       Spread(scores.test_r2_per_neuron),
       &out);
  if (std::isfinite(scores.bits_per_spike)) {
    Line("  held-out bits/spike", Number(scores.bits_per_spike, 4), &out);
    Line("  per-condition PSTH baseline, bits/spike",
         Number(scores.psth_bits_per_spike, 4),
         &out);
  }
  if (has_truth)
    ComparisonLines(*this, &out);
  else
    Line("true weights (/weights)",
         "none: no true-vs-fitted comparison, no bounds",
         &out);
  Line("seconds", Number(seconds, 1), &out);
  return out.str();
}

}  // namespace ltr
