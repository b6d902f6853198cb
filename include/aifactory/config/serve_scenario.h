// A serving scenario file (data/scenarios/serve-*.yaml; keys in docs/serving.md): workloads
// (Azure LLM trace files or synthetic load), pools of model instances, speech pools, external
// providers, task classes with latency targets and routing, and the capacity-search options.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "aifactory/catalog/catalog.h"
#include "aifactory/serve/capacity.h"
#include "aifactory/serve/simulator.h"

namespace aif::config {

struct LoadedServeScenario {
  std::shared_ptr<const catalog::Catalog> catalog;  // the engines point into it
  serve::ServeScenario scenario;
  serve::CapacityOptions capacity;
  // Rebuilds pool i's engine with another plan (for serve::FindCapacity).
  serve::EngineFactory factory;
  std::map<std::string, std::string> sources;  // "pools[0].gpu_hour_price" -> citation
};

struct ServeScenarioOverrides {
  std::string
      trace;  // non-empty: replaces the workloads by this trace (first task; *.jsonl: Mooncake)
  double trace_time_scale = 1;
  long long max_requests = 0;
  long long seed = -1;  // >= 0: replaces the scenario's seed
};

// `file` names the text in errors and anchors relative trace paths (its directory).
Result<LoadedServeScenario> ParseServeScenario(std::string_view text, const std::string& file,
                                               const catalog::Catalog& catalog,
                                               const ServeScenarioOverrides& overrides = {});
Result<LoadedServeScenario> LoadServeScenarioFile(const std::string& path,
                                                  const catalog::Catalog& catalog,
                                                  const ServeScenarioOverrides& overrides = {});

}  // namespace aif::config
