// Number rounding and formatting shared by the report writers (internal to the report module).
#pragma once

#include <cmath>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace aif::report {

// Rounds to 6 significant digits so that reports are stable and readable. Large values divide by
// an exact power of ten (multiplying by an inexact 1e-6 would leave digits like
// 123457000000.00002 in the output).
inline double RoundSignificant(double x) {
  if (x == 0 || !std::isfinite(x)) return x == 0 ? 0.0 : x;
  int exponent = 5 - static_cast<int>(std::floor(std::log10(std::fabs(x))));
  if (exponent > 300) return x;  // subnormal: 10^exponent would overflow
  if (exponent >= 0) {
    double scale = std::pow(10.0, exponent);
    return std::round(x * scale) / scale;
  }
  double scale = std::pow(10.0, -exponent);
  return std::round(x / scale) * scale;
}

// A rounded number as JSON; null when it is not finite.
inline nlohmann::ordered_json Number(double x) {
  return std::isfinite(x) ? nlohmann::ordered_json(RoundSignificant(x)) : nlohmann::ordered_json(nullptr);
}

// A number as the HTML shows it: the same rounded double as the JSON, in its shortest text.
inline std::string Text(double x) { return fmt::format("{}", RoundSignificant(x)); }

}  // namespace aif::report
