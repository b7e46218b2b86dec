// Decompositions as files: the "Decomposition" layouts of docs/formats.md,
// one typed writer and reader per layout. This is the only code that knows
// their HDF5 paths.
//
//   GROUP/weights (R,), GROUP/factors/0..2 (I_n, R), attribute rank
//       a Kruskal tensor: /cp, /truth (synth), /ensemble/rank_R/run_k
//   GROUP/error_history + attributes method, relative_error, fit,
//       iterations, converged, seconds, seed, message
//       a CP fit: a Kruskal tensor and how it was fitted
//   /cp attributes streamed, subtract_first, memory_budget_bytes, ...
//       a streamed CP fit's figures (decompose --stream)
//   /tucker/core, /tucker/factors/0..2 + attributes   a Tucker fit
//   /ensemble/ranks, relative_error, similarity, corcondia, restart, done,
//       rank_R/run_k + attributes complete, method, seconds
//       an ensemble table
//   /crossval/ranks, train_error, test_error, restart, done + attributes
//       complete, test_fraction, seconds        a cross-validation table
//   root attribute resume_key, with /ensemble and /crossval complete = 0
//       the checkpoint an interrupted sweep leaves in OUT.h5.partial
//   root attributes input, dataset, failure     what was decomposed
//
// Readers throw ltr::Error naming the file and dataset when something is
// missing or shapes disagree; each reads back exactly what its writer wrote.
#ifndef LTR_FORMATS_DECOMPOSITION_FILE_H_
#define LTR_FORMATS_DECOMPOSITION_FILE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "ltr/core/tensor.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/cp_stream.h"
#include "ltr/decompose/decompose.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/decompose/tucker.h"
#include "ltr/formats/io.h"

namespace ltr {

// The names of a tensor's three modes, which label factor datasets
// "<mode>,component".
using ModeNames = std::array<std::string, 3>;
// "trial,time,neuron" -> {trial, time, neuron}; anything but three names
// (e.g. "" for a dataset without an axes attribute) -> mode0, mode1, mode2.
ModeNames SplitModeNames(const std::string& axes);

// To an OutputFile or an AppendableFile (synth's trajectory truth).
void WriteKruskal(const std::string& group,
                  const Ktensor& k,
                  const ModeNames& modes,
                  io::DatasetWriter* out);
Ktensor ReadKruskal(const std::string& file, const std::string& group);
// The mode names WriteKruskal labelled the factors with (the first name of
// each factor's axes attribute; modeN where there is none).
ModeNames ReadModeNames(const std::string& file, const std::string& group);

void WriteCpFit(const std::string& group,
                const std::string& method,
                const CpSummary& fit,
                const ModeNames& modes,
                io::OutputFile* out);
CpSummary ReadCpFit(const std::string& file, const std::string& group);
// The method attribute WriteCpFit recorded ("" when absent).
std::string ReadCpMethod(const std::string& file, const std::string& group);

// The groups of the Kruskal tensors of `ltr decompose`'s output: its CP
// fit, and the fit of `restart` at `rank` of an ensemble.
std::string CpFitGroup();
std::string EnsembleFitGroup(int rank, Index restart);

// Which parts of the decomposition layout a file holds.
struct DecompositionParts {
  bool cp = false;
  bool tucker = false;
  bool ensemble = false;
  bool cross_validation = false;
};
DecompositionParts FindDecompositionParts(const std::string& file);

// How `decompose --stream` read its data, beside its /cp fit.
struct StreamedFitRecord {
  bool subtract_first = false;
  std::int64_t memory_budget_bytes = 0;
  Index slab_rows = 0;
  int passes = 0;
  double passes_per_iteration = 0;
  double bytes_read = 0;
  double seconds_per_iteration = 0;
  std::int64_t peak_rss_bytes = 0;
};
StreamedFitRecord MakeStreamedFitRecord(const CpStreamOptions& options,
                                        const CpStreamSummary& summary,
                                        bool subtract_first);
void WriteStreamedFitRecord(const StreamedFitRecord& record,
                            io::OutputFile* out);
StreamedFitRecord ReadStreamedFitRecord(const std::string& file);

void WriteTuckerFit(const std::string& method,
                    const TuckerSummary& fit,
                    const ModeNames& modes,
                    io::OutputFile* out);
// The message is not part of the layout: it reads back empty.
TuckerSummary ReadTuckerFit(const std::string& file);

// Complete or interrupted; an interrupted table holds only the fits that
// finished (column t = restart t).
void WriteEnsemble(const std::string& method,
                   const EnsembleSummary& ensemble,
                   const ModeNames& modes,
                   io::OutputFile* out);
EnsembleSummary ReadEnsemble(const std::string& file);

void WriteCrossValidation(const CrossValidationSummary& cv,
                          double test_fraction,
                          io::OutputFile* out);
CrossValidationSummary ReadCrossValidation(const std::string& file,
                                           double* test_fraction = nullptr);

// What an interrupted sweep leaves in OUT.h5.partial for a later run to
// continue (DecomposeOptions::resume_from).
struct SweepCheckpoint {
  std::string resume_key;  // ResumeKey of the run that wrote it
  std::optional<EnsembleSummary> ensemble;
  std::optional<CrossValidationSummary> cross_validation;
};
// Throws ltr::Error ("cannot resume: ...") when the file does not exist or
// holds no sweep.
SweepCheckpoint ReadSweepCheckpoint(const std::string& file);

// Writes `result` into `out` in the decomposition layout; `axes` names the
// input's three axes (e.g. "trial,time,neuron"). An interrupted ensemble or
// cross-validation is written with attribute complete = 0 and only the fits
// that finished; result.resume_key, when set, goes to the root attribute
// resume_key.
void WriteDecomposition(const DecomposeOptions& options,
                        const DecomposeResult& result,
                        const std::string& axes,
                        io::OutputFile* out);

// The root attributes of `ltr decompose`'s output: the file and dataset
// decomposed, and `failure` (DecomposeResult::Failure()) when the result
// must not be trusted (not written when empty).
struct DecomposeRecord {
  std::string input;
  std::string dataset;
  std::string failure;
};
void WriteDecomposeRecord(const DecomposeRecord& record, io::OutputFile* out);
DecomposeRecord ReadDecomposeRecord(const std::string& file);

// Every part of a file WriteDecomposition wrote: /cp, /tucker, /ensemble,
// /crossval and the resume key, those present.
DecomposeResult ReadDecomposition(const std::string& file);

}  // namespace ltr

#endif  // LTR_FORMATS_DECOMPOSITION_FILE_H_
