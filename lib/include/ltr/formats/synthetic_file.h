// The planted data `ltr synth` writes (docs/formats.md "Synthetic data"):
// a TCA example's recording with its ground truth under /truth (the layout
// of a /cp decomposition), and a learning trajectory's /truth beside its
// streamed /weights (trajectory_file.h WriteSyntheticWeights).
#ifndef LTR_FORMATS_SYNTHETIC_FILE_H_
#define LTR_FORMATS_SYNTHETIC_FILE_H_

#include "ltr/formats/io.h"
#include "ltr/synthetic/synthetic.h"

namespace ltr {

// The recording (recording.h's layout) and /truth: weights, factors 0-2
// (trial, time, neuron) and attributes rank and noise.
void WriteTcaExample(const TcaExample& example,
                     double noise,
                     io::OutputFile* out);

// /truth of a trajectory: w0, the update's weights and factors (snapshot,
// post, pre) and attributes rank, noise, noise_sigma and w0_gain.
void WriteTrajectoryTruth(const TrajectoryExample& example,
                          const TrajectoryExampleOptions& options,
                          io::AppendableFile* out);

}  // namespace ltr

#endif  // LTR_FORMATS_SYNTHETIC_FILE_H_
