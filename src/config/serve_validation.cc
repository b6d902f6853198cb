#include "aifactory/config/serve_validation.h"

#include <fmt/format.h>

#include <charconv>

#include "aifactory/config/csv.h"
#include "aifactory/core/file.h"

namespace aif::config {
namespace {

Result<double> ParseDouble(const std::string& text, const std::string& where) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return InvalidArgument(fmt::format("{}: '{}' is not a number", where, text));
  }
  return v;
}

}  // namespace

Result<std::vector<serve::ServingBenchmark>> ParseServingBenchmarks(std::string_view text,
                                                                    const std::string& file) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, file));
  const std::vector<std::string> columns = {
      "id",    "kind",  "model",  "accelerator", "tp",       "precision", "kv_bytes",
      "batch", "input", "output", "requests",    "measured", "unit",      "source"};
  std::vector<int> idx;
  for (const auto& c : columns) {
    int i = table.ColumnIndex(c);
    if (i < 0) return InvalidArgument(fmt::format("{}:1: missing column '{}'", file, c));
    idx.push_back(i);
  }
  std::vector<serve::ServingBenchmark> out;
  for (const CsvRow& row : table.rows) {
    if (row.fields.size() != table.header.size()) {
      return InvalidArgument(fmt::format("{}:{}: {} fields, the header has {}", file, row.line,
                                         row.fields.size(), table.header.size()));
    }
    auto field = [&](int k) -> const std::string& { return row.fields[idx[k]]; };
    auto number = [&](int k) -> Result<double> {
      return ParseDouble(field(k), fmt::format("{}:{}: column '{}'", file, row.line, columns[k]));
    };
    serve::ServingBenchmark b;
    b.line = row.line;
    b.id = field(0);
    b.kind = field(1);
    b.model = field(2);
    b.accelerator = field(3);
    AIF_ASSIGN_OR_RETURN(double tp, number(4));
    b.precision = field(5);
    AIF_ASSIGN_OR_RETURN(b.kv_bytes, number(6));
    AIF_ASSIGN_OR_RETURN(double batch, number(7));
    AIF_ASSIGN_OR_RETURN(double input, number(8));
    AIF_ASSIGN_OR_RETURN(double output, number(9));
    AIF_ASSIGN_OR_RETURN(double requests, number(10));
    AIF_ASSIGN_OR_RETURN(b.measured, number(11));
    b.unit = field(12);
    b.source = field(13);
    if (tp < 1 || batch < 1 || input < 1 || output < 1 || requests < 0 || !(b.measured > 0)) {
      return InvalidArgument(fmt::format(
          "{}:{}: tp, batch, input, output and measured must be positive", file, row.line));
    }
    if (b.source.empty())
      return InvalidArgument(
          fmt::format("{}:{}: column 'source': every row needs one", file, row.line));
    b.tp = static_cast<int>(tp);
    b.batch = static_cast<int>(batch);
    b.input = static_cast<int>(input);
    b.output = static_cast<int>(output);
    b.requests = static_cast<int>(requests);
    out.push_back(b);
  }
  return out;
}

Result<std::vector<serve::ServingBenchmark>> ReadServingBenchmarks(const std::string& path) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, 16 << 20));
  return ParseServingBenchmarks(text, path);
}

}  // namespace aif::config
