#include "aifactory/config/csv.h"


#include <fmt/format.h>

#include "aifactory/core/file.h"

namespace aif::config {

int CsvTable::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Result<CsvTable> ParseCsv(std::string_view text, const std::string& file, const CsvLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidArgument(fmt::format("{}: file is larger than the limit of {} bytes", file, limits.max_bytes));
  }
  // Skip a UTF-8 byte order mark.
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRow> records;
  CsvRow row;
  std::string field;
  bool in_quotes = false, field_was_quoted = false, row_has_content = false;
  int line = 1, column = 1;
  row.line = 1;
  int quote_line = 0, quote_column = 0;
  auto end_field = [&]() -> Status {
    if (row.fields.size() >= limits.max_fields) {
      return InvalidArgument(fmt::format("{}:{}: more than {} fields in a row", file, row.line, limits.max_fields));
    }
    row.fields.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
    return Status::Ok();
  };
  auto end_row = [&]() {
    if (row_has_content) records.push_back(std::move(row));
    row = CsvRow();
    row_has_content = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
          ++column;
        } else {
          in_quotes = false;
        }
      } else {
        field.push_back(ch);
        if (ch == '\n') {
          ++line;
          column = 0;
        }
      }
    } else if (ch == '"') {
      if (!field.empty() || field_was_quoted) {
        return InvalidArgument(fmt::format("{}:{}:{}: stray quote inside an unquoted field", file, line, column));
      }
      in_quotes = true;
      field_was_quoted = true;
      row_has_content = true;
      quote_line = line;
      quote_column = column;
    } else if (ch == ',') {
      AIF_RETURN_IF_ERROR(end_field());
      row_has_content = true;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (row_has_content || !field.empty()) AIF_RETURN_IF_ERROR(end_field());
      end_row();
      ++line;
      column = 0;
      row.line = line;
    } else {
      if (field_was_quoted) {
        return InvalidArgument(fmt::format("{}:{}:{}: text after a closing quote", file, line, column));
      }
      field.push_back(ch);
      row_has_content = true;
    }
    if (field.size() > limits.max_field_bytes) {
      return InvalidArgument(fmt::format("{}:{}: field longer than {} bytes", file, row.line, limits.max_field_bytes));
    }
    ++column;
  }
  if (in_quotes) {
    return InvalidArgument(fmt::format("{}:{}:{}: quote opened here is never closed", file, quote_line, quote_column));
  }
  if (row_has_content || !field.empty()) {
    AIF_RETURN_IF_ERROR(end_field());
    end_row();
  }
  if (records.empty()) return InvalidArgument(fmt::format("{}: empty file, expected a header row", file));
  CsvTable table;
  table.file = file;
  table.header = std::move(records.front().fields);
  for (size_t i = 0; i < table.header.size(); ++i) {
    if (table.header[i].empty()) {
      return InvalidArgument(fmt::format("{}:{}: header column {} is empty", file, records.front().line, i + 1));
    }
    for (size_t j = 0; j < i; ++j) {
      if (table.header[j] == table.header[i]) {
        return InvalidArgument(fmt::format("{}:{}: duplicate column '{}'", file, records.front().line, table.header[i]));
      }
    }
  }
  table.rows.assign(std::make_move_iterator(records.begin() + 1), std::make_move_iterator(records.end()));
  return table;
}

Result<CsvTable> ReadCsvFile(const std::string& path, const CsvLimits& limits) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, limits.max_bytes));
  return ParseCsv(text, path, limits);
}

}  // namespace aif::config
