// Reading MATLAB .mat files (v4, v5 and v7.3, through libmatio): the
// variables a file holds, numeric arrays, and cell arrays of spike-time
// vectors (docs/formats.md, "MATLAB input"). Every failure is a one-line
// ltr::Error naming the file and the variable; a file that cannot be
// opened as a MAT file is an ltr::FileError.
#ifndef LTR_FORMATS_MAT_FILE_H_
#define LTR_FORMATS_MAT_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/formats/dense_array.h"
#include "ltr/preprocess/spikes.h"

namespace ltr {

struct MatVariable {
  std::string name;
  // "double", "single", "int8" ... "uint64", "logical", "char", "cell",
  // "struct", "sparse", "object", "function", "unknown"; "complex double"
  // and so on for complex numeric arrays.
  std::string class_name;
  std::vector<Index> dims;  // as MATLAB's size() reports them

  // "Spikes (cell 60x1)"
  std::string Line() const;
};
using MatVariables = std::vector<MatVariable>;

// The variables of `path` in file order.
MatVariables ListMatVariables(const std::string& path);
// "a (double 3x4), Spikes (cell 60x1)", for error messages.
std::string DescribeMatVariables(const MatVariables& variables);

// A real numeric or logical variable, converted to double (int64 and uint64
// values beyond 2^53 are rounded), with MATLAB's dims and the values in
// row-major order (see DenseArray). Throws ltr::Error on a variable that is
// missing (listing those present), complex, sparse, or not numeric.
DenseArray ReadMatArray(const std::string& path, const std::string& variable);

// Spike times kept as MATLAB cells, in the layout of the Onken retina
// files: `variable` is a cell array with one cell per stimulus (any shape,
// e.g. 60x1 or images x shifts), each a neurons x repeats cell array of
// spike-time vectors (an empty one is a trial without spikes).
struct MatSpikeImport {
  // One trial per stimulus and repeat, stimulus-major: trial
  // s * repeats + r is repeat r of stimulus s, stimuli in MATLAB's linear
  // (column-major) order of the outer cell, Spikes{s + 1}. Units are the
  // neurons (rows of the inner cells), ids 0 ... neurons - 1; times are in
  // seconds, sorted; trial_ids are 0, 1, ...; alignment_times are NaN.
  TrialSpikes spikes;
  std::vector<std::int64_t> stimulus;  // per trial: s, from 0
  std::vector<std::int64_t> repeat;    // per trial: r, from 0
  std::vector<Index> stimulus_dims;    // size() of the outer cell (9x9)
};

// Reads the spike cells of `variable`, multiplying every time by
// `time_unit_seconds` (1e-3 for milliseconds). Throws ltr::Error on a
// missing variable (listing those present), a variable or stimulus cell
// that is not a cell array, stimulus cells of different neurons x repeats,
// a spike-time entry that is not a real numeric vector, a non-finite time
// and a time unit that is not positive.
MatSpikeImport ReadMatSpikeCells(const std::string& path,
                                 const std::string& variable,
                                 double time_unit_seconds);

}  // namespace ltr

#endif  // LTR_FORMATS_MAT_FILE_H_
