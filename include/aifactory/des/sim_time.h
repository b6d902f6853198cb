// Simulated time: an integer count of nanoseconds, so that event order never depends on floating
// point rounding. Conversions from and to `Seconds` (aifactory/core/units.h) are explicit.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

#include "aifactory/core/units.h"

namespace aif::des {

class SimTime {
 public:
  constexpr SimTime() = default;

  static constexpr SimTime Nanoseconds(std::int64_t ns) { return SimTime(ns); }
  static constexpr SimTime Zero() { return SimTime(0); }
  // Later than every event; Run(SimTime::Max()) runs until the queue is empty.
  static constexpr SimTime Max() { return SimTime(std::numeric_limits<std::int64_t>::max()); }
  // The nearest nanosecond to `s`. `s` must be finite, non-negative and below Max().
  static SimTime FromSeconds(Seconds s);
  // The first nanosecond at or after `s` (for "done by then"). Same domain as FromSeconds.
  static SimTime FromSecondsCeil(Seconds s);

  constexpr std::int64_t ns() const { return ns_; }
  constexpr Seconds ToSeconds() const { return Seconds(static_cast<double>(ns_) * 1e-9); }

  constexpr SimTime operator+(SimTime o) const { return SimTime(ns_ + o.ns_); }
  constexpr SimTime operator-(SimTime o) const { return SimTime(ns_ - o.ns_); }
  constexpr SimTime& operator+=(SimTime o) {
    ns_ += o.ns_;
    return *this;
  }
  constexpr auto operator<=>(const SimTime&) const = default;

 private:
  constexpr explicit SimTime(std::int64_t ns) : ns_(ns) {}
  std::int64_t ns_ = 0;
};

}  // namespace aif::des
