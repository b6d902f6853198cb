#include "aifactory/fleet/trace_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

namespace aif::fleet {
namespace {

// Adds one to the count of `key`, keeping first-appearance order.
void Count(CountList* counts, std::string_view key) {
  for (auto& [k, n] : *counts) {
    if (k == key) {
      ++n;
      return;
    }
  }
  counts->emplace_back(std::string(key), 1);
}

// Counter.most_common(): by count descending; stable, so ties keep first-appearance order.
void MostCommonOrder(CountList* counts) {
  std::stable_sort(counts->begin(), counts->end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
}

std::optional<Summary> SummaryOrNone(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  return Summarize(std::move(values));
}

}  // namespace

double Percentile(const std::vector<double>& sorted, double p) {
  const size_t n = sorted.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  // k = (n-1)*p/100; f = floor(k); c = min(f+1, n-1); s[f] + (s[c]-s[f])*(k-f)
  const double k = static_cast<double>(n - 1) * p / 100.0;
  const double f = std::floor(k);
  const auto fi = static_cast<size_t>(f);
  const size_t ci = std::min(fi + 1, n - 1);
  return sorted[fi] + (sorted[ci] - sorted[fi]) * (k - f);
}

double ExactSum(const std::vector<double>& values) {
  // CPython's math.fsum: a list of non-overlapping partials whose sum is exact, then a rounding
  // of the partials from the top with the half-even correction.
  std::vector<double> partials;
  for (double x : values) {
    size_t i = 0;
    for (double y : partials) {
      if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
      const double hi = x + y;
      const double lo = y - (hi - x);
      if (lo != 0.0) partials[i++] = lo;
      x = hi;
    }
    partials.resize(i);
    if (x != 0.0) partials.push_back(x);
  }
  double hi = 0.0;
  size_t n = partials.size();
  if (n > 0) {
    double lo = 0.0;
    hi = partials[--n];
    while (n > 0) {
      const double x = hi;
      const double y = partials[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo != 0.0) break;
    }
    if (n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0))) {
      const double y = lo * 2.0;
      const double x = hi + y;
      if (y == x - hi) hi = x;
    }
  }
  return hi;
}

Summary Summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const auto n = static_cast<std::int64_t>(values.size());
  s.n = n;
  s.min = values.front();
  s.max = values.back();
  s.mean = ExactSum(values) / static_cast<double>(n);
  if (n > 1) {
    // Population variance, two passes in extended precision around the rounded mean, with the
    // residual of the mean folded back in (the exact sum of squares minus n x residual^2).
    long double dev = 0, sq = 0;
    for (double v : values) {
      const long double d = static_cast<long double>(v) - s.mean;
      dev += d;
      sq += d * d;
    }
    const long double var = (sq - dev * dev / n) / n;
    s.std = static_cast<double>(std::sqrt(std::max(var, 0.0L)));
  }
  s.p10 = Percentile(values, 10);
  s.p25 = Percentile(values, 25);
  s.p50 = Percentile(values, 50);
  s.p75 = Percentile(values, 75);
  s.p90 = Percentile(values, 90);
  s.p95 = Percentile(values, 95);
  s.p99 = Percentile(values, 99);
  return s;
}

TraceStats ComputeTraceStats(const Trace& trace) {
  TraceStats st;
  st.jobs = static_cast<std::int64_t>(trace.jobs.size());
  std::vector<double> runtime, lifetime, wait, steps;
  std::int64_t gpu_milli_total = 0;
  std::optional<double> previous_submit;
  for (const JobRecord& j : trace.jobs) {
    ++st.gpus_per_job[j.gpus];
    if (j.gpus > 0) ++st.gpu_jobs;
    st.total_gpus += j.gpus;
    gpu_milli_total += j.GpuMilli();
    if (!j.status.empty()) Count(&st.status_counts, j.status);
    if (!j.job_type.empty()) {
      const std::string_view type = j.job_type;
      Count(&st.job_families, type.substr(0, type.find(" (")));
    }
    if (j.duration) runtime.push_back(j.duration->value());
    if (j.submit_time && j.end_time)
      lifetime.push_back(j.end_time->value() - j.submit_time->value());
    if (j.submit_time && j.start_time) {
      const double w = j.start_time->value() - j.submit_time->value();
      wait.push_back(w);
      if (w > 0) ++st.jobs_waited;
    }
    if (!j.start_time) ++st.jobs_without_start;
    if (j.work_steps > 0) steps.push_back(static_cast<double>(j.work_steps));
    if (j.submit_time) {
      const double t = j.submit_time->value();
      if (previous_submit && t < *previous_submit) st.submit_sorted = false;
      previous_submit = t;
      st.first_submit = st.first_submit ? std::min(*st.first_submit, t) : t;
      st.last_submit = st.last_submit ? std::max(*st.last_submit, t) : t;
    }
    if (j.end_time)
      st.last_end = st.last_end ? std::max(*st.last_end, j.end_time->value()) : j.end_time->value();
  }
  st.total_gpu_share = static_cast<double>(gpu_milli_total) / 1000.0;
  MostCommonOrder(&st.status_counts);
  MostCommonOrder(&st.job_families);
  st.runtime = SummaryOrNone(std::move(runtime));
  st.lifetime = SummaryOrNone(std::move(lifetime));
  st.wait = SummaryOrNone(std::move(wait));
  st.work_steps = SummaryOrNone(std::move(steps));
  if (st.first_submit) {
    st.span = *st.last_submit - *st.first_submit;
    if (*st.span > 0) st.arrival_rate_per_hour = static_cast<double>(st.jobs) / (*st.span / 3600.0);
  }
  return st;
}

}  // namespace aif::fleet
