// A fitted RNN as a file: the "Fitted model" layout of docs/formats.md.
//
//   /model attributes  kind (full | lowrank | ltr), rank (0 for full), units,
//                      nonlinearity, alpha, loss (mse | poisson), and the
//                      extension readout (free | orthonormal | identity)
//   /model/a, /model/b (N, R)        lowrank, ltr
//   /model/c           (trials, R)   ltr
//   /model/w           (N, N)        full
//   /model/w0          (N, N)        fixed base, when there is one
//   /model/w_in        (N, inputs)   when the model has inputs
//   /model/h           (conditions, N)  learned per-condition inputs, if any
//   /model/readout     (neurons, N)
//   /model/bias        (N,)
//   /model/x0          (conditions, N)  (the transpose of RnnParameters::x0)
//   /model/offset      (neurons,)
#ifndef LTR_MODEL_FILE_H_
#define LTR_MODEL_FILE_H_

#include <string>

#include "ltr/core/enums.h"
#include "ltr/formats/io.h"
#include "ltr/rnn/rnn.h"

namespace ltr {

struct FittedModel {
  RnnParameters parameters;
  RnnLoss loss = RnnLoss::kMse;  // how outputs map to data (poisson: softplus)
  ReadoutKind readout = ReadoutKind::kFree;
};

// Writes /model (the parameters are validated first).
void WriteModel(const FittedModel& model, io::OutputFile* out);
// Reads /model of `file`. Throws ltr::Error naming the file and dataset when
// something is missing or shapes disagree.
FittedModel ReadModel(const std::string& file);
// True when `file` holds a model's trial factors (/model/c: an ltr model).
bool HasTrialFactors(const std::string& file);

}  // namespace ltr

#endif  // LTR_MODEL_FILE_H_
