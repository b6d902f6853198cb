// Fleet simulation: many jobs on many sites, a scheduling policy, component failures with repair,
// planned maintenance, checkpoints and restarts, and power per site, on the discrete-event kernel
// (aifactory/des/simulator.h).
//
// The fleet is sites -> pools (one GPU type each) -> leaves (a leaf switch) -> NVLink domains (an
// 8-GPU server or an NVL72 rack). A job is a gang: it starts only when all its GPUs are free, on
// one domain when it fits in one (best fit), else on whole free domains of one leaf (best fit),
// else across the pool's leaves, else (when the job allows it) across sites linked by the WAN.
// A policy (aifactory/fleet/scheduler.h) decides which queued job to try next.
//
// A job's work is compute time at full speed. Running, it first pays its restart time (after an
// interruption or preemption), then alternates `checkpoint_interval` of compute and one checkpoint
// write. An unexpected failure loses the compute since its last completed checkpoint; planned
// maintenance and preemption save the job first and lose nothing. Either way the job re-queues.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"

namespace aif::fleet {

// GPUs of one type at one site.
struct PoolSpec {
  std::string gpu_type;       // e.g. "H100"; jobs ask for types by this name
  int gpus = 0;               // a whole number of domains
  int gpus_per_domain = 8;    // NVLink domain: 8 (HGX/DGX server) or 72 (NVL72 rack)
  int domains_per_leaf = 16;  // domains under one leaf switch
  double gpu_busy_w = 0;      // IT power per busy GPU, node overhead included
  double gpu_idle_w = 0;      // IT power per idle GPU
};

struct SiteSpec {
  std::string name;
  std::vector<PoolSpec> pools;
  double pue = 1;          // facility power / IT power
  double power_cap_w = 0;  // facility power cap; 0: none. Jobs do not start past it.
};

// A WAN link between two sites (by index). Jobs may span only sites joined by a link.
struct WanLink {
  int a = 0, b = 0;
  double gbps = 0;
};

// How a failure hits the fleet.
enum class FailureScope {
  kGpu,       // one GPU: the job on it is interrupted; its domain goes out for repair
  kDomain,    // a whole domain (host, NIC, PSU): every job on it; the domain goes out for repair
  kSoftware,  // the job on one GPU is interrupted; nothing needs repair
};

// One failure cause: a Poisson process per GPU (rate per GPU-hour, on every GPU of the fleet).
struct FailureComponent {
  std::string name;
  double rate_per_gpu_hour = 0;
  FailureScope scope = FailureScope::kGpu;
  Seconds repair;  // time the domain is out (kGpu, kDomain)
};

// Planned maintenance: every `interval`, in each pool in turn, the next leaf (round robin) goes
// out for `duration`; jobs on it checkpoint and re-queue (no work lost).
struct MaintenanceSpec {
  Seconds interval;  // 0: none
  Seconds duration;
};

// A job as the simulator sees it.
struct FleetJob {
  std::string id;
  Seconds submit;           // arrival; wait = first start - submit
  Seconds release;          // earliest start (replay: the trace's start time); >= submit
  Seconds work;             // compute time at full speed
  int gpus = 1;             // 0: a CPU-only job (a trace's), run at once and placed nowhere
  int gpu_milli = 1000;     // share of each GPU (GPU-sharing pods < 1000)
  std::string gpu_type;     // allowed types, '|'-separated; empty: any
  bool multi_site = false;  // may span sites joined by the WAN
  // Compute time across sites over compute time on one (>= 1): the WAN's cost to this job when it
  // spans sites (for a training job: train's step time split over two sites, fleet_scenario.h).
  double cross_site_slowdown = 1;
  // Checkpoints: 0 none (a failure loses all progress); < 0 Young/Daly from the job's MTBF
  // (train::DalyInterval with the fleet's failure rates); > 0 as given.
  Seconds checkpoint_interval;
  Seconds checkpoint_write;
  Seconds restart;  // paid at each start after an interruption or preemption
  // Estimated run time for policies that need one (SJF, backfill); 0: use `work`.
  Seconds estimate;

  std::int64_t Milli() const { return static_cast<std::int64_t>(gpus) * gpu_milli; }
};

struct FleetSpec {
  std::vector<SiteSpec> sites;
  std::vector<WanLink> wan;
  std::vector<FailureComponent> failures;
  MaintenanceSpec maintenance;
};

struct FleetOptions {
  std::string scheduler = "fifo";
  std::uint64_t seed = 1;
  Seconds horizon;              // stop here; 0: when every job has finished
  Seconds bin = Seconds(3600);  // width of the time series bins
  bool failures = true;         // simulate spec.failures and spec.maintenance
  bool keep_jobs = true;        // fill FleetResult::jobs
  // Tiresias-like least-attained-service: demote a job past this many GPU-seconds of service.
  // Tiresias (Gu et al., NSDI '19) leaves the threshold to the operator.
  double las_threshold_gpu_seconds = 3600.0 * 8;
};

struct JobOutcome {
  std::string id;
  int gpus = 0;
  double submit = 0, first_start = -1, end = -1;  // s; -1: never
  int interruptions = 0;                          // failures, maintenance and preemptions
  double lost_gpu_seconds = 0;                    // lost work + restarts
  double goodput_gpu_seconds = 0;                 // compute kept (at the horizon: done so far)
  bool single_domain = false, single_leaf = false, cross_site = false;  // last placement
};

struct Distribution {
  std::int64_t n = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

struct SiteSeries {
  std::string name;
  std::vector<double> power_w;      // facility power, mean over each bin
  std::vector<double> utilization;  // busy GPUs / GPUs, mean over each bin
};

struct FleetResult {
  std::string scheduler;
  std::uint64_t seed = 0;
  int total_gpus = 0;
  std::int64_t jobs = 0, jobs_finished = 0, jobs_never_started = 0, jobs_refused = 0;
  std::vector<std::string> refused;       // why each refused job could never run (first 100)
  double first_submit = 0, end_time = 0;  // s; end: the last finish (or the horizon)

  Distribution completion_time;  // finish - submit, over finished jobs (s)
  Distribution queueing_delay;   // first start - submit, over started jobs (s)
  double utilization = 0;        // busy GPU-seconds / (GPUs x [first submit, end])
  double busy_gpu_hours = 0;     // GPUs held by jobs
  double goodput_gpu_hours = 0;  // compute that counted (kept work)
  double lost_gpu_hours = 0;     // work lost to failures + restart time
  double checkpoint_gpu_hours = 0;
  double wan_slowdown_gpu_hours = 0;  // extra compute of jobs spanning sites
  double down_gpu_hours = 0;          // GPUs out for repair or maintenance
  std::map<std::string, std::int64_t> interruptions_by_cause;  // incl. "planned maintenance",
                                                               // "preemption"
  std::int64_t failures = 0;                                   // failure events, also on idle GPUs
  std::int64_t multi_domain_jobs = 0, single_leaf_jobs = 0, cross_site_jobs = 0;  // starts

  double bin_seconds = 0;
  std::vector<double> utilization_series;  // whole fleet, per bin from first_submit
  std::vector<double> queue_series;        // jobs waiting at each bin's end
  std::vector<SiteSeries> sites;
  std::vector<double> queueing_delays;  // every started job's, ascending (for a CDF)
  std::vector<JobOutcome> jobs_out;     // when keep_jobs, in input order
  std::uint64_t events = 0;
};

// Mean time between interruptions of a job on `gpus` GPUs under `failures` (infinite if none).
Seconds JobMtbf(const std::vector<FailureComponent>& failures, int gpus);
// The interval the simulator uses for a job with an automatic checkpoint interval: Daly's
// optimum (train::DalyInterval) for its write time and MTBF.
Seconds AutoCheckpointInterval(const FleetJob& job, const std::vector<FailureComponent>& failures);

// Runs `jobs` on `spec`. Fails on a bad spec (no GPUs, a pool not a whole number of domains, bad
// rates) or an unknown scheduler. A job that can never fit (more GPUs of its types than the fleet
// has) is refused and counted, not run.
Result<FleetResult> RunFleet(const FleetSpec& spec, const std::vector<FleetJob>& jobs,
                             const FleetOptions& options);

// Summary of `values` (any order).
Distribution Distribute(std::vector<double> values);

}  // namespace aif::fleet
