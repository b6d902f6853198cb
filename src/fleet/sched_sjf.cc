// Shortest job first (non-preemptive): the waiting job with the shortest estimated run time starts
// first; the first that does not fit holds back the rest. The estimate is the job's `estimate`
// (or its work when it has none); an interrupted job is ranked by what it has left.
#include <set>
#include <utility>

#include "aifactory/fleet/scheduler.h"

namespace aif::fleet {
namespace {

class Sjf final : public SchedulerPolicy {
 public:
  std::string_view Name() const override { return "sjf"; }
  void OnQueued(JobId id, bool /*requeued*/, const SchedulerContext& ctx) override {
    const FleetJob& j = ctx.Job(id);
    const double estimate = j.estimate.value() > 0 ? j.estimate.value() : j.work.value();
    queue_.insert({{estimate, j.submit.value()}, id});
  }
  void Schedule(SchedulerContext& ctx) override {
    while (!queue_.empty() && ctx.TryStart(queue_.begin()->second)) queue_.erase(queue_.begin());
  }
  std::int64_t Queued() const override { return static_cast<std::int64_t>(queue_.size()); }

 private:
  std::set<std::pair<std::pair<double, double>, JobId>> queue_;  // ((estimate, submit), id)
};

}  // namespace

std::unique_ptr<SchedulerPolicy> MakeSjfPolicy() { return std::make_unique<Sjf>(); }

// Registered as "sjf": the file name sched_sjf.cc is the policy's name (policy_registry.cc
// is generated from the sched_*.cc files).
Result<std::unique_ptr<SchedulerPolicy>> MakeRegisteredPolicy_sjf(const PolicyOptions& /*options*/) {
  return MakeSjfPolicy();
}

}  // namespace aif::fleet
