// Trace statistics computed the way ../shared/traces/compute_stats.py computes them, so that the
// figures a trace's README lists can be reproduced exactly:
// - percentiles interpolate linearly between closest ranks at (n-1)*p/100 (numpy's default);
// - mean is the correctly rounded sum over n (Python's statistics.fmean, math.fsum);
// - std is the population standard deviation (statistics.pstdev);
// - span is max - min of the submit times; mean rate is N / span.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aifactory/fleet/trace.h"

namespace aif::fleet {

// compute_stats.py's summ(): n, min, max, mean, population std, p10 ... p99.
struct Summary {
  std::int64_t n = 0;
  double min = 0, max = 0, mean = 0, std = 0;
  double p10 = 0, p25 = 0, p50 = 0, p75 = 0, p90 = 0, p95 = 0, p99 = 0;
  double median() const { return p50; }
};

// The p-th percentile (0..100) of ascending `sorted` values; NaN when empty.
double Percentile(const std::vector<double>& sorted, double p);
// The sum of `values` correctly rounded (Shewchuk's exact partials, as math.fsum).
double ExactSum(const std::vector<double>& values);
// Summary of `values` (any order); n = 0 and zeros when empty.
Summary Summarize(std::vector<double> values);

// Counts in the order Python's Counter.most_common() lists them: by count, descending, ties in
// order of first appearance.
using CountList = std::vector<std::pair<std::string, std::int64_t>>;

struct TraceStats {
  std::int64_t jobs = 0;
  std::int64_t gpu_jobs = 0;                 // jobs with gpus > 0
  std::map<int, std::int64_t> gpus_per_job;  // GPUs -> jobs, ascending
  std::int64_t total_gpus = 0;               // sum of gpus
  double total_gpu_share = 0;                // sum of gpus x gpu_milli / 1000
  CountList status_counts;                   // most_common order
  CountList job_families;                    // job_type up to " (", most_common order

  std::optional<Summary> runtime;   // duration, over jobs that have one
  std::optional<Summary> lifetime;  // end - submit, over jobs that have both
  std::optional<Summary> wait;      // start - submit, over jobs that have both
  std::int64_t jobs_waited = 0;     // start > submit
  std::int64_t jobs_without_start = 0;
  std::optional<Summary> work_steps;  // over jobs with work_steps > 0

  // Submit times: first, last, span (max - min), whether non-decreasing in file order, N / span.
  std::optional<double> first_submit, last_submit, span;
  bool submit_sorted = true;
  std::optional<double> arrival_rate_per_hour;
  std::optional<double> last_end;  // max end time
};

TraceStats ComputeTraceStats(const Trace& trace);

}  // namespace aif::fleet
