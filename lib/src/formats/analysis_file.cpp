// Reading and writing the analysis layout (analysis_file.h).
#include "ltr/formats/analysis_file.h"

#include <cmath>
#include <cstdint>

#include "ltr/core/error.h"

namespace ltr {
namespace {

const char* const kSingularValues = "/delta_w/singular_values";
const char* const kTruncationRanks = "/truncation/ranks";
const char* const kTruncationLoss = "/truncation/loss";
const char* const kCpRanks = "/update_tensor/ranks";
const char* const kCpError = "/update_tensor/relative_error";

Eigen::Map<const Vector> AsVector(const std::vector<double>& v) {
  return Eigen::Map<const Vector>(v.data(), static_cast<Index>(v.size()));
}

std::vector<std::int64_t> AsInt64(const std::vector<int>& v) {
  return std::vector<std::int64_t>(v.begin(), v.end());
}

// Ranks and one value per rank, checked to be of the same length.
void ReadPerRank(const std::string& file,
                 const char* ranks_path,
                 const char* values_path,
                 const std::string& mismatch,
                 std::vector<int>* ranks,
                 std::vector<double>* values) {
  const std::vector<std::int64_t> r = io::ReadIntVector(file, ranks_path);
  const Vector v = io::ReadVector(file, values_path);
  if (static_cast<Index>(r.size()) != v.size())
    throw Error("'" + file + "': " + mismatch);
  ranks->assign(r.begin(), r.end());
  values->assign(v.data(), v.data() + v.size());
}

const char* const kOverlap = "/io_overlap";
const char* const kOverlapParts[] = {
    "left", "right", "left_shuffled", "right_shuffled"};

std::vector<double>* OverlapPart(IoOverlap* o, int part) {
  std::vector<double>* parts[] = {
      &o->left, &o->right, &o->left_shuffled, &o->right_shuffled};
  return parts[part];
}

void WriteOverlap(IoOverlap o, io::OutputFile* out) {
  const std::string g = kOverlap;
  for (int part = 0; part < 4 && !o.left.empty(); ++part)
    out->WriteVector(g + "/" + kOverlapParts[part],
                     AsVector(*OverlapPart(&o, part)),
                     "singular_vector");
  out->SetAttribute(g, "depth", o.depth);
  out->SetAttribute(g, "subspace_dim", o.subspace_dim);
  out->SetAttribute(g, "shuffled_subspace_dim", o.shuffled_subspace_dim);
  out->SetAttribute("/", "io_overlap", o.overlap);
  out->SetAttribute("/", "io_overlap_shuffled", o.overlap_shuffled);
}

// Files written before the overlap existed have no /io_overlap: depth 0,
// overlaps NaN.
IoOverlap ReadOverlap(const std::string& file) {
  IoOverlap o;
  const std::string g = kOverlap;
  for (int part = 0; part < 4 && io::HasDataset(file, g + "/left"); ++part) {
    const Vector v = io::ReadVector(file, g + "/" + kOverlapParts[part]);
    OverlapPart(&o, part)->assign(v.data(), v.data() + v.size());
  }
  o.depth = static_cast<int>(io::DoubleAttributeOr(file, g, "depth", 0));
  o.subspace_dim =
      static_cast<int>(io::DoubleAttributeOr(file, g, "subspace_dim", 0));
  o.shuffled_subspace_dim = static_cast<int>(
      io::DoubleAttributeOr(file, g, "shuffled_subspace_dim", 0));
  o.overlap = io::DoubleAttributeOr(file, "/", "io_overlap", std::nan(""));
  o.overlap_shuffled =
      io::DoubleAttributeOr(file, "/", "io_overlap_shuffled", std::nan(""));
  return o;
}

}  // namespace

void WriteAnalysis(const TrajectoryAnalysis& a, io::OutputFile* out) {
  out->WriteMatrix(kSingularValues, a.singular_values, "snapshot,index");
  out->WriteIntVector(kTruncationRanks, AsInt64(a.truncation_ranks), "rank");
  out->WriteVector(kTruncationLoss, AsVector(a.truncation_loss), "rank");
  out->SetAttribute("/", "functional_rank", a.functional_rank);
  out->SetAttribute("/", "convergence_step", a.convergence_step);
  out->SetAttribute("/", "delta_w_norm", a.delta_w_norm);
  out->SetAttribute("/", "initial_loss", a.initial_loss);
  out->SetAttribute("/", "final_loss", a.final_loss);
  out->SetAttribute("/", "initial_test_loss", a.initial_test_loss);
  out->SetAttribute("/", "test_loss", a.test_loss);
  out->SetAttribute("/", "shuffle_loss", a.shuffle_loss);
  out->SetAttribute("/", "shuffle_loss_ratio", a.shuffle_loss_ratio);
  WriteOverlap(a.io_overlap, out);
  if (!a.cp_ranks.empty()) {
    out->WriteIntVector(kCpRanks, AsInt64(a.cp_ranks), "rank");
    out->WriteVector(kCpError, AsVector(a.cp_relative_error), "rank");
  }
}

bool HasAnalysis(const std::string& file) {
  return io::HasDataset(file, kSingularValues) ||
         io::HasDataset(file, kTruncationLoss) ||
         io::HasDataset(file, kCpError);
}

TrajectoryAnalysis ReadAnalysis(const std::string& file) {
  TrajectoryAnalysis a;
  if (io::HasDataset(file, kSingularValues))
    a.singular_values = io::ReadMatrix(file, kSingularValues);
  if (io::HasDataset(file, kTruncationLoss))
    ReadPerRank(file,
                kTruncationRanks,
                kTruncationLoss,
                "/truncation/ranks and /loss differ in length",
                &a.truncation_ranks,
                &a.truncation_loss);
  if (io::HasDataset(file, kCpError))
    ReadPerRank(file,
                kCpRanks,
                kCpError,
                "/update_tensor/ranks and /relative_error differ in length",
                &a.cp_ranks,
                &a.cp_relative_error);
  const auto number = [&](const char* name) {
    return io::DoubleAttributeOr(file, "/", name, std::nan(""));
  };
  a.functional_rank =
      static_cast<int>(io::DoubleAttributeOr(file, "/", "functional_rank", -1));
  a.convergence_step = static_cast<int>(
      io::DoubleAttributeOr(file, "/", "convergence_step", -1));
  a.delta_w_norm = number("delta_w_norm");
  a.initial_loss = number("initial_loss");
  a.final_loss = number("final_loss");
  a.initial_test_loss = number("initial_test_loss");
  a.test_loss = number("test_loss");
  a.shuffle_loss = number("shuffle_loss");
  a.shuffle_loss_ratio = number("shuffle_loss_ratio");
  a.io_overlap = ReadOverlap(file);
  return a;
}

}  // namespace ltr
