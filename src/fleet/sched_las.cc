// Least attained service in the manner of Tiresias (Gu et al., "Tiresias: A GPU Cluster Manager
// for Distributed Deep Learning", NSDI '19): discretized two-queue LAS on a job's attained
// GPU-time (GPUs x time run). Jobs below the threshold are in the high-priority queue, jobs past it
// in the low one; FIFO within a queue. A waiting high-priority job that does not fit preempts
// running low-priority jobs, most-served first (they checkpoint and re-queue, and pay their
// restart when they resume). Passes are work-conserving: a job that does not fit does not hold
// back the ones behind it. The threshold is an operator's choice (FleetOptions).
#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "aifactory/fleet/scheduler.h"

namespace aif::fleet {
namespace {

// Waiting jobs examined per pass (Slurm's bf_max_job_test default, as the backfill policy).
constexpr int kScanDepth = 500;

class Las final : public SchedulerPolicy {
 public:
  explicit Las(double threshold) : threshold_(threshold) {}
  std::string_view Name() const override { return "las"; }
  void OnQueued(JobId id, bool /*requeued*/, const SchedulerContext& ctx) override {
    queue_[Level(id, ctx)].insert({ctx.Job(id).submit.value(), id});
  }
  void OnStarted(JobId id, const SchedulerContext& ctx) override {
    running_.insert(id);
    const double attained = ctx.AttainedService(id);
    const double gpus = static_cast<double>(ctx.Job(id).Milli()) / 1000.0;
    if (attained < threshold_ && gpus > 0) demotions_.emplace_back(id, (threshold_ - attained) / gpus);
  }
  void OnStopped(JobId id, const SchedulerContext& /*ctx*/) override { running_.erase(id); }
  void Schedule(SchedulerContext& ctx) override {
    // A pass when each job just started crosses the threshold, so it can be preempted then.
    for (const auto& [id, after] : demotions_) ctx.WakeAt(ctx.Now() + after);
    demotions_.clear();
    for (int level = 0; level < 2; ++level) {
      int scanned = 0;
      auto& q = queue_[level];
      for (auto it = q.begin(); it != q.end() && scanned < kScanDepth; ++scanned) {
        const JobId id = it->second;
        if (ctx.TryStart(id) || (level == 0 && PreemptFor(id, ctx))) {
          it = q.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  std::int64_t Queued() const override {
    return static_cast<std::int64_t>(queue_[0].size() + queue_[1].size());
  }

 private:
  int Level(JobId id, const SchedulerContext& ctx) const {
    return ctx.AttainedService(id) >= threshold_ ? 1 : 0;
  }
  // Preempts low-priority running jobs, most-served first, until `id` starts. At most once per
  // job per instant, so a preemption that frees the wrong GPUs cannot repeat without end.
  bool PreemptFor(JobId id, SchedulerContext& ctx) {
    auto [last, fresh] = last_preempt_.try_emplace(id, -1.0);
    if (!fresh && last->second == ctx.Now()) return false;
    std::vector<std::pair<double, JobId>> victims;
    std::int64_t could_free = ctx.FreeMilli();
    for (JobId r : running_) {
      const double a = ctx.AttainedService(r);
      if (a >= threshold_) {
        victims.emplace_back(-a, r);
        could_free += ctx.Job(r).Milli();
      }
    }
    if (could_free < ctx.Job(id).Milli()) return false;
    last->second = ctx.Now();
    std::sort(victims.begin(), victims.end());
    for (const auto& [neg, victim] : victims) {
      ctx.Preempt(victim);
      if (ctx.TryStart(id)) {
        last_preempt_.erase(id);
        return true;
      }
    }
    return false;
  }

  double threshold_;
  std::set<std::pair<double, JobId>> queue_[2];  // (submit, id) per level
  std::set<JobId> running_;
  std::vector<std::pair<JobId, double>> demotions_;  // (job, seconds until it crosses)
  std::map<JobId, double> last_preempt_;
};

}  // namespace

std::unique_ptr<SchedulerPolicy> MakeLasPolicy(double threshold_gpu_seconds) {
  return std::make_unique<Las>(threshold_gpu_seconds);
}

}  // namespace aif::fleet
