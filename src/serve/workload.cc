#include "aifactory/serve/workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "aifactory/core/random.h"

namespace aif::serve {
namespace {

double StandardNormal(Rng& rng) {  // Box-Muller: portable, unlike std::normal_distribution
  double u1 = std::max(rng.Uniform(), 1e-300);
  double u2 = rng.Uniform();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

// Gamma(shape k, scale 1) by Marsaglia-Tsang (k >= 1; boosted for k < 1).
double Gamma(Rng& rng, double k) {
  if (k < 1) return Gamma(rng, k + 1) * std::pow(std::max(rng.Uniform(), 1e-300), 1 / k);
  double d = k - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    double x = StandardNormal(rng), v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = rng.Uniform();
    if (std::log(std::max(u, 1e-300)) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

double Sample(Rng& rng, const LengthDistribution& dist) {
  double x = dist.mean;
  if (dist.cv > 0) {  // lognormal with the given mean and cv
    double s2 = std::log(1 + dist.cv * dist.cv);
    x = dist.mean * std::exp(std::sqrt(s2) * StandardNormal(rng) - s2 / 2);
  }
  return std::clamp(x, dist.min, dist.max);
}

}  // namespace

const char* ArrivalKindName(ArrivalKind kind) {
  switch (kind) {
    case ArrivalKind::kPoisson:
      return "poisson";
    case ArrivalKind::kGamma:
      return "gamma";
    case ArrivalKind::kDiurnal:
      return "diurnal";
  }
  return "?";
}

Result<std::vector<Request>> GenerateLoad(const SyntheticLoad& load) {
  if (!(load.rate_per_s > 0) || !(load.duration_s > 0)) {
    return InvalidArgument("load: rate and duration must be positive");
  }
  if (load.arrivals == ArrivalKind::kGamma && !(load.cv > 0))
    return InvalidArgument("load: gamma cv must be positive");
  if (load.arrivals == ArrivalKind::kDiurnal &&
      (load.diurnal_amplitude < 0 || load.diurnal_amplitude > 1)) {
    return InvalidArgument("load: diurnal amplitude must be within [0, 1]");
  }
  Rng rng(load.seed);
  std::vector<Request> out;
  double t = 0;
  const double peak = load.rate_per_s * (1 + load.diurnal_amplitude);
  for (;;) {
    switch (load.arrivals) {
      case ArrivalKind::kPoisson:
        t += rng.Exponential(1 / load.rate_per_s);
        break;
      case ArrivalKind::kGamma: {
        double k = 1 / (load.cv * load.cv);  // shape; mean k * scale = 1 / rate
        t += Gamma(rng, k) / (k * load.rate_per_s);
        break;
      }
      case ArrivalKind::kDiurnal: {  // thinning of a Poisson process at the peak rate
        for (;;) {
          t += rng.Exponential(1 / peak);
          double rate = load.rate_per_s *
                        (1 + load.diurnal_amplitude *
                                 std::sin(2 * std::numbers::pi * t / load.diurnal_period_s));
          if (rng.Uniform() * peak <= rate) break;
        }
        break;
      }
    }
    if (t > load.duration_s) break;
    if (load.max_requests > 0 && static_cast<long long>(out.size()) >= load.max_requests) break;
    Request r;
    r.arrival_s = t;
    r.task = load.task;
    if (load.audio.mean > 0) {
      r.audio_seconds = Sample(rng, load.audio);
    } else {
      r.prompt_tokens = static_cast<int>(std::lround(Sample(rng, load.prompt)));
      r.output_tokens = static_cast<int>(std::lround(Sample(rng, load.output)));
      r.prompt_tokens = std::max(1, r.prompt_tokens);
      r.output_tokens = std::max(1, r.output_tokens);
      if (load.prefix_groups > 0) {
        r.prefix_group = 1 + static_cast<uint32_t>(rng.Below(load.prefix_groups));
        r.prefix_tokens = std::min(load.prefix_tokens, r.prompt_tokens - 1);
      }
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace aif::serve
