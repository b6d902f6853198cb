// Seeded, portable random numbers (xoshiro256**, seeded by splitmix64): the same seed gives the
// same stream on every platform and compiler, unlike std:: distributions.
#pragma once

#include <cstdint>

namespace aif {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t NextU64();
  // Uniform in [0, 1).
  double Uniform();
  // Uniform integer in [0, n); n > 0.
  uint64_t Below(uint64_t n);
  // Exponential with the given mean.
  double Exponential(double mean);

 private:
  uint64_t s_[4];
};

}  // namespace aif
