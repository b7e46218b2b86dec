// Figures of a recording (/activity): mean activity per epoch and the
// trial-averaged heatmap.
#include <algorithm>

#include "jobs/plot_common.h"
#include "ltr/formats/recording.h"

namespace ltr::plot {

void PlotRecording(const Context& ctx) {
  const std::string& path = ctx.path;
  // In (trial, time, neuron) order whatever the stored one (its axes).
  const Tensor3 x = ReadRecording(path).activity;
  const Index trials = x.dim(0), steps = x.dim(1), neurons = x.dim(2);
  if (trials == 0 || steps == 0 || neurons == 0) return;
  const double dt = ReadRecordingLabels(path).dt;
  const std::string tlabel = dt > 0 ? "time (s)" : "time (bin)";
  const Vector time = Iota(steps) * (dt > 0 ? dt : 1.0);

  // Mean over neurons and trials of each epoch (all trials: one line).
  Epochs epochs = FindEpochs(ctx.options, path, trials);
  if (epochs.empty()) epochs.assign(trials, -1);
  std::vector<std::int64_t> labels(epochs.begin(), epochs.end());
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  std::vector<Vector> columns = {time};
  for (std::int64_t e : labels) {
    Vector mean = Vector::Zero(steps);
    Index count = 0;
    for (Index i = 0; i < trials; ++i) {
      if (epochs[i] != e) continue;
      ++count;
      for (Index t = 0; t < steps; ++t)
        for (Index n = 0; n < neurons; ++n) mean(t) += x(i, t, n);
    }
    columns.push_back(mean / static_cast<double>(count * neurons));
  }
  {
    GnuplotFigure g("recording_mean_activity", 760, 440);
    const std::string block = g.AddColumns(columns);
    std::string s = "set title \"population mean activity\"\nset xlabel " +
                    Quote(tlabel) +
                    "\nset ylabel \"mean activity (rate or count)\"\nplot ";
    for (size_t i = 0; i < labels.size(); ++i)
      s += (i ? ", " : "") + block + " using 1:" + std::to_string(i + 2) +
           " with lines lw 2 lc rgb \"" +
           (labels[i] < 0 ? kColors[0] : ColorOf(labels[i], kColors)) +
           "\" title " +
           Quote(labels[i] < 0 ? "all trials" : EpochName(labels[i]));
    g.Add(s);
    ctx.Draw(g,
             "Mean activity per epoch",
             "Activity averaged over neurons and over the trials of each "
             "learning epoch (" +
                 std::to_string(trials) + " trials, " +
                 std::to_string(neurons) + " neurons)");
  }
  {
    // Trial-averaged neuron x time heatmap, neurons ordered by peak time.
    Matrix avg = Matrix::Zero(neurons, steps);
    for (Index i = 0; i < trials; ++i)
      for (Index t = 0; t < steps; ++t)
        for (Index n = 0; n < neurons; ++n) avg(n, t) += x(i, t, n);
    avg /= static_cast<double>(trials);
    std::vector<Index> order(neurons);
    std::vector<Index> peak(neurons);
    for (Index n = 0; n < neurons; ++n) {
      order[n] = n;
      avg.row(n).maxCoeff(&peak[n]);
    }
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
      return peak[a] < peak[b];
    });
    std::string lines;
    for (Index r = 0; r < neurons; ++r) {
      for (Index t = 0; t < steps; ++t)
        lines += Num(time(t)) + " " + std::to_string(r) + " " +
                 Num(avg(order[r], t)) + "\n";
      lines += "\n";
    }
    const int height =
        static_cast<int>(std::clamp<Index>(neurons * 6, 300, 900)) + 100;
    GnuplotFigure g("recording_trial_average_heatmap", 760, height);
    const std::string block = g.AddLines(lines);
    g.Add("set title \"trial-averaged activity\"\nset xlabel " + Quote(tlabel) +
          "\nset ylabel \"neurons, sorted by peak time\"\n"
          "set palette defined (0 \"#440154\", 1 \"#3b528b\", 2 \"#21918c\", "
          "3 \"#5ec962\", 4 \"#fde725\")\nset cblabel \"mean activity\"\n"
          "unset grid\nset xrange [" +
          Num(time(0) - 0.5 * (dt > 0 ? dt : 1)) + ":" +
          Num(time(steps - 1) + 0.5 * (dt > 0 ? dt : 1)) + "]\nset yrange [" +
          Num(neurons - 0.5) +
          ":-0.5]\n"
          "plot " +
          block + " using 1:2:3 with image notitle");
    ctx.Draw(g,
             "Trial-averaged activity",
             "Activity of each neuron averaged over all " +
                 std::to_string(trials) +
                 " trials, neurons ordered by the time of their peak");
  }
}

}  // namespace ltr::plot
