// Trace replay: every job holds its GPUs from its own start time for its own duration, on a
// cluster of a given size, with no scheduler in between. It measures what the trace itself
// implies: GPU-busy fraction over time, peak concurrent GPUs, and whether the trace ever asks
// for more GPUs than the cluster has (such jobs are replayed anyway and counted, never dropped).
// Runs on the discrete-event kernel (aifactory/des/simulator.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"
#include "aifactory/fleet/trace.h"

namespace aif::fleet {

struct ReplayOptions {
  // Keep every change of the busy GPUs (one point per distinct event time).
  bool record_series = true;
  // Averaging window, trace clock; default from the first start to the last end.
  std::optional<Seconds> window_begin;
  std::optional<Seconds> window_end;
};

// Busy GPUs from `time` until the next point.
struct UtilizationPoint {
  Seconds time;
  double busy_gpus = 0;
};

struct ReplayResult {
  int capacity_gpus = 0;
  std::int64_t jobs_replayed = 0;       // held GPUs for a positive duration
  std::int64_t zero_length_jobs = 0;    // started and ended at once: counted, hold nothing
  std::int64_t jobs_never_started = 0;  // the trace records start times and this job has none
  std::int64_t jobs_without_time = 0;   // neither a start nor a submit time
  std::int64_t jobs_without_duration = 0;
  std::int64_t jobs_without_gpus = 0;  // CPU-only: hold no GPU, not replayed
  // Jobs whose start took the busy GPUs above capacity (they are replayed all the same).
  std::int64_t jobs_over_capacity = 0;
  Seconds time_over_capacity;

  double peak_busy_gpus = 0;  // GPU shares (gpus x gpu_milli / 1000)
  Seconds peak_time;
  std::int64_t peak_whole_gpus = 0;  // the same moment counted in whole GPUs requested (gpus)
  double busy_gpu_seconds = 0;       // inside the window
  Seconds window_begin, window_end;
  double mean_utilization = 0;  // busy_gpu_seconds / (capacity x window)
  std::vector<UtilizationPoint> series;
  std::uint64_t events_run = 0;

  bool WithinCapacity() const { return jobs_over_capacity == 0; }
};

// Replays `trace` on `capacity_gpus` GPUs. A job starts at its start time (at its submit time
// when the trace records no start times) and holds gpus x gpu_milli for its duration (end -
// start when no duration is stated). At one instant, jobs that end release their GPUs before
// jobs that start take theirs. Fails on a non-positive capacity, a negative or non-finite time
// or duration, a trace longer than the kernel's clock (292 years) or an empty window.
Result<ReplayResult> ReplayTrace(const Trace& trace, int capacity_gpus,
                                 const ReplayOptions& options = {});

// Mean busy fraction of `capacity_gpus` in consecutive bins of `bin` from the window's begin
// (the last bin may be shorter); needs a result with its series recorded.
std::vector<double> UtilizationByBin(const ReplayResult& result, Seconds bin);

}  // namespace aif::fleet
