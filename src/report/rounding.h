// Number rounding shared by the report writers (internal to the report module).
#pragma once

#include <cmath>

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

}  // namespace aif::report
