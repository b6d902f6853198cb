// Capacity planning: the fewest GPUs (instances x plan) that meet every task's latency targets at
// the scenario's load. Each unified pool is sized alone, on the requests of the tasks whose first
// backend it is (no fallbacks), for every candidate plan: instances double until the targets are
// met, then a binary search finds the smallest count (the search assumes, and the tests check,
// that more instances never make the tail worse). Speech pools are sized the same way. A
// disaggregated pair (a prefill pool and its decode pool) is sized pool by pool: the prefill pool
// on the TTFT targets (its first token does not depend on the decode pool), then the decode pool
// with that prefill pool on all the targets; each pool gets its own plan from `plans`, and a
// PoolCapacity entry each (prefill first).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aifactory/serve/simulator.h"

namespace aif::serve {

// Builds pool `pool`'s engine with another plan (the scenario's model, accelerator and options).
using EngineFactory =
    std::function<Result<std::shared_ptr<const EngineModel>>(size_t pool, const InstancePlan&)>;

struct CapacityOptions {
  std::vector<InstancePlan> plans;  // empty: the pool's own plan only
  int max_instances = 1024;
  double percentile = 0.9;  // targets apply to this percentile (0.5, 0.9 or 0.99)
};

struct PlanTrial {
  InstancePlan plan;
  int instances = 0;  // 0: no count up to max_instances met the targets (or the plan did not fit)
  int gpus = 0;
  std::string note;  // why the plan was not usable
  int simulations = 0;
};

struct PoolCapacity {
  std::string pool;
  std::string kind;  // llm | speech
  bool met = false;
  InstancePlan plan;
  int instances = 0;
  int gpus = 0;
  std::vector<PlanTrial> trials;
};

struct CapacityResult {
  std::vector<PoolCapacity> pools;
  int gpus = 0;
  ServeScenario sized;  // the scenario with the chosen plans and counts
  ServeResult result;   // its simulation (with fallbacks, as configured)
};

// True when every task of `result` meets its targets at `percentile` and nothing was rejected.
bool MeetsTargets(const ServeScenario& scenario, const ServeResult& result, double percentile);

Result<CapacityResult> FindCapacity(const ServeScenario& scenario, const EngineFactory& factory,
                                    const CapacityOptions& options);

}  // namespace aif::serve
