#include "aifactory/core/units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace aif {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Decimal (k, M, G, T, P, E) and binary (Ki, Mi, Gi, Ti, Pi) prefixes; returns the remaining unit.
bool SplitPrefix(std::string_view unit, std::string_view base, double* scale) {
  if (unit == base) {
    *scale = 1;
    return true;
  }
  if (unit.size() <= base.size() || unit.substr(unit.size() - base.size()) != base) return false;
  std::string_view prefix = unit.substr(0, unit.size() - base.size());
  struct P { std::string_view p; double s; };
  static constexpr std::array<P, 14> kPrefixes = {{{"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3},
      {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}}};
  for (const auto& p : kPrefixes) {
    if (prefix == p.p) {
      *scale = p.s;
      return true;
    }
  }
  return false;
}

Result<double> UnitScale(std::string_view unit, Dimension dim) {
  double s = 0;
  switch (dim) {
    case Dimension::kSeconds:
      if (SplitPrefix(unit, "s", &s)) return s;
      if (unit == "min") return 60.0;
      if (unit == "h") return 3600.0;
      if (unit == "day" || unit == "days") return 86400.0;
      if (unit == "year" || unit == "years") return 365.0 * 86400.0;
      break;
    case Dimension::kBytes:
      if (SplitPrefix(unit, "B", &s)) return s;
      if (SplitPrefix(unit, "b", &s)) return s / 8.0;
      break;
    case Dimension::kBytesPerSecond:
      if (SplitPrefix(unit, "B/s", &s)) return s;
      if (SplitPrefix(unit, "b/s", &s)) return s / 8.0;
      if (SplitPrefix(unit, "bps", &s)) return s / 8.0;
      break;
    case Dimension::kFlopsPerSecond:
      if (SplitPrefix(unit, "FLOP/s", &s)) return s;
      if (SplitPrefix(unit, "FLOPS", &s)) return s;
      break;
    case Dimension::kWatts:
      if (SplitPrefix(unit, "W", &s)) return s;
      break;
    case Dimension::kDollars:
      if (unit == "USD" || unit == "$") return 1.0;
      break;
  }
  return InvalidArgument("");
}

}  // namespace

const char* DimensionExample(Dimension dimension) {
  switch (dimension) {
    case Dimension::kSeconds: return "1.5 us";
    case Dimension::kBytes: return "80 GB";
    case Dimension::kFlopsPerSecond: return "989 TFLOP/s";
    case Dimension::kBytesPerSecond: return "900 GB/s";
    case Dimension::kWatts: return "700 W";
    case Dimension::kDollars: return "25000 USD";
  }
  return "";
}

Result<double> ParseQuantity(std::string_view text, Dimension dimension) {
  std::string_view s = Trim(text);
  auto error = [&](const std::string& why) {
    return InvalidArgument(fmt::format("expected a quantity with its unit, like '{}', got '{}'{}",
                                       DimensionExample(dimension), text, why));
  };
  bool dollar_prefix = false;
  if (!s.empty() && s.front() == '$') {
    dollar_prefix = true;
    s.remove_prefix(1);
  }
  double number = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || ptr == begin) return error("");
  if (!std::isfinite(number)) return error(" (not a finite number)");
  std::string_view unit = Trim(std::string_view(ptr, static_cast<size_t>(end - ptr)));
  if (dollar_prefix) {
    if (dimension != Dimension::kDollars || !unit.empty()) return error("");
    return number;
  }
  if (unit.empty()) return error(" (the unit is missing)");
  auto scale = UnitScale(unit, dimension);
  if (!scale.ok()) return error(fmt::format(" (unknown unit '{}')", unit));
  return number * *scale;
}

std::string FormatSi(double value, std::string_view unit, int precision) {
  static constexpr std::array<std::pair<double, const char*>, 7> kPrefixes = {
      {{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}}};
  double a = std::fabs(value);
  for (const auto& [scale, prefix] : kPrefixes) {
    if (a >= scale) return fmt::format("{:.{}g} {}{}", value / scale, precision, prefix, unit);
  }
  return fmt::format("{:.{}g} {}", value, precision, unit);
}

std::string FormatDuration(Seconds t) {
  double s = t.value();
  if (s < 1e-3) return fmt::format("{:.1f} us", s * 1e6);
  if (s < 1) return fmt::format("{:.2f} ms", s * 1e3);
  if (s < 120) return fmt::format("{:.3g} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  if (s < 3 * 86400) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

}  // namespace aif
