// Units are types: SI doubles wrapped so that bytes never add to seconds. Only the products and
// quotients that mean something are defined (Flops / FlopsPerSecond = Seconds, ...).
#pragma once

#include <string>
#include <string_view>

#include "aifactory/core/status.h"

namespace aif {

template <typename Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(double value) : value_(value) {}
  constexpr double value() const { return value_; }

  constexpr Quantity operator+(Quantity o) const { return Quantity(value_ + o.value_); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(value_ - o.value_); }
  constexpr Quantity& operator+=(Quantity o) { value_ += o.value_; return *this; }
  constexpr Quantity& operator-=(Quantity o) { value_ -= o.value_; return *this; }
  constexpr Quantity operator*(double k) const { return Quantity(value_ * k); }
  constexpr Quantity operator/(double k) const { return Quantity(value_ / k); }
  constexpr Quantity& operator*=(double k) { value_ *= k; return *this; }
  constexpr double operator/(Quantity o) const { return value_ / o.value_; }
  constexpr auto operator<=>(const Quantity&) const = default;

 private:
  double value_ = 0.0;
};

template <typename Tag>
constexpr Quantity<Tag> operator*(double k, Quantity<Tag> q) { return q * k; }

struct SecondsTag {};
struct BytesTag {};
struct FlopsTag {};
struct FlopsPerSecondTag {};
struct BytesPerSecondTag {};
struct WattsTag {};
struct JoulesTag {};
struct DollarsTag {};

using Seconds = Quantity<SecondsTag>;
using Bytes = Quantity<BytesTag>;
using Flops = Quantity<FlopsTag>;
using FlopsPerSecond = Quantity<FlopsPerSecondTag>;
using BytesPerSecond = Quantity<BytesPerSecondTag>;
using Watts = Quantity<WattsTag>;
using Joules = Quantity<JoulesTag>;
using Dollars = Quantity<DollarsTag>;

constexpr Seconds operator/(Flops f, FlopsPerSecond r) { return Seconds(f.value() / r.value()); }
constexpr Seconds operator/(Bytes b, BytesPerSecond r) { return Seconds(b.value() / r.value()); }
constexpr Flops operator*(FlopsPerSecond r, Seconds t) { return Flops(r.value() * t.value()); }
constexpr Bytes operator*(BytesPerSecond r, Seconds t) { return Bytes(r.value() * t.value()); }
constexpr Joules operator*(Watts p, Seconds t) { return Joules(p.value() * t.value()); }
constexpr FlopsPerSecond operator/(Flops f, Seconds t) { return FlopsPerSecond(f.value() / t.value()); }
constexpr BytesPerSecond operator/(Bytes b, Seconds t) { return BytesPerSecond(b.value() / t.value()); }

// What a quantity string in a scenario or catalog measures.
enum class Dimension { kSeconds, kBytes, kFlopsPerSecond, kBytesPerSecond, kWatts, kDollars };

// Parses "<number> <unit>", e.g. "989 TFLOP/s", "3.35 TB/s", "400 Gb/s" (bits), "80 GB",
// "80 GiB", "700 W", "1.2 kW", "1.5 us", "$2.50" or "2.5 USD". Returns the SI value (bytes,
// bytes/s, FLOP/s, W, s, USD). The unit is required: a bare number is an error, and bits vs
// bytes follow the case of the b/B.
Result<double> ParseQuantity(std::string_view text, Dimension dimension);

// A short example of the expected syntax, for error messages: "900 GB/s".
const char* DimensionExample(Dimension dimension);

// Human-readable formatting with an SI prefix: FormatSi(1.5e12, "FLOP/s") = "1.50 TFLOP/s".
std::string FormatSi(double value, std::string_view unit, int precision = 3);
// Seconds as "1.23 ms", "4.5 s", "2.1 h", "3.2 days".
std::string FormatDuration(Seconds t);

}  // namespace aif
