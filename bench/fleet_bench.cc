// Fleet trace replay at factory scale: 100,000 synthetic jobs on 10,000 GPUs, each holding its
// GPUs from its own start for its own duration (no scheduler: issue 6's later bar of 100,000 jobs
// on 10,000 GPUs in <= 5 s includes one; this is the replay alone). Also the trace statistics.
//
// The synthetic trace: Poisson arrivals at 0.855 jobs/s, exponential durations of mean 1 h,
// GPUs per job 1 (60%), 2 (10%), 4 (15%), 8 (15%) -> about 80% of 10,000 GPUs busy on average
// while jobs arrive (the utilization counter is over [0, last arrival], leaving out the drain).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "aifactory/core/random.h"
#include "aifactory/fleet/replay.h"
#include "aifactory/fleet/trace_stats.h"

namespace {

using aif::Seconds;
using aif::fleet::JobRecord;
using aif::fleet::Trace;

constexpr int kGpus = 10000;

Trace SyntheticTrace(int jobs, std::uint64_t seed) {
  aif::Rng rng(seed);
  Trace t;
  t.source = "synthetic";
  t.records_start_times = true;
  t.jobs.reserve(static_cast<size_t>(jobs));
  double now = 0;
  for (int i = 0; i < jobs; ++i) {
    now += rng.Exponential(1.0 / 0.855);
    JobRecord j;
    j.id = std::to_string(i);
    j.submit_time = Seconds(now);
    j.start_time = Seconds(now);
    j.duration = Seconds(1.0 + rng.Exponential(3600.0));
    const std::uint64_t u = rng.Below(100);
    j.gpus = u < 60 ? 1 : u < 70 ? 2 : u < 85 ? 4 : 8;
    t.jobs.push_back(std::move(j));
  }
  return t;
}

const Trace& Jobs100k() {
  static const Trace trace = SyntheticTrace(100000, 42);
  return trace;
}

void BM_Replay(benchmark::State& state) {
  const Trace& trace = Jobs100k();
  aif::fleet::ReplayOptions options;
  options.record_series = state.range(0) != 0;
  options.window_begin = Seconds(0);
  options.window_end = *trace.jobs.back().submit_time;
  aif::fleet::ReplayResult last;
  for (auto _ : state) {
    auto r = aif::fleet::ReplayTrace(trace, kGpus, options);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      std::abort();
    }
    last = std::move(r).value();
    benchmark::DoNotOptimize(last.busy_gpu_seconds);
  }
  state.counters["jobs"] = static_cast<double>(last.jobs_replayed);
  state.counters["utilization"] = last.mean_utilization;
  state.counters["peak_gpus"] = last.peak_busy_gpus;
  state.counters["over_capacity_jobs"] = static_cast<double>(last.jobs_over_capacity);
  state.counters["events_per_s"] = benchmark::Counter(
      static_cast<double>(last.events_run) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Replay)->Arg(1)->Arg(0)->ArgName("series")->Unit(benchmark::kMillisecond);

void BM_TraceStats(benchmark::State& state) {
  const Trace& trace = Jobs100k();
  for (auto _ : state) {
    auto st = aif::fleet::ComputeTraceStats(trace);
    benchmark::DoNotOptimize(st.runtime);
  }
}
BENCHMARK(BM_TraceStats)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
