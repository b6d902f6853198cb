// Rows of a measured-runs CSV (shared/validation/README.md contract) -> predictable cases.
#pragma once

#include <vector>

#include "aifactory/catalog/catalog.h"
#include "aifactory/config/csv.h"
#include "aifactory/train/validation.h"

namespace aif::config {

// Columns a validation CSV must have; the others are optional (empty = not stated).
const std::vector<std::string>& RequiredValidationColumns();

// One result row per CSV row. Rows the model cannot handle come back skipped with the reason
// (naming the row, line and column); a missing required column fails the whole file.
Result<std::vector<train::ValidationRow>> ReadValidationRows(const CsvTable& table, const catalog::Catalog& catalog);

// Adds the columns of `extra` (a CSV keyed by row_id, e.g. each run's framework settings taken
// from its recipe) to the rows of `table` with the same row_id. An empty cell of `extra` says
// nothing; a column the table has too fills only the cells the table leaves empty (e.g. a plan
// field the row's source does not state). Fails, naming the file and line, on a row_id that is
// missing, repeated or not in `table`, and on a value that contradicts one the table states.
Status MergeColumnsByRowId(CsvTable& table, const CsvTable& extra);

}  // namespace aif::config
