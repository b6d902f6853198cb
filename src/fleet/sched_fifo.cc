// First in, first out: jobs start in order of submission; the first that does not fit holds back
// every job behind it (no backfill).
#include <set>
#include <utility>

#include "aifactory/fleet/scheduler.h"

namespace aif::fleet {
namespace {

class Fifo final : public SchedulerPolicy {
 public:
  std::string_view Name() const override { return "fifo"; }
  void OnQueued(JobId id, bool /*requeued*/, const SchedulerContext& ctx) override {
    queue_.insert({ctx.Job(id).submit.value(), id});
  }
  void Schedule(SchedulerContext& ctx) override {
    while (!queue_.empty() && ctx.TryStart(queue_.begin()->second)) queue_.erase(queue_.begin());
  }
  std::int64_t Queued() const override { return static_cast<std::int64_t>(queue_.size()); }

 private:
  std::set<std::pair<double, JobId>> queue_;  // (submit, id)
};

}  // namespace

std::unique_ptr<SchedulerPolicy> MakeFifoPolicy() { return std::make_unique<Fifo>(); }

// Registered as "fifo": the file name sched_fifo.cc is the policy's name (policy_registry.cc
// is generated from the sched_*.cc files).
Result<std::unique_ptr<SchedulerPolicy>> MakeRegisteredPolicy_fifo(const PolicyOptions& /*options*/) {
  return MakeFifoPolicy();
}

}  // namespace aif::fleet
