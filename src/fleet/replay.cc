#include "aifactory/fleet/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "aifactory/des/simulator.h"

namespace aif::fleet {
namespace {

// The kernel's clock holds 9.2e9 s from the origin.
constexpr double kMaxSpanSeconds = 9.0e9;

struct Hold {
  double start = 0, end = 0;  // trace clock, seconds
  std::int64_t milli = 0;     // GPU share held, 1/1000 GPU
  int gpus = 0;               // whole GPUs requested
};

// Busy GPUs as a step function, advanced by the replay's events.
class ReplayState {
 public:
  ReplayState(ReplayResult* result, double origin, std::int64_t capacity_milli, bool record_series)
      : r_(result),
        origin_(origin),
        capacity_milli_(capacity_milli),
        record_series_(record_series) {}

  void Start(des::SimTime now, const Hold& h) {
    Advance(now);
    busy_milli_ += h.milli;
    busy_gpus_ += h.gpus;
    if (busy_milli_ > capacity_milli_) ++r_->jobs_over_capacity;
    if (static_cast<double>(busy_milli_) / 1000.0 > r_->peak_busy_gpus) {
      r_->peak_busy_gpus = static_cast<double>(busy_milli_) / 1000.0;
      r_->peak_whole_gpus = busy_gpus_;
      r_->peak_time = Seconds(Clock(now));
    }
    Record(now);
  }

  void End(des::SimTime now, const Hold& h) {
    Advance(now);
    busy_milli_ -= h.milli;
    busy_gpus_ -= h.gpus;
    Record(now);
  }

  double busy_gpu_seconds() const { return static_cast<double>(busy_gpu_seconds_); }
  double over_capacity_seconds() const { return static_cast<double>(over_capacity_ns_) * 1e-9; }

 private:
  double Clock(des::SimTime t) const { return origin_ + static_cast<double>(t.ns()) * 1e-9; }

  // Integrates the busy GPUs from the previous event to `now`, inside the window.
  void Advance(des::SimTime now) {
    if (now.ns() > last_ns_) {
      if (busy_milli_ > capacity_milli_) over_capacity_ns_ += now.ns() - last_ns_;
      const double from =
          std::max(Clock(des::SimTime::Nanoseconds(last_ns_)), r_->window_begin.value());
      const double to = std::min(Clock(now), r_->window_end.value());
      if (to > from)
        busy_gpu_seconds_ += static_cast<long double>(busy_milli_) / 1000.0L * (to - from);
    }
    last_ns_ = now.ns();
  }

  void Record(des::SimTime now) {
    if (!record_series_) return;
    const double busy = static_cast<double>(busy_milli_) / 1000.0;
    if (!r_->series.empty() && last_recorded_ns_ == now.ns()) {
      r_->series.back().busy_gpus = busy;
    } else {
      r_->series.push_back(UtilizationPoint{Seconds(Clock(now)), busy});
      last_recorded_ns_ = now.ns();
    }
  }

  ReplayResult* r_;
  double origin_;
  std::int64_t capacity_milli_;
  bool record_series_;
  std::int64_t busy_milli_ = 0;
  std::int64_t busy_gpus_ = 0;
  std::int64_t last_ns_ = 0;
  std::int64_t last_recorded_ns_ = -1;
  std::int64_t over_capacity_ns_ = 0;
  long double busy_gpu_seconds_ = 0;
};

}  // namespace

Result<ReplayResult> ReplayTrace(const Trace& trace, int capacity_gpus,
                                 const ReplayOptions& options) {
  if (capacity_gpus <= 0) {
    return InvalidArgument(fmt::format("{}: replay needs a positive cluster size, got {} GPUs",
                                       trace.source, capacity_gpus));
  }
  ReplayResult r;
  r.capacity_gpus = capacity_gpus;

  std::vector<Hold> holds;
  holds.reserve(trace.jobs.size());
  for (const JobRecord& j : trace.jobs) {
    std::optional<Seconds> start = j.start_time;
    if (!start) {
      if (trace.records_start_times) {
        ++r.jobs_never_started;
        continue;
      }
      start = j.submit_time;
    }
    if (!start) {
      ++r.jobs_without_time;
      continue;
    }
    std::optional<Seconds> duration = j.duration;
    if (!duration && j.end_time) duration = *j.end_time - *start;
    if (!duration) {
      ++r.jobs_without_duration;
      continue;
    }
    if (!std::isfinite(start->value()) || !std::isfinite(duration->value()) ||
        duration->value() < 0) {
      return InvalidArgument(
          fmt::format("{}: job '{}' (line {}): start {} s, duration {} s: replay needs finite "
                      "times and a non-negative duration",
                      trace.source, j.id, j.line, start->value(), duration->value()));
    }
    if (j.gpus <= 0 || j.GpuMilli() <= 0) {
      ++r.jobs_without_gpus;
      continue;
    }
    if (duration->value() == 0) {
      ++r.zero_length_jobs;
      continue;
    }
    holds.push_back(Hold{start->value(), start->value() + duration->value(), j.GpuMilli(), j.gpus});
  }
  r.jobs_replayed = static_cast<std::int64_t>(holds.size());

  double first = 0, last = 0;
  if (!holds.empty()) {
    first = holds.front().start;
    last = holds.front().end;
    for (const Hold& h : holds) {
      first = std::min(first, h.start);
      last = std::max(last, h.end);
    }
  }
  r.window_begin = options.window_begin.value_or(Seconds(first));
  r.window_end = options.window_end.value_or(Seconds(last));
  if ((options.window_begin || options.window_end || !holds.empty()) &&
      !(r.window_end > r.window_begin)) {
    return InvalidArgument(fmt::format("{}: replay window [{} s, {} s] is empty", trace.source,
                                       r.window_begin.value(), r.window_end.value()));
  }
  if (holds.empty()) return r;
  if (last - first > kMaxSpanSeconds) {
    return InvalidArgument(
        fmt::format("{}: trace spans {} s, more than the simulator's clock holds ({} s)",
                    trace.source, last - first, kMaxSpanSeconds));
  }

  // Times relative to the first start. Every end is scheduled before every start, so at one
  // instant ends run first (the kernel breaks ties by insertion order).
  const double origin = first;
  auto at = [origin](double t) { return des::SimTime::FromSeconds(Seconds(t - origin)); };
  des::Simulator sim;
  ReplayState state(&r, origin, static_cast<std::int64_t>(capacity_gpus) * 1000,
                    options.record_series);
  if (options.record_series) r.series.reserve(2 * holds.size() + 1);
  for (const Hold& h : holds) {
    sim.Schedule(at(h.end), [&state, &sim, &h] { state.End(sim.Now(), h); });
  }
  for (const Hold& h : holds) {
    sim.Schedule(at(h.start), [&state, &sim, &h] { state.Start(sim.Now(), h); });
  }
  sim.Run();
  r.events_run = sim.events_run();
  r.busy_gpu_seconds = state.busy_gpu_seconds();
  r.time_over_capacity = Seconds(state.over_capacity_seconds());
  r.mean_utilization = r.busy_gpu_seconds / (static_cast<double>(capacity_gpus) *
                                             (r.window_end - r.window_begin).value());
  return r;
}

std::vector<double> UtilizationByBin(const ReplayResult& result, Seconds bin) {
  std::vector<double> bins;
  const double begin = result.window_begin.value();
  const double end = result.window_end.value();
  if (!(bin.value() > 0) || !(end > begin) || result.capacity_gpus <= 0) return bins;
  const auto count = static_cast<size_t>(std::ceil((end - begin) / bin.value()));
  bins.assign(count, 0.0);
  const auto& s = result.series;
  for (size_t i = 0; i < s.size(); ++i) {
    const double from = std::max(s[i].time.value(), begin);
    const double to = std::min(i + 1 < s.size() ? s[i + 1].time.value() : end, end);
    if (!(to > from) || s[i].busy_gpus == 0) continue;
    auto b = static_cast<size_t>((from - begin) / bin.value());
    double t = from;
    while (t < to && b < count) {
      const double bin_end = std::min(begin + static_cast<double>(b + 1) * bin.value(), end);
      const double piece = std::min(to, bin_end) - t;
      if (piece > 0) bins[b] += s[i].busy_gpus * piece;
      t = bin_end;
      ++b;
    }
  }
  for (size_t b = 0; b < count; ++b) {
    const double lo = begin + static_cast<double>(b) * bin.value();
    const double hi = std::min(lo + bin.value(), end);
    bins[b] /= static_cast<double>(result.capacity_gpus) * (hi - lo);
  }
  return bins;
}

}  // namespace aif::fleet
