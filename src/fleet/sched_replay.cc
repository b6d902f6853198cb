// Replay: every job starts at its release time (a trace's own start time) if its GPUs are free; a
// job that does not fit waits without holding back the others. On a trace's own cluster every job
// starts at once, so the replay reproduces the trace's start times and durations.
#include <set>
#include <utility>

#include "aifactory/fleet/scheduler.h"

namespace aif::fleet {
namespace {

// Waiting jobs examined per pass, as the backfill policy (Slurm's bf_max_job_test default).
constexpr int kScanDepth = 500;

class Replay final : public SchedulerPolicy {
 public:
  std::string_view Name() const override { return "replay"; }
  void OnQueued(JobId id, bool /*requeued*/, const SchedulerContext& ctx) override {
    queue_.insert({ctx.Job(id).release.value(), id});
  }
  void Schedule(SchedulerContext& ctx) override {
    int scanned = 0;
    for (auto it = queue_.begin(); it != queue_.end() && scanned < kScanDepth; ++scanned) {
      it = ctx.TryStart(it->second) ? queue_.erase(it) : std::next(it);
    }
  }
  std::int64_t Queued() const override { return static_cast<std::int64_t>(queue_.size()); }

 private:
  std::set<std::pair<double, JobId>> queue_;  // (release, id)
};

}  // namespace

std::unique_ptr<SchedulerPolicy> MakeReplayPolicy() { return std::make_unique<Replay>(); }

// Registered as "replay": the file name sched_replay.cc is the policy's name (policy_registry.cc
// is generated from the sched_*.cc files).
Result<std::unique_ptr<SchedulerPolicy>> MakeRegisteredPolicy_replay(const PolicyOptions& /*options*/) {
  return MakeReplayPolicy();
}

}  // namespace aif::fleet
