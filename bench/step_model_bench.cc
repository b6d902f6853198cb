// One configuration's step time and memory (the hot path of plan search and validation).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/train/plan_search.h"
#include "aifactory/train/step_model.h"

namespace {

struct Fixture {
  aif::train::TrainingJob job;
  aif::train::Cluster cluster;
  aif::train::ParallelPlan plan;
};

Fixture Make(const char* model, const char* system, int gpus, aif::train::ParallelPlan plan, int seq, int gbs,
             aif::catalog::Precision precision) {
  auto cat = aif::config::LoadBuiltinCatalog();
  if (!cat.ok()) {
    std::cerr << cat.status().ToString() << "\n";
    std::abort();
  }
  Fixture f;
  f.job.model = **cat->FindModel(model);
  f.job.seq_len = seq;
  f.job.global_batch = gbs;
  f.job.precision = precision;
  f.cluster = *aif::train::MakeCluster(*cat, system, gpus);
  f.plan = plan;
  return f;
}

void BM_StepLlama405bH100(benchmark::State& state) {
  aif::train::ParallelPlan p;
  p.tp = 8; p.pp = 16; p.vp = 8; p.dp = 128;
  Fixture f = Make("llama3.1-405b", "dgx-h100", 16384, p, 8192, 2048, aif::catalog::Precision::kBf16);
  for (auto _ : state) {
    auto e = aif::train::EstimateStep(f.job, f.cluster, f.plan);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_StepLlama405bH100);

void BM_StepDeepseekV3Gb200(benchmark::State& state) {
  aif::train::ParallelPlan p;
  p.tp = 1; p.pp = 4; p.vp = 4; p.ep = 64; p.dp = 64;
  Fixture f = Make("deepseek-v3", "gb200-nvl72", 256, p, 4096, 4096, aif::catalog::Precision::kMxfp8);
  for (auto _ : state) {
    auto e = aif::train::EstimateStep(f.job, f.cluster, f.plan);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_StepDeepseekV3Gb200);

// The full plan search of Llama 3.1 405B on 16,384 H100 with 2,048 sequences of 8,192 tokens
// (Llama 3 paper, arXiv 2407.21783, sec. 3.3.2), single-threaded.
void BM_PlanSearchLlama405bH100(benchmark::State& state) {
  Fixture f = Make("llama3.1-405b", "dgx-h100", 16384, {}, 8192, 2048, aif::catalog::Precision::kBf16);
  aif::train::SearchOptions options;
  long long plans = 0;
  for (auto _ : state) {
    auto r = aif::train::SearchPlans(f.job, f.cluster, options);
    plans = r->evaluated;
    benchmark::DoNotOptimize(r);
  }
  state.counters["plans"] = static_cast<double>(plans);
  state.counters["plans_per_s"] = benchmark::Counter(static_cast<double>(plans) * state.iterations(),
                                                     benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlanSearchLlama405bH100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
