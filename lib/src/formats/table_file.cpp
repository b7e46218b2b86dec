// Reading and writing the table layouts (table_file.h).
#include "ltr/formats/table_file.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "ltr/core/error.h"

namespace ltr {
namespace {

const char* const kBounds = "/bounds/table";
const char* const kTheory = "/theory/linear";

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

void WriteTable(const Matrix& values,
                const std::vector<std::string>& columns,
                const std::string& dataset,
                const std::string& axes,
                io::OutputFile* out) {
  out->WriteMatrix(dataset, values, axes);
  out->SetAttribute(dataset, "columns", Join(columns, ","));
}

ColumnTable ReadTable(const std::string& file, const std::string& dataset) {
  ColumnTable table;
  table.values = io::ReadMatrix(file, dataset);
  table.columns = Split(io::StringAttributeOr(file, dataset, "columns"), ',');
  table.where = "'" + file + "' " + dataset;
  if (static_cast<Index>(table.columns.size()) != table.values.cols())
    throw Error(table.where + ": attribute 'columns' does not match its width");
  return table;
}

}  // namespace

Index ColumnTable::Column(const std::string& name) const {
  const auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) throw Error(where + " has no column '" + name + "'");
  return it - columns.begin();
}

void WriteBounds(const BoundsOptions& options,
                 const std::vector<BoundsSummary>& cases,
                 io::OutputFile* out) {
  std::vector<std::string> names;
  for (const auto& c : cases) names.push_back(c.case_name);
  WriteTable(
      BoundsTable(cases), BoundsTableColumns(), kBounds, "row,column", out);
  out->SetAttribute(kBounds, "cases", Join(names, ";"));
  out->SetAttribute(kBounds, "bounds", Join(BoundNames(), ","));
  out->SetAttribute(kBounds, "status_codes", "1 met, 0 exceeded, -1 unknown");
  out->SetAttribute(kBounds, "rank_tolerance", options.rank.tolerance);
}

bool HasBounds(const std::string& file) {
  return io::HasDataset(file, kBounds);
}

BoundsTableFile ReadBounds(const std::string& file) {
  BoundsTableFile b;
  b.table = ReadTable(file, kBounds);
  b.cases = Split(io::StringAttributeOr(file, kBounds, "cases"), ';');
  b.bounds = Split(io::StringAttributeOr(file, kBounds, "bounds"), ',');
  b.status_codes = io::StringAttributeOr(file, kBounds, "status_codes");
  b.rank_tolerance =
      io::DoubleAttributeOr(file, kBounds, "rank_tolerance", std::nan(""));
  return b;
}

void WriteLinearTheory(const LinearTheoryOptions& o,
                       const LinearTheorySummary& summary,
                       io::OutputFile* out) {
  WriteTable(summary.Table(),
             LinearTheorySummary::TableColumns(),
             kTheory,
             "case,column",
             out);
  out->SetAttribute(kTheory, "units", o.units);
  out->SetAttribute(kTheory, "z_hat", o.z_hat);
  out->SetAttribute(kTheory, "eta0", o.EffectiveEta0());
  out->SetAttribute(kTheory, "seeds", o.seeds);
  out->SetAttribute(kTheory, "antithetic", o.antithetic ? 1 : 0);
  out->SetAttribute(
      kTheory, "model", "gradient descent on z = w^T (I - W)^-1 m");
}

bool HasLinearTheory(const std::string& file) {
  return io::HasDataset(file, kTheory);
}

LinearTheoryFile ReadLinearTheory(const std::string& file) {
  LinearTheoryFile t;
  t.table = ReadTable(file, kTheory);
  const auto number = [&](const char* name) {
    return io::DoubleAttributeOr(file, kTheory, name, std::nan(""));
  };
  t.units = number("units");
  t.z_hat = number("z_hat");
  t.eta0 = number("eta0");
  t.seeds = number("seeds");
  t.antithetic = number("antithetic");
  t.model = io::StringAttributeOr(file, kTheory, "model");
  return t;
}

}  // namespace ltr
