// RFC 4180 CSV for untrusted input: quoted fields with commas, quotes and newlines; every row
// keeps the line it starts on, so errors can name file, line and column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aifactory/core/status.h"

namespace aif::config {

struct CsvRow {
  int line = 0;  // 1-based line where the row starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string file;
  std::vector<std::string> header;
  std::vector<CsvRow> rows;  // may be ragged: callers decide (see ColumnIndex users)

  // Index of a header column, or -1.
  int ColumnIndex(std::string_view name) const;
};

struct CsvLimits {
  size_t max_bytes = 256 << 20;
  size_t max_fields = 4096;
  size_t max_field_bytes = 1 << 20;
};

// Parses text; fails on an empty file, an empty header, a duplicate column name, an unterminated
// quote or a stray quote inside an unquoted field, and on exceeding the limits.
Result<CsvTable> ParseCsv(std::string_view text, const std::string& file, const CsvLimits& limits = {});
Result<CsvTable> ReadCsvFile(const std::string& path, const CsvLimits& limits = {});

}  // namespace aif::config
