// Serving requests and synthetic load: Poisson, gamma (bursty) and diurnal arrivals with fixed or
// lognormal prompt and output lengths. Traces come from config (serve_traces.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aifactory/core/status.h"

namespace aif::serve {

// One request. Text requests carry token counts; speech requests the seconds of audio to produce.
struct Request {
  double arrival_s = 0;
  int prompt_tokens = 0;
  int output_tokens = 0;
  double audio_seconds = 0;  // > 0: a speech-generation request
  int task = 0;              // index into the scenario's task classes
  // Prefix caching: requests with the same non-zero prefix_group share their first
  // prefix_tokens prompt tokens (a system prompt, a conversation's history).
  uint32_t prefix_group = 0;
  int prefix_tokens = 0;
  // Or, from a trace with block hashes (Mooncake): the hash of each block of the prompt
  // (ServeScenario::hash_block_tokens tokens each); equal hashes are reusable KV blocks.
  std::vector<uint32_t> block_hashes;
};

enum class ArrivalKind { kPoisson, kGamma, kDiurnal };

struct LengthDistribution {
  double mean = 0;  // tokens (or seconds of audio)
  double cv = 0;    // coefficient of variation; 0 = every request the same
  double min = 1;
  double max = 1e9;
};

struct SyntheticLoad {
  ArrivalKind arrivals = ArrivalKind::kPoisson;
  double rate_per_s = 1;           // mean arrival rate
  double cv = 1;                   // gamma: coefficient of variation of inter-arrival times
  double diurnal_amplitude = 0.5;  // diurnal: rate * (1 + a sin(2 pi t / period))
  double diurnal_period_s = 86400;
  double duration_s = 60;
  long long max_requests = 0;  // > 0: stop after this many
  LengthDistribution prompt{512, 0, 1, 1e9};
  LengthDistribution output{128, 0, 1, 1e9};
  LengthDistribution audio{0, 0, 0, 1e9};  // mean > 0: speech requests
  int task = 0;
  int prefix_groups = 0;  // > 0: each request joins one of this many shared prefixes
  int prefix_tokens = 0;
  uint64_t seed = 1;
};

// Requests sorted by arrival time; deterministic for a seed.
Result<std::vector<Request>> GenerateLoad(const SyntheticLoad& load);

const char* ArrivalKindName(ArrivalKind kind);

}  // namespace aif::serve
