// Serving simulator speed (issue 7 bars, release build): the full Azure conversation trace in at
// most 2 s; a million requests across 50 instances in at most 10 s.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/serve_traces.h"
#include "aifactory/serve/simulator.h"

#ifndef AIF_SHARED_DIR
#define AIF_SHARED_DIR "../shared"
#endif

namespace {

using namespace aif;

const catalog::Catalog& Cat() {
  static const catalog::Catalog cat = *config::LoadBuiltinCatalog();
  return cat;
}

std::shared_ptr<const serve::EngineModel> Engine(const std::string& model, serve::InstancePlan plan,
                                                 catalog::Precision p) {
  serve::EngineOptions o;
  o.weight_precision = p;
  o.kv_bytes_per_element = p == catalog::Precision::kFp8 ? 1 : 2;
  auto m = serve::EngineModel::Make(**Cat().FindModel(model), **Cat().FindAccelerator("h100-sxm"),
                                    **Cat().FindEfficiency("h100-sxm"), plan, o);
  return std::make_shared<serve::EngineModel>(std::move(*m));
}

serve::ServeScenario Scenario(std::shared_ptr<const serve::EngineModel> engine, int instances) {
  serve::ServeScenario s;
  serve::LlmPool pool;
  pool.name = "pool";
  pool.engine = std::move(engine);
  pool.instances = instances;
  s.pools.push_back(pool);
  serve::TaskClass t;
  t.name = "chat";
  t.backends = {"pool"};
  s.tasks.push_back(t);
  return s;
}

// Read the trace (19,366 requests) and replay it on Llama 3 70B FP8, TP4, two instances.
void BM_AzureConversationTrace(benchmark::State& state) {
  const std::string path =
      std::string(AIF_SHARED_DIR) + "/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv";
  auto engine = Engine("llama3-70b", serve::InstancePlan{4, 1, 1}, catalog::Precision::kFp8);
  for (auto _ : state) {
    auto requests = config::ReadAzureLlmTrace(path);
    if (!requests.ok()) {
      state.SkipWithError(requests.status().message().c_str());
      return;
    }
    serve::ServeScenario s = Scenario(engine, 2);
    s.requests = std::move(*requests);
    auto r = serve::Simulate(s);
    benchmark::DoNotOptimize(r);
    state.counters["requests"] = static_cast<double>(r->completed);
  }
}
BENCHMARK(BM_AzureConversationTrace)->Unit(benchmark::kMillisecond);

// The same trace on disaggregated Llama 3 70B FP8 TP4 pools, two prefill and two decode instances,
// each with a 1600 Gb/s KV link (4 x 400 Gb/s NDR): every request's KV is a flow on net::Network
// (argument 1), or on a dedicated link as before (argument 0), to show the cost of the flows.
void BM_AzureConversationDisaggregated(benchmark::State& state) {
  const std::string path =
      std::string(AIF_SHARED_DIR) + "/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv";
  auto requests = config::ReadAzureLlmTrace(path);
  if (!requests.ok()) {
    state.SkipWithError(requests.status().message().c_str());
    return;
  }
  auto engine = Engine("llama3-70b", serve::InstancePlan{4, 1, 1}, catalog::Precision::kFp8);
  serve::ServeScenario s = Scenario(engine, 2);
  s.pools.front().name = "prefill";
  s.pools.front().role = serve::PoolRole::kPrefill;
  s.pools.front().decode_pool = "decode";
  s.pools.front().kv_link_bandwidth = BytesPerSecond(1600e9 / 8);
  s.pools.front().kv_link_latency = Seconds(14e-6);
  serve::LlmPool decode = s.pools.front();
  decode.name = "decode";
  decode.role = serve::PoolRole::kDecode;
  s.pools.push_back(decode);
  s.tasks.front().backends = {"prefill"};
  s.requests = std::move(*requests);
  serve::SimulateOptions o;
  o.kv_dedicated_links = state.range(0) == 0;
  for (auto _ : state) {
    auto r = serve::Simulate(s, o);
    benchmark::DoNotOptimize(r);
    state.counters["requests"] = static_cast<double>(r->completed);
    state.counters["kv_p99_ms"] = r->kv_transfer_s.p99 * 1e3;
  }
}
BENCHMARK(BM_AzureConversationDisaggregated)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// One million requests (Poisson, Azure-conversation-like lengths) over 50 Llama 3 8B FP8 instances.
void BM_MillionRequestsFiftyInstances(benchmark::State& state) {
  serve::SyntheticLoad load;
  load.rate_per_s = 500;
  load.duration_s = 1e9;
  load.max_requests = 1000000;
  load.prompt = {1155, 0.96, 1, 14050};
  load.output = {211, 0.77, 1, 1000};
  auto requests = serve::GenerateLoad(load);
  serve::ServeScenario s =
      Scenario(Engine("llama3-8b", serve::InstancePlan{}, catalog::Precision::kFp8), 50);
  s.requests = std::move(*requests);
  for (auto _ : state) {
    auto r = serve::Simulate(s);
    benchmark::DoNotOptimize(r);
    state.counters["requests"] = static_cast<double>(r->completed);
    state.counters["ttft_p99_ms"] = r->ttft.p99 * 1e3;
  }
}
BENCHMARK(BM_MillionRequestsFiftyInstances)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
