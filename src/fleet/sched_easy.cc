// EASY backfill (Lifka 1995; Mu'alem and Feitelson, IEEE TPDS 12(6), 2001): jobs start in order of
// submission. When the first waiting job does not fit, it gets a reservation at the earliest time
// enough GPUs free up (the "shadow time", from the running jobs' estimated ends); a later job may
// start now if it fits and either ends (by its estimate) before the shadow time or uses only GPUs
// the reserved job will not need. Capacity is counted fleet-wide, so the reservation ignores
// fragmentation, as in the classic algorithm.
#include <limits>
#include <set>
#include <utility>

#include "aifactory/fleet/scheduler.h"

namespace aif::fleet {
namespace {

// Waiting jobs examined for backfill per pass: Slurm's default bf_max_job_test (500), slurm.conf
// man page, https://slurm.schedmd.com/slurm.conf.html
constexpr int kBackfillDepth = 500;

class EasyBackfill final : public SchedulerPolicy {
 public:
  std::string_view Name() const override { return "easy"; }
  void OnQueued(JobId id, bool /*requeued*/, const SchedulerContext& ctx) override {
    queue_.insert({ctx.Job(id).submit.value(), id});
    gate_.Queued(id);
  }
  void Schedule(SchedulerContext& ctx) override {
    while (!queue_.empty() && ctx.TryStart(queue_.begin()->second)) {
      queue_.erase(queue_.begin());
      gate_.Invalidate();  // a new head: its reservation differs
    }
    Backfill(ctx);
    gate_.Scanned(ctx);
  }
  std::int64_t Queued() const override { return static_cast<std::int64_t>(queue_.size()); }

 private:
  void Backfill(SchedulerContext& ctx) {
    if (queue_.size() < 2 || ctx.FreeMilli() <= 0) return;
    const std::int64_t need = ctx.Job(queue_.begin()->second).Milli();
    std::int64_t free = ctx.FreeMilli();
    double shadow = std::numeric_limits<double>::infinity();
    std::int64_t extra = 0;
    ctx.ForEachRunningByEnd([&](const RunningJob& r) {
      free += r.milli;
      if (free < need) return true;
      shadow = r.expected_end;
      extra = free - need;
      return false;
    });
    // Starts `id` if it fits and does not delay the reservation.
    auto try_backfill = [&](JobId id) {
      const FleetJob& j = ctx.Job(id);
      if (j.Milli() > ctx.FreeMilli()) return false;
      const double estimate = j.estimate.value() > 0 ? j.estimate.value() : j.work.value();
      const bool before_shadow = ctx.Now() + estimate <= shadow;
      if (!(before_shadow || j.Milli() <= extra) || !ctx.TryStart(id)) return false;
      if (!before_shadow) extra -= j.Milli();
      return true;
    };
    const JobId head = queue_.begin()->second;
    if (!gate_.FullScan(ctx)) {
      for (JobId id : gate_.Fresh()) {
        if (id == head) continue;
        if (try_backfill(id)) queue_.erase({ctx.Job(id).submit.value(), id});
      }
      return;
    }
    int scanned = 0;
    for (auto it = std::next(queue_.begin()); it != queue_.end() && scanned < kBackfillDepth;) {
      ++scanned;
      if (try_backfill(it->second)) {
        it = queue_.erase(it);
        if (ctx.FreeMilli() <= 0) break;
      } else {
        ++it;
      }
    }
  }

  RescanGate gate_;
  std::set<std::pair<double, JobId>> queue_;  // (submit, id)
};

}  // namespace

std::unique_ptr<SchedulerPolicy> MakeEasyBackfillPolicy() {
  return std::make_unique<EasyBackfill>();
}

// Registered as "easy": the file name sched_easy.cc is the policy's name (policy_registry.cc
// is generated from the sched_*.cc files).
Result<std::unique_ptr<SchedulerPolicy>> MakeRegisteredPolicy_easy(const PolicyOptions& /*options*/) {
  return MakeEasyBackfillPolicy();
}

}  // namespace aif::fleet
