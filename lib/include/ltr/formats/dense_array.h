// A numeric array of any rank read from another tool's file (a MATLAB
// variable, a NumPy array), and the one way it becomes the trial x time x
// neuron tensor of a recording.
#ifndef LTR_FORMATS_DENSE_ARRAY_H_
#define LTR_FORMATS_DENSE_ARRAY_H_

#include <string>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr {

struct DenseArray {
  // The shape as the source reports it: MATLAB's size(x) (at least two
  // dimensions, trailing singletons dropped), numpy's shape.
  std::vector<Index> dims;
  // Row-major over `dims`, the last index fastest: element (i, j, k) of a
  // 2x3x4 array sits at (i * 3 + j) * 4 + k. This is numpy's C order (how
  // scipy.io.loadmat's array prints), not MATLAB's column-major storage.
  std::vector<double> values;
  // The element type read: "double", "single", "int16", "uint8",
  // "logical", ...
  std::string type;
};

// The array as a trial x time x neuron tensor. `axes` names its dimensions
// in order (dims[0], dims[1], dims[2]), as RecordingAxes (recording.h) takes
// them: "time,neuron,condition" reads a MATLAB time x neuron x condition
// array. A missing trailing dimension is a singleton, as in MATLAB (a 30x38
// array is 30x38x1); dimensions past the third must be 1. Throws ltr::Error
// on axes that do not name trial, time and neuron once each and on an array
// with more than three dimensions. (Defined in recording.cpp, beside
// ReadRecording's axis mapping.)
Tensor3 ToTrialTimeNeuron(const DenseArray& array, const std::string& axes);

}  // namespace ltr

#endif  // LTR_FORMATS_DENSE_ARRAY_H_
