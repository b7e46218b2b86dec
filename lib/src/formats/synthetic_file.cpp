// The planted data layout of `ltr synth`; see synthetic_file.h.
#include "ltr/formats/synthetic_file.h"

#include <string>
#include <type_traits>

namespace ltr {

namespace {

// The Kruskal part of /truth: weights, factors/0..2 with their axes and the
// rank. (To be replaced by formats/decomposition_file.h's WriteKruskal.)
template <typename File>
void WriteTruthKruskal(const Ktensor& truth,
                       const char* weights_axes,
                       const char* const factor_axes[3],
                       File* out) {
  if constexpr (std::is_same_v<File, io::OutputFile>)
    out->WriteVector("/truth/weights", truth.weights, weights_axes);
  else
    out->WriteVector("/truth/weights", truth.weights);
  for (int n = 0; n < 3; ++n)
    out->WriteMatrix("/truth/factors/" + std::to_string(n),
                     truth.factors[n],
                     factor_axes[n]);
  out->SetAttribute("/truth", "rank", truth.rank());
}

}  // namespace

void WriteTcaExample(const TcaExample& example,
                     double noise,
                     io::OutputFile* out) {
  WriteRecording(example.recording, out);
  const char* axes[] = {
      "trial,component", "time,component", "neuron,component"};
  WriteTruthKruskal(example.truth, "component", axes, out);
  out->SetAttribute("/truth", "noise", noise);
}

void WriteTrajectoryTruth(const TrajectoryExample& example,
                          const TrajectoryExampleOptions& options,
                          io::AppendableFile* out) {
  out->WriteMatrix("/truth/w0", example.w0, "post,pre");
  const char* axes[] = {
      "snapshot,component", "post,component", "pre,component"};
  WriteTruthKruskal(example.update, "", axes, out);
  out->SetAttribute("/truth", "noise", options.noise);
  out->SetAttribute("/truth", "noise_sigma", example.noise_sigma);
  out->SetAttribute("/truth", "w0_gain", options.w0_gain);
}

}  // namespace ltr
