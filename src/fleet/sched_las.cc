// Least attained service in the manner of Tiresias (Gu et al., "Tiresias: A GPU Cluster Manager
// for Distributed Deep Learning", NSDI '19): discretized two-queue LAS on a job's attained
// GPU-time (GPUs x time run). Jobs below the threshold are in the high-priority queue, jobs past it
// in the low one; FIFO within a queue. A waiting high-priority job that does not fit preempts
// running low-priority jobs, most-served first (they checkpoint and re-queue, and pay their
// restart when they resume); one waiting job per instant may preempt. Passes are work-conserving: a
// job that does not fit does not hold back the ones behind it. The threshold is an operator's
// choice (FleetOptions).
#include <algorithm>
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
    milli_.insert(ctx.Job(id).Milli());
    gate_.Queued(id);
  }
  void OnStarted(JobId id, const SchedulerContext& ctx) override {
    running_.insert(id);
    const double attained = ctx.AttainedService(id);
    const double gpus = static_cast<double>(ctx.Job(id).Milli()) / 1000.0;
    if (attained >= threshold_) {
      Demote(id, ctx);
    } else if (gpus > 0) {
      const double at = ctx.Now() + (threshold_ - attained) / gpus;
      demotions_.insert({at, id});
      wakes_.push_back(at);
    }
  }
  void OnStopped(JobId id, const SchedulerContext& ctx) override {
    running_.erase(id);
    if (demoted_.erase(id) > 0) demoted_milli_ -= ctx.Job(id).Milli();
  }
  void Schedule(SchedulerContext& ctx) override {
    // A pass when each job just started crosses the threshold, so it can be preempted then.
    for (double at : wakes_) ctx.WakeAt(at);
    wakes_.clear();
    bool demoted_now = false;
    while (!demotions_.empty() && demotions_.begin()->first <= ctx.Now()) {
      const JobId id = demotions_.begin()->second;
      demotions_.erase(demotions_.begin());
      if (running_.count(id) > 0 && ctx.AttainedService(id) >= threshold_ * (1 - 1e-9)) {
        Demote(id, ctx);
        demoted_now = true;
      }
    }
    preempted_this_pass_ = false;
    if (gate_.FullScan(ctx) || demoted_now) {
      for (int level = 0; level < 2; ++level) {
        int scanned = 0;
        auto& q = queue_[level];
        for (auto it = q.begin(); it != q.end() && scanned < kScanDepth; ++scanned) {
          // Nothing more can start once the free GPUs are fewer than the smallest waiting job
          // needs and no preemption is left to try.
          if ((level == 1 || preempted_this_pass_) && !milli_.empty() &&
              ctx.FreeMilli() < *milli_.begin())
            break;
          it = Start(it->second, level, ctx) ? q.erase(it) : std::next(it);
        }
      }
    } else {
      const std::vector<JobId> fresh = gate_.Fresh();  // a preemption queues more
      for (JobId id : fresh) {
        for (int level = 0; level < 2; ++level) {
          const std::pair<double, JobId> key{ctx.Job(id).submit.value(), id};
          if (queue_[level].count(key) > 0 && Start(id, level, ctx)) queue_[level].erase(key);
        }
      }
    }
    gate_.Scanned(ctx);
  }
  std::int64_t Queued() const override {
    return static_cast<std::int64_t>(queue_[0].size() + queue_[1].size());
  }

 private:
  int Level(JobId id, const SchedulerContext& ctx) const {
    return ctx.AttainedService(id) >= threshold_ ? 1 : 0;
  }
  void Demote(JobId id, const SchedulerContext& ctx) {
    if (demoted_.insert(id).second) demoted_milli_ += ctx.Job(id).Milli();
  }
  bool Start(JobId id, int level, SchedulerContext& ctx) {
    if (ctx.TryStart(id)) {
      milli_.erase(milli_.find(ctx.Job(id).Milli()));
      return true;
    }
    return level == 0 && !preempted_this_pass_ && PreemptFor(id, ctx);
  }
  // Preempts running low-priority jobs, most-served first, until `id` starts. One waiting job
  // per instant gets to preempt: a preemption that frees the wrong GPUs (fragmentation) cannot
  // repeat without end, and a long queue cannot preempt over and over at one instant.
  bool PreemptFor(JobId id, SchedulerContext& ctx) {
    if (ctx.FreeMilli() + demoted_milli_ < ctx.Job(id).Milli()) return false;
    if (ctx.Now() == last_preempt_time_) return false;  // one preempting job per instant
    last_preempt_time_ = ctx.Now();
    preempted_this_pass_ = true;
    std::vector<std::pair<double, JobId>> victims;
    victims.reserve(demoted_.size());
    for (JobId r : demoted_) victims.emplace_back(-ctx.AttainedService(r), r);
    std::sort(victims.begin(), victims.end());
    // Stop once twice the job's GPUs are free: placement, not capacity, is then what is missing.
    const std::int64_t need = ctx.Job(id).Milli();
    for (const auto& [neg, victim] : victims) {
      if (ctx.FreeMilli() >= 2 * need) break;
      ctx.Preempt(victim);
      if (ctx.FreeMilli() >= need && ctx.TryStart(id)) {
        milli_.erase(milli_.find(need));
        return true;
      }
    }
    return false;
  }

  double threshold_;
  std::set<std::pair<double, JobId>> queue_[2];  // (submit, id) per level
  std::multiset<std::int64_t> milli_;            // GPUs (1/1000) of each waiting job
  std::set<JobId> running_;
  std::set<JobId> demoted_;  // running past the threshold: may be preempted
  std::int64_t demoted_milli_ = 0;
  std::set<std::pair<double, JobId>> demotions_;  // (when it crosses, job) for running jobs
  std::vector<double> wakes_;
  bool preempted_this_pass_ = false;
  double last_preempt_time_ = -1;  // when a waiting job last preempted
  RescanGate gate_;
};

}  // namespace

std::unique_ptr<SchedulerPolicy> MakeLasPolicy(double threshold_gpu_seconds) {
  return std::make_unique<Las>(threshold_gpu_seconds);
}

// Registered as "las": the file name sched_las.cc is the policy's name (policy_registry.cc
// is generated from the sched_*.cc files).
Result<std::unique_ptr<SchedulerPolicy>> MakeRegisteredPolicy_las(const PolicyOptions& options) {
  if (!(options.las_threshold_gpu_seconds > 0)) {
    return InvalidArgument("scheduler 'las' needs a positive threshold (GPU-seconds)");
  }
  return MakeLasPolicy(options.las_threshold_gpu_seconds);
}

}  // namespace aif::fleet
