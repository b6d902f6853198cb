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

}  // namespace aif::config
