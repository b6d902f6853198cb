// What a trace says about the cluster it ran on: a node list (Alibaba openb), a published
// per-cluster summary (Helios), or the GPUs a cluster had day by day (Helios VC files).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "aifactory/fleet/trace.h"

namespace aif::fleet {

struct ClusterNode {
  std::string name;
  std::int64_t cpu_milli = 0;
  std::int64_t memory_mib = 0;
  int gpus = 0;
  std::string gpu_model;  // empty for CPU-only nodes
};

struct ClusterInventory {
  std::string source;
  std::vector<ClusterNode> nodes;

  int TotalGpus() const;
  // GPUs per GPU model (CPU-only nodes are left out).
  std::map<std::string, int> GpusByModel() const;
};

// One row of a published per-cluster summary (Helios `helios_cluster_summary.csv`, Hu et al.,
// SC '21): figures the trace's authors computed from logs that are not available here. Times in
// seconds, GPU time in GPU-seconds, rates as fractions of jobs.
struct PublishedClusterSummary {
  std::string cluster;
  int gpus = 0;
  std::int64_t jobs = 0;
  std::int64_t cpu_jobs = 0;
  std::int64_t gpu_jobs = 0;
  double mean_gpu_job_run_time = 0;
  double median_gpu_job_run_time = 0;
  double mean_gpu_job_queue_time = 0;
  double mean_gpus_per_job = 0;
  double median_gpus_per_job = 0;
  double complete_rate = 0, cancel_rate = 0, fail_rate = 0;
  double complete_rate_gpu = 0, cancel_rate_gpu = 0, fail_rate_gpu = 0;
  double complete_gpu_time = 0, cancel_gpu_time = 0, fail_gpu_time = 0;

  double TotalGpuTime() const { return complete_gpu_time + cancel_gpu_time + fail_gpu_time; }
};

struct PublishedClusterSummaries {
  std::string source;
  std::vector<PublishedClusterSummary> clusters;  // in file order
  std::vector<SkippedRow> skipped;                // bad rows skipped (reader option)
};

// GPUs a cluster had on each day, in total and per virtual cluster (Helios `*_gpu_number.csv`).
struct DailyGpuCapacity {
  std::string date;                  // as written, e.g. "2020-04-01"
  std::map<std::string, int> by_vc;  // virtual cluster -> GPUs
  int total = 0;
};

struct GpuCapacityHistory {
  std::string source;
  std::vector<std::string> vcs;  // virtual clusters in column order
  std::vector<DailyGpuCapacity> days;
  std::vector<SkippedRow> skipped;  // bad rows skipped (reader option)

  // Sum over days of total GPUs x 86,400 s: the GPU-seconds the cluster could have delivered.
  double CapacityGpuSeconds() const;
};

// Busy fraction implied by a published summary: its total GPU time over `capacity_gpu_seconds`.
double ImpliedUtilization(const PublishedClusterSummary& summary, double capacity_gpu_seconds);

}  // namespace aif::fleet
