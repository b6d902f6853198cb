// Serving simulation: requests routed across pools of model instances (continuous batching,
// paged KV cache, chunked prefill, preemption, prefix caching, prefill/decode disaggregation),
// speech-generation pools and external providers; per-request latencies and the fleet's
// throughput, goodput, GPUs, energy and cost. A tight event loop (arrivals, engine iterations,
// KV transfers in time order, ties by insertion order): same input, same result.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/serve/engine_model.h"
#include "aifactory/serve/router.h"
#include "aifactory/serve/workload.h"

namespace aif::serve {

enum class PoolRole { kUnified, kPrefill, kDecode };
const char* PoolRoleName(PoolRole role);

// Identical instances of one model on one accelerator type.
struct LlmPool {
  std::string name;
  std::shared_ptr<const EngineModel> engine;
  int instances = 1;
  PoolRole role = PoolRole::kUnified;
  std::string decode_pool;           // prefill pools: where finished prompts go
  // Prefill -> decode KV transfers: each instance's share of the scale-out network (its NICs
  // together) and the one-way latency. Transfers run as flows on net::Network and share these
  // links max-min fairly (docs/serving.md, "Disaggregation").
  BytesPerSecond kv_link_bandwidth;
  Seconds kv_link_latency;
  bool prefix_caching = false;
  Dollars gpu_hour_price;                // per GPU-hour
  Watts gpu_power;                       // busy power per GPU (TDP)
  double idle_power_fraction = 0;        // idle power as a fraction of busy power
  int max_queue_per_instance = 1 << 30;  // more waiting per instance: the pool counts as saturated
};

// A speech-generation model described by its output rate: `audio_rate` seconds of audio per
// second of GPU time on `gpus_per_instance` GPUs, for one request at a time, plus a fixed
// start-up latency. Requests wait in a FIFO per instance.
struct SpeechPool {
  std::string name;
  int instances = 1;
  int gpus_per_instance = 1;
  double audio_rate = 60;
  Seconds startup;
  Dollars gpu_hour_price;
  Watts gpu_power;
  double idle_power_fraction = 0;
  int max_queue_per_instance = 1 << 30;
};

// An external endpoint bought by the token.
struct Provider {
  std::string name;
  Seconds ttft;                     // median time to first token it serves at
  double output_tokens_per_s = 50;  // per request, after the first token
  Dollars price_per_m_input;
  Dollars price_per_m_output;
  double rate_limit_rpm = 0;  // requests per minute; 0 = unlimited
  int max_concurrency = 0;    // requests in flight; 0 = unlimited
};

// Latency targets of a task class (0 = no target).
struct LatencyTargets {
  Seconds ttft;
  Seconds tpot;  // time per output token (between tokens)
  Seconds e2e;
};

// A task class: its targets, the backends that may serve it and the policy that picks one.
struct TaskClass {
  std::string name;
  LatencyTargets targets;
  std::vector<std::string> backends;  // pool, speech pool or provider names
  std::string policy = "ordered";
};

struct ServeScenario {
  std::string name;
  std::vector<LlmPool> pools;
  std::vector<SpeechPool> speech;
  std::vector<Provider> providers;
  std::vector<TaskClass> tasks;
  std::vector<Request> requests;  // sorted by arrival
  int hash_block_tokens = 512;    // tokens per Request::block_hashes entry (Mooncake: 512)
  uint64_t seed = 1;
};

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
};

// Per backend (pool, speech pool or provider).
struct BackendResult {
  std::string name;
  std::string kind;  // llm | speech | provider
  std::string plan;  // llm pools: "TP4 PP1"; speech: GPUs per instance
  int instances = 0;
  int gpus = 0;
  long long requests = 0;
  long long output_tokens = 0;
  long long input_tokens = 0;
  double audio_seconds = 0;
  double busy_fraction = 0;      // mean over instances of busy time / makespan
  long long peak_kv_blocks = 0;  // most blocks in use on any one engine
  long long kv_blocks = 0;       // capacity of one engine
  long long preemptions = 0;
  long long prefix_hit_tokens = 0;
  long long iterations = 0;
  double energy_j = 0;
  double cost_usd = 0;
};

struct TaskResult {
  std::string name;
  long long requests = 0, completed = 0, rejected = 0, met_targets = 0;
  Percentiles ttft, tpot, e2e;
};

struct ServeResult {
  long long requests = 0;
  long long completed = 0;
  long long rejected = 0;   // every backend of its task saturated
  long long fallbacks = 0;  // served by another than the policy's first choice
  double makespan_s = 0;    // first arrival to last completion
  Percentiles ttft, tpot, e2e;
  double throughput_rps = 0;
  double output_tokens_per_s = 0;
  double goodput_rps = 0;  // completed requests that met their task's targets, per second
  int gpus = 0;
  double energy_j = 0;
  double cost_usd = 0;
  double cost_per_m_output_tokens = 0;
  double cost_per_m_tokens = 0;  // input + output
  double mean_in_system = 0;     // time-average of requests in the system (Little's L)
  // Disaggregation: KV transfers from prefill to decode instances, their bytes, and their
  // durations (first byte to arrival, latency included).
  long long kv_transfers = 0;
  double kv_bytes = 0;
  Percentiles kv_transfer_s;
  long long output_tokens = 0, input_tokens = 0;
  std::vector<BackendResult> backends;
  std::vector<TaskResult> tasks;
  // Per completed request, in arrival order (kept only when asked).
  std::vector<double> request_ttft, request_e2e;
};

struct SimulateOptions {
  bool keep_request_latencies = false;
  // Every KV transfer alone on its own link (latency + bytes / bandwidth, no contention): the
  // model before KV flows shared the network, kept for comparison.
  bool kv_dedicated_links = false;
};

// Checks names and references (tasks -> backends, prefill -> decode pools, policies).
Status ValidateScenario(const ServeScenario& scenario);

Result<ServeResult> Simulate(const ServeScenario& scenario, const SimulateOptions& options = {});

// Percentiles of `values` by linear interpolation between closest ranks (numpy's default).
Percentiles ComputePercentiles(std::vector<double> values);

}  // namespace aif::serve
