// The "Bounds and theory" layout of docs/formats.md: tables as datasets, one
// row per case, with a string attribute `columns` naming the columns.
//
//   /bounds/table   (rows, columns)  `ltr bounds`: one row per case and bound
//                   (BoundsTableColumns()); attributes columns, cases (";"),
//                   bounds (","), status_codes, rank_tolerance
//   /theory/linear  (gains, columns) `ltr theory linear`: predicted beside
//                   measured per g (LinearTheorySummary::TableColumns());
//                   attributes columns, units, z_hat, eta0, seeds,
//                   antithetic, model
#ifndef LTR_FORMATS_TABLE_FILE_H_
#define LTR_FORMATS_TABLE_FILE_H_

#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/formats/io.h"
#include "ltr/theory/bounds.h"
#include "ltr/theory/theory.h"

namespace ltr {

// A table dataset with its column names.
struct ColumnTable {
  Matrix values;
  std::vector<std::string> columns;
  std::string where;  // "'file' dataset", for messages

  // Index of the column `name`; throws ltr::Error naming `where` if absent.
  Index Column(const std::string& name) const;
};

struct BoundsTableFile {
  ColumnTable table;
  std::vector<std::string> cases;   // case names, by the `case` column
  std::vector<std::string> bounds;  // bound names, by the `bound` column
  std::string status_codes;
  double rank_tolerance = 0.0;  // NaN when not recorded
};

struct LinearTheoryFile {
  ColumnTable table;
  // The recorded options (NaN / -1 when not recorded).
  double units = 0, z_hat = 0, eta0 = 0, seeds = 0, antithetic = 0;
  std::string model;
};

// Writes /bounds/table: BoundsTable(cases) with its attributes.
void WriteBounds(const BoundsOptions& options,
                 const std::vector<BoundsSummary>& cases,
                 io::OutputFile* out);
// The table as written and read back; WriteBounds(MakeBoundsTable(o, c))
// writes what WriteBounds(o, c) does (so does a table read back).
BoundsTableFile MakeBoundsTable(const BoundsOptions& options,
                                const std::vector<BoundsSummary>& cases);
void WriteBounds(const BoundsTableFile& table, io::OutputFile* out);
bool HasBounds(const std::string& file);
// Throws ltr::Error naming the file when the table is missing or its
// `columns` attribute does not match its width.
BoundsTableFile ReadBounds(const std::string& file);

// Writes /theory/linear: summary.Table() with the options that made it.
void WriteLinearTheory(const LinearTheoryOptions& options,
                       const LinearTheorySummary& summary,
                       io::OutputFile* out);
// As for the bounds: the table in memory, and its writer.
LinearTheoryFile MakeLinearTheoryTable(const LinearTheoryOptions& options,
                                       const LinearTheorySummary& summary);
void WriteLinearTheory(const LinearTheoryFile& table, io::OutputFile* out);
bool HasLinearTheory(const std::string& file);
LinearTheoryFile ReadLinearTheory(const std::string& file);

}  // namespace ltr

#endif  // LTR_FORMATS_TABLE_FILE_H_
