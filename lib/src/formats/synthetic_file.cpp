// The planted data layout of `ltr synth`; see synthetic_file.h.
#include "ltr/formats/synthetic_file.h"

#include <string>

#include "ltr/formats/decomposition_file.h"

namespace ltr {

namespace {
constexpr const char* kTruth = "/truth";
}  // namespace

void WriteTcaExample(const TcaExample& example,
                     double noise,
                     io::OutputFile* out) {
  WriteRecording(example.recording, out);
  WriteKruskal(kTruth, example.truth, {"trial", "time", "neuron"}, out);
  out->SetAttribute(kTruth, "noise", noise);
}

void WriteTrajectoryTruth(const TrajectoryExample& example,
                          const TrajectoryExampleOptions& options,
                          io::AppendableFile* out) {
  out->WriteMatrix(std::string(kTruth) + "/w0", example.w0, "post,pre");
  WriteKruskal(kTruth, example.update, {"snapshot", "post", "pre"}, out);
  out->SetAttribute(kTruth, "noise", options.noise);
  out->SetAttribute(kTruth, "noise_sigma", example.noise_sigma);
  out->SetAttribute(kTruth, "w0_gain", options.w0_gain);
}

}  // namespace ltr
