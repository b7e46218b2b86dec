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

BoundsTableFile MakeBoundsTable(const BoundsOptions& options,
                                const std::vector<BoundsSummary>& cases) {
  BoundsTableFile b;
  b.table.values = BoundsTable(cases);
  b.table.columns = BoundsTableColumns();
  for (const auto& c : cases) b.cases.push_back(c.case_name);
  b.bounds = BoundNames();
  b.status_codes = "1 met, 0 exceeded, -1 unknown";
  b.rank_tolerance = options.rank.tolerance;
  return b;
}

void WriteBounds(const BoundsTableFile& b, io::OutputFile* out) {
  WriteTable(b.table.values, b.table.columns, kBounds, "row,column", out);
  out->SetAttribute(kBounds, "cases", Join(b.cases, ";"));
  out->SetAttribute(kBounds, "bounds", Join(b.bounds, ","));
  out->SetAttribute(kBounds, "status_codes", b.status_codes);
  if (!std::isnan(b.rank_tolerance))
    out->SetAttribute(kBounds, "rank_tolerance", b.rank_tolerance);
}

void WriteBounds(const BoundsOptions& options,
                 const std::vector<BoundsSummary>& cases,
                 io::OutputFile* out) {
  WriteBounds(MakeBoundsTable(options, cases), out);
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

LinearTheoryFile MakeLinearTheoryTable(const LinearTheoryOptions& o,
                                       const LinearTheorySummary& summary) {
  LinearTheoryFile t;
  t.table.values = summary.Table();
  t.table.columns = LinearTheorySummary::TableColumns();
  t.units = o.units;
  t.z_hat = o.z_hat;
  t.eta0 = o.EffectiveEta0();
  t.seeds = o.seeds;
  t.antithetic = o.antithetic ? 1 : 0;
  t.model = "gradient descent on z = w^T (I - W)^-1 m";
  return t;
}

void WriteLinearTheory(const LinearTheoryFile& t, io::OutputFile* out) {
  WriteTable(t.table.values, t.table.columns, kTheory, "case,column", out);
  // Counts are stored as integers; NaN marks what was not recorded.
  const auto count = [&](const char* name, double value) {
    if (!std::isnan(value))
      out->SetAttribute(kTheory, name, static_cast<int>(value));
  };
  const auto number = [&](const char* name, double value) {
    if (!std::isnan(value)) out->SetAttribute(kTheory, name, value);
  };
  count("units", t.units);
  number("z_hat", t.z_hat);
  number("eta0", t.eta0);
  count("seeds", t.seeds);
  count("antithetic", t.antithetic);
  if (!t.model.empty()) out->SetAttribute(kTheory, "model", t.model);
}

void WriteLinearTheory(const LinearTheoryOptions& o,
                       const LinearTheorySummary& summary,
                       io::OutputFile* out) {
  WriteLinearTheory(MakeLinearTheoryTable(o, summary), out);
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
