#include "aifactory/config/serve_traces.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "aifactory/core/file.h"

namespace aif::config {
namespace {

constexpr size_t kMaxTraceBytes = size_t{1} << 30;

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
long long DaysFromCivil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

Result<long long> ParseTokens(std::string_view s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return InvalidArgument(fmt::format("'{}' is not a whole number", s));
  }
  if (v < 1 || v > 100000000)
    return InvalidArgument(fmt::format("{} tokens: expected 1 to 100000000", v));
  return v;
}

// Splits one CSV line of plain (unquoted) fields.
std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

}  // namespace

Result<double> ParseTraceTimestamp(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 19 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || s[10] != ' ' || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &sec)) {
    return InvalidArgument(
        fmt::format("'{}' is not a timestamp like 2023-11-16 18:17:03.9799600", s));
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return InvalidArgument(fmt::format("'{}': a date or time field is out of range", s));
  }
  double fraction = 0;
  if (s.size() > 19) {
    if (s[19] != '.' || s.size() == 20)
      return InvalidArgument(fmt::format("'{}': bad fractional seconds", s));
    double scale = 0.1;
    for (size_t i = 20; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9')
        return InvalidArgument(fmt::format("'{}': bad fractional seconds", s));
      fraction += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  return static_cast<double>(DaysFromCivil(y, mo, d)) * 86400 + h * 3600 + mi * 60 + sec + fraction;
}

Result<std::vector<serve::Request>> ParseAzureLlmTrace(std::string_view text,
                                                       const std::string& file,
                                                       const ServeTraceOptions& options) {
  if (!(options.time_scale > 0)) return InvalidArgument("trace time_scale must be positive");
  std::vector<serve::Request> out;
  int line_no = 0;
  size_t pos = 0;
  int col_time = -1, col_in = -1, col_out = -1;
  size_t columns = 0;
  double first = 0, previous = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1) {
      auto header = SplitFields(line);
      columns = header.size();
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == "TIMESTAMP") col_time = static_cast<int>(i);
        if (header[i] == "ContextTokens") col_in = static_cast<int>(i);
        if (header[i] == "GeneratedTokens") col_out = static_cast<int>(i);
      }
      for (auto [col, name] : {std::pair{col_time, "TIMESTAMP"}, std::pair{col_in, "ContextTokens"},
                               std::pair{col_out, "GeneratedTokens"}}) {
        if (col < 0)
          return InvalidArgument(
              fmt::format("{}:1: missing column '{}' (an Azure LLM trace has "
                          "TIMESTAMP,ContextTokens,GeneratedTokens)",
                          file, name));
      }
      continue;
    }
    if (line.empty()) continue;
    if (options.max_requests > 0 && static_cast<long long>(out.size()) >= options.max_requests)
      break;
    auto fields = SplitFields(line);
    if (fields.size() != columns) {
      return InvalidArgument(fmt::format("{}:{}: {} fields, the header has {}", file, line_no,
                                         fields.size(), columns));
    }
    auto t = ParseTraceTimestamp(fields[col_time]);
    if (!t.ok())
      return InvalidArgument(
          fmt::format("{}:{}: column 'TIMESTAMP': {}", file, line_no, t.status().message()));
    auto in = ParseTokens(fields[col_in]);
    if (!in.ok())
      return InvalidArgument(
          fmt::format("{}:{}: column 'ContextTokens': {}", file, line_no, in.status().message()));
    auto gen = ParseTokens(fields[col_out]);
    if (!gen.ok()) {
      return InvalidArgument(fmt::format("{}:{}: column 'GeneratedTokens': {}", file, line_no,
                                         gen.status().message()));
    }
    if (out.empty())
      first = *t;
    else if (*t < previous) {
      return InvalidArgument(
          fmt::format("{}:{}: column 'TIMESTAMP': {} is before the previous row's time; the "
                      "trace must be sorted by arrival",
                      file, line_no, fields[col_time]));
    }
    previous = *t;
    serve::Request r;
    r.arrival_s = (*t - first) / options.time_scale;
    r.prompt_tokens = static_cast<int>(*in);
    r.output_tokens = static_cast<int>(*gen);
    r.task = options.task;
    out.push_back(r);
  }
  if (line_no == 0) return InvalidArgument(fmt::format("{}:1: empty trace", file));
  return out;
}

namespace {

// The value after `"key":` on a JSON line, as text up to the next ',' or '}' (numbers), or the
// '[...]' list; empty when the key is absent.
std::string_view JsonValue(std::string_view line, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  size_t k = line.find(quoted);
  if (k == std::string_view::npos) return {};
  size_t c = line.find(':', k + quoted.size());
  if (c == std::string_view::npos) return {};
  size_t b = c + 1;
  while (b < line.size() && line[b] == ' ') ++b;
  if (b < line.size() && line[b] == '[') {
    size_t e = line.find(']', b);
    return e == std::string_view::npos ? std::string_view() : line.substr(b, e - b + 1);
  }
  size_t e = b;
  while (e < line.size() && line[e] != ',' && line[e] != '}') ++e;
  std::string_view v = line.substr(b, e - b);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

Result<double> JsonNumber(std::string_view v) {
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty() || !std::isfinite(x)) {
    return InvalidArgument(fmt::format("'{}' is not a number", v));
  }
  return x;
}

}  // namespace

Result<std::vector<serve::Request>> ParseMooncakeTrace(std::string_view text,
                                                       const std::string& file,
                                                       const ServeTraceOptions& options) {
  if (!(options.time_scale > 0)) return InvalidArgument("trace time_scale must be positive");
  std::vector<serve::Request> out;
  int line_no = 0;
  size_t pos = 0;
  double previous = -1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (options.max_requests > 0 && static_cast<long long>(out.size()) >= options.max_requests)
      break;
    if (line.front() != '{' || line.back() != '}') {
      return InvalidArgument(
          fmt::format("{}:{}: expected one JSON object per line", file, line_no));
    }
    serve::Request r;
    double values[3] = {0, 0, 0};
    const char* keys[3] = {"timestamp", "input_length", "output_length"};
    for (int k = 0; k < 3; ++k) {
      std::string_view v = JsonValue(line, keys[k]);
      if (v.empty())
        return InvalidArgument(fmt::format("{}:{}: key '{}' is missing", file, line_no, keys[k]));
      auto x = JsonNumber(v);
      if (!x.ok())
        return InvalidArgument(
            fmt::format("{}:{}: key '{}': {}", file, line_no, keys[k], x.status().message()));
      values[k] = *x;
    }
    if (values[0] < 0)
      return InvalidArgument(fmt::format("{}:{}: key 'timestamp': negative time", file, line_no));
    if (values[0] < previous) {
      return InvalidArgument(
          fmt::format("{}:{}: key 'timestamp': {} is before the previous line's; the trace must "
                      "be sorted by arrival",
                      file, line_no, values[0]));
    }
    for (int k = 1; k < 3; ++k) {
      if (values[k] < 1 || values[k] > 1e8 || values[k] != std::floor(values[k])) {
        return InvalidArgument(
            fmt::format("{}:{}: key '{}': {} tokens: expected a whole number from 1", file, line_no,
                        keys[k], values[k]));
      }
    }
    previous = values[0];
    r.arrival_s = values[0] / 1000 / options.time_scale;
    r.prompt_tokens = static_cast<int>(values[1]);
    r.output_tokens = static_cast<int>(values[2]);
    r.task = options.task;
    std::string_view list = JsonValue(line, "hash_ids");
    if (!list.empty()) {
      if (list.front() != '[' || list.back() != ']') {
        return InvalidArgument(
            fmt::format("{}:{}: key 'hash_ids': expected a list", file, line_no));
      }
      std::string_view body = list.substr(1, list.size() - 2);
      size_t i = 0;
      while (i < body.size()) {
        while (i < body.size() && (body[i] == ' ' || body[i] == ',')) ++i;
        if (i >= body.size()) break;
        size_t j = i;
        while (j < body.size() && body[j] != ',') ++j;
        std::string_view item = body.substr(i, j - i);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        uint32_t h = 0;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), h);
        if (ec != std::errc() || p != item.data() + item.size()) {
          return InvalidArgument(
              fmt::format("{}:{}: key 'hash_ids': '{}' is not a block id", file, line_no, item));
        }
        r.block_hashes.push_back(h);
        i = j;
      }
    }
    out.push_back(std::move(r));
  }
  if (out.empty()) return InvalidArgument(fmt::format("{}:1: empty trace", file));
  const double first = out.front().arrival_s;
  for (auto& r : out) r.arrival_s -= first;
  return out;
}

Result<std::vector<serve::Request>> ReadMooncakeTrace(const std::string& path,
                                                      const ServeTraceOptions& options) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxTraceBytes));
  return ParseMooncakeTrace(text, path, options);
}

Result<std::vector<serve::Request>> ReadServeTrace(const std::string& path,
                                                   const ServeTraceOptions& options) {
  if (path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0)
    return ReadMooncakeTrace(path, options);
  return ReadAzureLlmTrace(path, options);
}

Result<std::vector<serve::Request>> ReadAzureLlmTrace(const std::string& path,
                                                      const ServeTraceOptions& options) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxTraceBytes));
  return ParseAzureLlmTrace(text, path, options);
}

}  // namespace aif::config
