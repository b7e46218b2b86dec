// The decomposition layouts of docs/formats.md (decomposition_file.h).
#include "ltr/formats/decomposition_file.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <vector>

#include "ltr/core/error.h"

namespace ltr {
namespace {

constexpr const char* kCp = "/cp";
constexpr const char* kEnsemble = "/ensemble";
constexpr const char* kCrossval = "/crossval";
constexpr const char* kResumeKey = "resume_key";

std::string FactorPath(const std::string& group, int mode) {
  return group + "/factors/" + std::to_string(mode);
}

int ReadInt(const std::string& file,
            const std::string& object,
            const std::string& name) {
  return static_cast<int>(
      io::ReadIntAttribute(file,
                           object,
                           name,
                           std::numeric_limits<int>::min(),
                           std::numeric_limits<int>::max()));
}

bool ReadFlag(const std::string& file,
              const std::string& object,
              const std::string& name) {
  return io::ReadDoubleAttribute(file, object, name) != 0;
}

std::vector<std::int64_t> ToInt64(const std::vector<int>& values) {
  return std::vector<std::int64_t>(values.begin(), values.end());
}

std::vector<int> ReadRanks(const std::string& file, const std::string& group) {
  const auto ranks = io::ReadIntVector(file, group + "/ranks");
  return std::vector<int>(ranks.begin(), ranks.end());
}

// Which fits of a grid exist: attribute complete, /restart (the restart
// index of each column's fit, -1 for none) and /done (1 where a fit exists).
void WriteGridProgress(const std::string& group,
                       bool complete,
                       const Eigen::MatrixXi& restart,
                       io::OutputFile* out) {
  out->WriteMatrix(group + "/restart", restart.cast<double>(), "rank,restart");
  out->WriteMatrix(group + "/done",
                   (restart.array() >= 0).cast<double>().matrix(),
                   "rank,restart");
  out->SetAttribute(group, "complete", complete ? 1 : 0);
}

void ReadGridProgress(const std::string& file,
                      const std::string& group,
                      bool* complete,
                      Eigen::MatrixXi* restart) {
  if (!io::HasDataset(file, group + "/restart"))
    throw Error(file + ": " + group +
                " has no restart table (an older ltr wrote it); cannot "
                "resume from it");
  *complete = ReadFlag(file, group, "complete");
  *restart = io::ReadMatrix(file, group + "/restart").cast<int>();
}

// Throws unless every table has one row per rank and one column per
// column of `restart`.
void CheckGridShape(const std::string& file,
                    const std::string& group,
                    const std::vector<int>& ranks,
                    const Eigen::MatrixXi& restart,
                    const std::vector<const Matrix*>& tables) {
  bool same = restart.rows() == static_cast<Index>(ranks.size());
  for (const Matrix* table : tables)
    same = same && table->rows() == restart.rows() &&
           table->cols() == restart.cols();
  if (!same) throw Error(file + ": the " + group + " tables disagree in shape");
}

}  // namespace

ModeNames SplitModeNames(const std::string& axes) {
  std::vector<std::string> names;
  std::stringstream in(axes);
  std::string name;
  while (std::getline(in, name, ',')) names.push_back(name);
  if (names.size() != 3) return {"mode0", "mode1", "mode2"};
  return {names[0], names[1], names[2]};
}

void WriteKruskal(const std::string& group,
                  const Ktensor& k,
                  const ModeNames& modes,
                  io::DatasetWriter* out) {
  out->WriteVector(group + "/weights", k.weights, "component");
  for (int n = 0; n < 3; ++n)
    out->WriteMatrix(
        FactorPath(group, n), k.factors[n], modes[n] + ",component");
  out->SetAttribute(group, "rank", static_cast<std::int64_t>(k.rank()));
}

Ktensor ReadKruskal(const std::string& file, const std::string& group) {
  Ktensor k;
  k.weights = io::ReadVector(file, group + "/weights");
  for (int n = 0; n < 3; ++n) {
    k.factors[n] = io::ReadMatrix(file, FactorPath(group, n));
    if (k.factors[n].cols() != k.weights.size())
      throw Error(file + ": " + FactorPath(group, n) + " has " +
                  std::to_string(k.factors[n].cols()) + " columns but " +
                  group + "/weights has " + std::to_string(k.weights.size()));
  }
  return k;
}

ModeNames ReadModeNames(const std::string& file, const std::string& group) {
  ModeNames modes;
  for (int n = 0; n < 3; ++n) {
    const std::string factor = FactorPath(group, n);
    const std::string axes = io::StringAttributeOr(file, factor, "axes");
    modes[n] = axes.empty() ? "mode" + std::to_string(n)
                            : axes.substr(0, axes.find(','));
  }
  return modes;
}

void WriteCpFit(const std::string& group,
                const std::string& method,
                const CpSummary& fit,
                const ModeNames& modes,
                io::OutputFile* out) {
  WriteKruskal(group, fit.model, modes, out);
  out->WriteVector(group + "/error_history",
                   Eigen::Map<const Vector>(fit.error_history.data(),
                                            fit.error_history.size()),
                   "iteration");
  out->SetAttribute(group, "method", method);
  out->SetAttribute(group, "relative_error", fit.relative_error);
  out->SetAttribute(group, "fit", fit.fit());
  out->SetAttribute(group, "iterations", fit.iterations);
  out->SetAttribute(group, "converged", fit.converged ? 1 : 0);
  out->SetAttribute(group, "seconds", fit.seconds);
  out->SetAttribute(group, "seed", static_cast<std::int64_t>(fit.seed));
  out->SetAttribute(group, "message", fit.message);
  if (std::isfinite(fit.poisson_deviance))
    out->SetAttribute(group, "poisson_deviance", fit.poisson_deviance);
  if (!fit.deviance_history.empty())
    out->WriteVector(group + "/deviance_history",
                     Eigen::Map<const Vector>(fit.deviance_history.data(),
                                              fit.deviance_history.size()),
                     "iteration");
}

std::string CpFitGroup() { return kCp; }

std::string EnsembleFitGroup(int rank, Index restart) {
  return std::string(kEnsemble) + "/rank_" + std::to_string(rank) + "/run_" +
         std::to_string(restart);
}

std::string ReadCpMethod(const std::string& file, const std::string& group) {
  return io::StringAttributeOr(file, group, "method");
}

CpSummary ReadCpFit(const std::string& file, const std::string& group) {
  CpSummary s;
  s.model = ReadKruskal(file, group);
  const Vector history = io::ReadVector(file, group + "/error_history");
  s.error_history.assign(history.data(), history.data() + history.size());
  s.relative_error = io::ReadDoubleAttribute(file, group, "relative_error");
  s.iterations = static_cast<int>(io::ReadIntAttribute(
      file, group, "iterations", 0, std::numeric_limits<int>::max()));
  s.converged = ReadFlag(file, group, "converged");
  s.seconds = io::ReadDoubleAttribute(file, group, "seconds");
  if (io::HasAttribute(file, group, "seed"))
    s.seed =
        static_cast<std::uint64_t>(io::ReadIntAttribute(file, group, "seed"));
  s.message = io::ReadStringAttribute(file, group, "message");
  s.poisson_deviance =
      io::DoubleAttributeOr(file,
                            group,
                            "poisson_deviance",
                            std::numeric_limits<double>::quiet_NaN());
  if (io::HasDataset(file, group + "/deviance_history")) {
    const Vector d = io::ReadVector(file, group + "/deviance_history");
    s.deviance_history.assign(d.data(), d.data() + d.size());
  }
  return s;
}

StreamedFitRecord MakeStreamedFitRecord(const CpStreamOptions& options,
                                        const CpStreamSummary& summary,
                                        bool subtract_first) {
  StreamedFitRecord r;
  r.subtract_first = subtract_first;
  r.memory_budget_bytes = options.memory_budget;
  r.slab_rows = summary.plan.slab_rows;
  r.passes = summary.passes;
  r.passes_per_iteration = summary.passes_per_iteration;
  r.bytes_read = summary.bytes_read;
  r.seconds_per_iteration = summary.seconds_per_iteration;
  r.peak_rss_bytes = summary.peak_rss_bytes;
  return r;
}

void WriteStreamedFitRecord(const StreamedFitRecord& r, io::OutputFile* out) {
  const std::string cp = kCp;
  out->SetAttribute(cp, "streamed", 1);
  out->SetAttribute(cp, "subtract_first", r.subtract_first ? 1 : 0);
  out->SetAttribute(cp, "memory_budget_bytes", r.memory_budget_bytes);
  out->SetAttribute(cp, "slab_rows", static_cast<std::int64_t>(r.slab_rows));
  out->SetAttribute(cp, "passes", r.passes);
  out->SetAttribute(cp, "passes_per_iteration", r.passes_per_iteration);
  out->SetAttribute(cp, "bytes_read", r.bytes_read);
  out->SetAttribute(cp, "seconds_per_iteration", r.seconds_per_iteration);
  out->SetAttribute(cp, "peak_rss_bytes", r.peak_rss_bytes);
}

StreamedFitRecord ReadStreamedFitRecord(const std::string& file) {
  const std::string cp = kCp;
  if (!io::HasAttribute(file, cp, "streamed"))
    throw Error(file + ": /cp is not a streamed fit");
  StreamedFitRecord r;
  r.subtract_first = ReadFlag(file, cp, "subtract_first");
  r.memory_budget_bytes = io::ReadIntAttribute(file, cp, "memory_budget_bytes");
  r.slab_rows = io::ReadIntAttribute(file, cp, "slab_rows", 0);
  r.passes = ReadInt(file, cp, "passes");
  r.passes_per_iteration =
      io::ReadDoubleAttribute(file, cp, "passes_per_iteration");
  r.bytes_read = io::ReadDoubleAttribute(file, cp, "bytes_read");
  r.seconds_per_iteration =
      io::ReadDoubleAttribute(file, cp, "seconds_per_iteration");
  r.peak_rss_bytes = io::ReadIntAttribute(file, cp, "peak_rss_bytes");
  return r;
}

void WriteTuckerFit(const std::string& method,
                    const TuckerSummary& t,
                    const ModeNames& modes,
                    io::OutputFile* out) {
  const std::string group = "/tucker";
  out->WriteTensor3(
      group + "/core", t.model.core, "component0,component1,component2");
  for (int n = 0; n < 3; ++n)
    out->WriteMatrix(
        FactorPath(group, n), t.model.factors[n], modes[n] + ",component");
  out->SetAttribute(group, "method", method);
  out->SetAttribute(group, "relative_error", t.relative_error);
  out->SetAttribute(group, "fit", 1.0 - t.relative_error);
  out->SetAttribute(group, "iterations", t.iterations);
  out->SetAttribute(group, "converged", t.converged ? 1 : 0);
  out->SetAttribute(group, "seconds", t.seconds);
  out->SetAttribute(group,
                    "ranks",
                    std::to_string(t.model.core.dim(0)) + "," +
                        std::to_string(t.model.core.dim(1)) + "," +
                        std::to_string(t.model.core.dim(2)));
}

TuckerSummary ReadTuckerFit(const std::string& file) {
  const std::string group = "/tucker";
  TuckerSummary t;
  t.model.core = io::ReadTensor3(file, group + "/core");
  for (int n = 0; n < 3; ++n) {
    t.model.factors[n] = io::ReadMatrix(file, FactorPath(group, n));
    if (t.model.factors[n].cols() != t.model.core.dim(n))
      throw Error(file + ": " + FactorPath(group, n) + " has " +
                  std::to_string(t.model.factors[n].cols()) +
                  " columns but the core has " +
                  std::to_string(t.model.core.dim(n)) + " in mode " +
                  std::to_string(n));
  }
  t.relative_error = io::ReadDoubleAttribute(file, group, "relative_error");
  t.iterations = ReadInt(file, group, "iterations");
  t.converged = ReadFlag(file, group, "converged");
  t.seconds = io::ReadDoubleAttribute(file, group, "seconds");
  return t;
}

void WriteEnsemble(const std::string& method,
                   const EnsembleSummary& e,
                   const ModeNames& modes,
                   io::OutputFile* out) {
  const std::string group = kEnsemble;
  out->WriteIntVector(group + "/ranks", ToInt64(e.ranks), "rank");
  out->WriteMatrix(group + "/relative_error", e.relative_error, "rank,restart");
  out->WriteMatrix(group + "/similarity", e.similarity, "rank,restart");
  if (e.corcondia.size() > 0)
    out->WriteMatrix(group + "/corcondia", e.corcondia, "rank,restart");
  WriteGridProgress(group, e.complete, e.restart, out);
  out->SetAttribute(group, "method", method);
  out->SetAttribute(group, "seconds", e.seconds);
  for (size_t r = 0; r < e.fits.size(); ++r)
    for (size_t k = 0; k < e.fits[r].size(); ++k)
      if (e.restart(r, k) >= 0)
        WriteCpFit(
            EnsembleFitGroup(e.ranks[r], k), method, e.fits[r][k], modes, out);
}

EnsembleSummary ReadEnsemble(const std::string& file) {
  const std::string group = kEnsemble;
  EnsembleSummary e;
  e.ranks = ReadRanks(file, group);
  ReadGridProgress(file, group, &e.complete, &e.restart);
  e.relative_error = io::ReadMatrix(file, group + "/relative_error");
  e.similarity = io::ReadMatrix(file, group + "/similarity");
  if (io::HasDataset(file, group + "/corcondia"))
    e.corcondia = io::ReadMatrix(file, group + "/corcondia");
  std::vector<const Matrix*> tables{&e.relative_error, &e.similarity};
  if (e.corcondia.size() > 0) tables.push_back(&e.corcondia);
  CheckGridShape(file, group, e.ranks, e.restart, tables);
  e.seconds = io::ReadDoubleAttribute(file, group, "seconds");
  e.by_deviance = io::StringAttributeOr(file, group, "method") ==
                  MethodName(DecompositionMethod::kCpApr);
  e.fits.assign(e.ranks.size(),
                std::vector<CpSummary>(static_cast<size_t>(e.restart.cols())));
  e.poisson_deviance.setConstant(e.restart.rows(),
                                 e.restart.cols(),
                                 std::numeric_limits<double>::quiet_NaN());
  for (Index r = 0; r < e.restart.rows(); ++r)
    for (Index k = 0; k < e.restart.cols(); ++k)
      if (e.restart(r, k) >= 0) {
        e.fits[r][k] = ReadCpFit(file, EnsembleFitGroup(e.ranks[r], k));
        e.poisson_deviance(r, k) = e.fits[r][k].poisson_deviance;
      }
  return e;
}

void WriteCrossValidation(const CrossValidationSummary& cv,
                          double test_fraction,
                          io::OutputFile* out) {
  const std::string group = kCrossval;
  out->WriteIntVector(group + "/ranks", ToInt64(cv.ranks), "rank");
  out->WriteMatrix(group + "/train_error", cv.train_error, "rank,restart");
  out->WriteMatrix(group + "/test_error", cv.test_error, "rank,restart");
  if (cv.train_deviance.size() > 0)
    out->WriteMatrix(
        group + "/train_deviance", cv.train_deviance, "rank,restart");
  if (cv.test_deviance.size() > 0)
    out->WriteMatrix(
        group + "/test_deviance", cv.test_deviance, "rank,restart");
  out->SetAttribute(
      group, "ranked_by", cv.by_deviance ? "train_deviance" : "train_error");
  WriteGridProgress(group, cv.complete, cv.restart, out);
  out->SetAttribute(group, "test_fraction", test_fraction);
  out->SetAttribute(group, "seconds", cv.seconds);
}

CrossValidationSummary ReadCrossValidation(const std::string& file,
                                           double* test_fraction) {
  const std::string group = kCrossval;
  CrossValidationSummary cv;
  cv.ranks = ReadRanks(file, group);
  ReadGridProgress(file, group, &cv.complete, &cv.restart);
  cv.train_error = io::ReadMatrix(file, group + "/train_error");
  cv.test_error = io::ReadMatrix(file, group + "/test_error");
  // Files written before deviances existed have none: NaN.
  const auto deviance = [&](const std::string& name) {
    return io::HasDataset(file, group + "/" + name)
               ? io::ReadMatrix(file, group + "/" + name)
               : Matrix::Constant(cv.test_error.rows(),
                                  cv.test_error.cols(),
                                  std::numeric_limits<double>::quiet_NaN());
  };
  cv.train_deviance = deviance("train_deviance");
  cv.test_deviance = deviance("test_deviance");
  cv.by_deviance =
      io::StringAttributeOr(file, group, "ranked_by", "") == "train_deviance";
  CheckGridShape(
      file,
      group,
      cv.ranks,
      cv.restart,
      {&cv.train_error, &cv.test_error, &cv.train_deviance, &cv.test_deviance});
  cv.seconds = io::ReadDoubleAttribute(file, group, "seconds");
  if (test_fraction)
    *test_fraction = io::ReadDoubleAttribute(file, group, "test_fraction");
  return cv;
}

SweepCheckpoint ReadSweepCheckpoint(const std::string& file) {
  if (!std::filesystem::exists(file))
    throw Error("cannot resume: there is no interrupted sweep '" + file +
                "'; start without resuming");
  io::CheckReadable(file);
  if (!io::HasAttribute(file, "/", kResumeKey))
    throw Error("cannot resume: " + file + " is not the output of a sweep");
  SweepCheckpoint checkpoint;
  checkpoint.resume_key = io::ReadStringAttribute(file, "/", kResumeKey);
  const DecomposeResult result = ReadDecomposition(file);
  checkpoint.ensemble = result.ensemble;
  checkpoint.cross_validation = result.cross_validation;
  return checkpoint;
}

void WriteDecomposition(const DecomposeOptions& options,
                        const DecomposeResult& result,
                        const std::string& axes,
                        io::OutputFile* out) {
  const ModeNames modes = SplitModeNames(axes);
  const std::string method = MethodName(options.method);
  if (result.cp) WriteCpFit(kCp, method, *result.cp, modes, out);
  if (result.tucker) WriteTuckerFit(method, *result.tucker, modes, out);
  if (result.ensemble) WriteEnsemble(method, *result.ensemble, modes, out);
  if (result.cross_validation)
    WriteCrossValidation(*result.cross_validation, options.test_fraction, out);
  if (!result.resume_key.empty())
    out->SetAttribute("/", kResumeKey, result.resume_key);
}

void WriteDecomposeRecord(const DecomposeRecord& record, io::OutputFile* out) {
  out->SetAttribute("/", "input", record.input);
  out->SetAttribute("/", "dataset", record.dataset);
  if (!record.failure.empty())
    out->SetAttribute("/", "failure", record.failure);
}

DecomposeRecord ReadDecomposeRecord(const std::string& file) {
  DecomposeRecord record;
  record.input = io::ReadStringAttribute(file, "/", "input");
  record.dataset = io::ReadStringAttribute(file, "/", "dataset");
  record.failure = io::StringAttributeOr(file, "/", "failure");
  return record;
}

DecompositionParts FindDecompositionParts(const std::string& file) {
  DecompositionParts parts;
  parts.cp = io::HasDataset(file, std::string(kCp) + "/weights");
  parts.tucker = io::HasDataset(file, "/tucker/core");
  parts.ensemble = io::HasDataset(file, std::string(kEnsemble) + "/ranks");
  parts.cross_validation =
      io::HasDataset(file, std::string(kCrossval) + "/ranks");
  return parts;
}

DecomposeResult ReadDecomposition(const std::string& file) {
  io::CheckReadable(file);
  const DecompositionParts parts = FindDecompositionParts(file);
  DecomposeResult result;
  if (parts.cp) result.cp = ReadCpFit(file, kCp);
  if (parts.tucker) result.tucker = ReadTuckerFit(file);
  if (parts.ensemble) result.ensemble = ReadEnsemble(file);
  if (parts.cross_validation)
    result.cross_validation = ReadCrossValidation(file);
  if (io::HasAttribute(file, "/", kResumeKey))
    result.resume_key = io::ReadStringAttribute(file, "/", kResumeKey);
  return result;
}

}  // namespace ltr
