// Scheduling policies for the fleet simulator (aifactory/fleet/fleet_sim.h). A policy keeps its
// own queue of waiting jobs and, on each scheduling pass, asks the simulator to start jobs; the
// simulator does the placement (gang, topology-aware) and everything else. A policy lives in one
// file src/fleet/sched_<name>.cc and is listed once in src/fleet/scheduler.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/fleet/fleet_sim.h"

namespace aif::fleet {

using JobId = std::int32_t;  // index into the job list

// A running job, as a policy sees it.
struct RunningJob {
  JobId id = 0;
  double expected_end = 0;  // s, from the job's estimate
  std::int64_t milli = 0;
};

// What a policy may ask of the simulator during a pass.
class SchedulerContext {
 public:
  virtual ~SchedulerContext() = default;
  virtual double Now() const = 0;  // s
  virtual const FleetJob& Job(JobId id) const = 0;
  // GPU-seconds of service the job has received so far (all its runs).
  virtual double AttainedService(JobId id) const = 0;
  // Places and starts the job now if all its GPUs are free; false (and nothing changes) if not.
  virtual bool TryStart(JobId id) = 0;
  // Free GPU capacity in 1/1000 GPU over the whole fleet (an upper bound on what fits).
  virtual std::int64_t FreeMilli() const = 0;
  // Visits running jobs by expected end (ascending) while `visit` returns true.
  virtual void ForEachRunningByEnd(const std::function<bool(const RunningJob&)>& visit) const = 0;
  // Checkpoints and stops a running job; it is handed back through OnQueued.
  virtual void Preempt(JobId id) = 0;
  // Asks for another pass at time `t` (s) even if nothing else happens then.
  virtual void WakeAt(double t) = 0;
};

class SchedulerPolicy {
 public:
  virtual ~SchedulerPolicy() = default;
  virtual std::string_view Name() const = 0;
  // A job arrived, or came back after an interruption or preemption (`requeued`).
  virtual void OnQueued(JobId id, bool requeued, const SchedulerContext& ctx) = 0;
  // A job started, or left its GPUs (finished, interrupted, preempted).
  virtual void OnStarted(JobId /*id*/, const SchedulerContext& /*ctx*/) {}
  virtual void OnStopped(JobId /*id*/, const SchedulerContext& /*ctx*/) {}
  // Starts what it wants through ctx.TryStart.
  virtual void Schedule(SchedulerContext& ctx) = 0;
  // Jobs waiting.
  virtual std::int64_t Queued() const = 0;
};

// Keeps a policy's passes cheap when nothing has freed up: a job that could not start at the
// last full scan cannot start now either if free capacity has not grown since (placement only
// gets harder with less free), so only jobs queued since need a look. Policies call Queued() from
// OnQueued, FullScan() at the start of a pass, and Scanned() at its end.
class RescanGate {
 public:
  void Queued(JobId id) { fresh_.push_back(id); }
  bool FullScan(const SchedulerContext& ctx) const { return ctx.FreeMilli() > free_after_scan_; }
  // Jobs queued since the last pass, in the order they came.
  const std::vector<JobId>& Fresh() const { return fresh_; }
  void Scanned(const SchedulerContext& ctx) {
    free_after_scan_ = ctx.FreeMilli();
    fresh_.clear();
  }
  void Invalidate() { free_after_scan_ = -1; }

 private:
  std::int64_t free_after_scan_ = -1;
  std::vector<JobId> fresh_;
};

struct PolicyOptions {
  double las_threshold_gpu_seconds = 0;
};

// The policies, one file each: src/fleet/sched_<name>.cc defines
// MakeRegisteredPolicy_<name>(const PolicyOptions&), and the build generates the list of them
// from the file names, so adding a policy touches its own file only. Built in: "easy" (EASY
// backfill), "fifo", "las" (Tiresias-like), "replay" (each job at its release time, never held
// back by an earlier one), "sjf".
struct RegisteredPolicy {
  std::string_view name;
  Result<std::unique_ptr<SchedulerPolicy>> (*make)(const PolicyOptions&);
};
const std::vector<RegisteredPolicy>& RegisteredPolicies();  // by name

Result<std::unique_ptr<SchedulerPolicy>> MakePolicy(std::string_view name,
                                                    const PolicyOptions& options = {});
std::vector<std::string> PolicyNames();  // RegisteredPolicies' names, in order

// Factories of the built-in policies (their files' own constructors).
std::unique_ptr<SchedulerPolicy> MakeFifoPolicy();
std::unique_ptr<SchedulerPolicy> MakeSjfPolicy();
std::unique_ptr<SchedulerPolicy> MakeEasyBackfillPolicy();
std::unique_ptr<SchedulerPolicy> MakeLasPolicy(double threshold_gpu_seconds);
std::unique_ptr<SchedulerPolicy> MakeReplayPolicy();

}  // namespace aif::fleet
