// Small runs shared by the train module's tests.
#ifndef LTR_TESTS_TRAIN_TRAIN_FIXTURES_H_
#define LTR_TESTS_TRAIN_TRAIN_FIXTURES_H_

#include "ltr/train/train.h"

namespace ltr::test {

// A few steps of a small network on `kind`: batch 4, 20 steps, a snapshot
// every 5, seed 3.
inline TrainOptions Small(TaskKind kind, int units) {
  TrainOptions o;
  o.task.kind = kind;
  o.units = units;
  o.g = 0.9;
  o.batch = 4;
  o.steps = 20;
  o.record_every = 5;
  o.seed = 3;
  return o;
}

// The adaptation protocol with these trial counts (other options default).
inline AdaptationOptions Trials(int baseline, int adaptation, int washout) {
  AdaptationOptions a;
  a.baseline_trials = baseline;
  a.adaptation_trials = adaptation;
  a.washout_trials = washout;
  return a;
}

}  // namespace ltr::test

#endif  // LTR_TESTS_TRAIN_TRAIN_FIXTURES_H_
