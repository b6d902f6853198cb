// Readers for the public GPU-cluster traces in ../shared/traces (schemas in its README.md), one
// per format, each as Parse* (text) and Read* (file). Rows that cannot be used (a missing field,
// a non-number, a negative time or duration, more GPUs than the stated cluster) are reported as
// "file:line: column 'c': message"; with skip_bad_rows they are skipped and listed in
// Trace::skipped, without it the first one fails the read. A missing column fails the file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/fleet/cluster_inventory.h"
#include "aifactory/fleet/trace.h"

namespace aif::config {

struct TraceReadOptions {
  // true: skip bad rows and list them in the result; false: refuse the file at the first one.
  bool skip_bad_rows = true;
  // GPUs of the cluster the trace ran on; a job asking for more is a bad row, and the trace's
  // cluster_gpus. ReadOpenbTrace takes it from the node list when this is empty.
  std::optional<int> cluster_gpus;
};

// Alibaba GPU cluster trace v2023 "openb" (Weng et al., ATC '23).
// Node list `openb_node_list_*.csv`: sn,cpu_milli,memory_mib,gpu,model.
Result<fleet::ClusterInventory> ParseOpenbNodeList(std::string_view text, const std::string& file);
Result<fleet::ClusterInventory> ReadOpenbNodeList(const std::string& path);
// Pod list `openb_pod_list_*.csv`: name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,qos,
// pod_phase,creation_time,deletion_time,scheduled_time]. submit = creation_time, start =
// scheduled_time (empty: never scheduled), end = deletion_time, duration = deletion - scheduled.
// The time columns may be absent altogether (the multigpu* files): jobs then carry no times.
Result<fleet::Trace> ParseOpenbPodList(std::string_view text, const std::string& file,
                                       const TraceReadOptions& options = {});
Result<fleet::Trace> ReadOpenbPodList(const std::string& path,
                                      const TraceReadOptions& options = {});
// A pod list on its cluster: cluster_gpus from the node list (unless options name it).
Result<fleet::Trace> ReadOpenbTrace(const std::string& pod_list_path,
                                    const std::string& node_list_path,
                                    const TraceReadOptions& options = {});

// Philly job run times (`philly_runtime.csv`, one column `runtime`, seconds; Jeon et al.,
// ATC '19, via alibaba/clusterdata): durations only, no times, GPUs or status.
Result<fleet::Trace> ParsePhillyRuntimes(std::string_view text, const std::string& file,
                                         const TraceReadOptions& options = {});
Result<fleet::Trace> ReadPhillyRuntimes(const std::string& path,
                                        const TraceReadOptions& options = {});

// Gavel's Philly-derived per-VC job streams (`<vc>.trace`, 7 tab-separated fields, no header:
// job_type, command, num_steps_arg, needs_data_dir, total_steps, arrival_time, scale_factor).
// submit = arrival_time (seconds), gpus = scale_factor, work_steps = total_steps, user = the VC
// (file name without .trace). No durations: Gavel derives them from per-model throughputs that
// are not part of the trace.
Result<fleet::Trace> ParseGavelTrace(std::string_view text, const std::string& file,
                                     const TraceReadOptions& options = {});
Result<fleet::Trace> ReadGavelTrace(const std::string& path, const TraceReadOptions& options = {});
// Every `*.trace` of a directory in file-name order, as one trace (users = VCs).
Result<fleet::Trace> ReadGavelTraceDir(const std::string& dir,
                                       const TraceReadOptions& options = {});
// `cluster_specs.json`: {"name": ["v100:p100:k80", ...]} -> GPUs per cluster (the sum).
Result<std::map<std::string, int>> ParseGavelClusterSpecs(std::string_view text,
                                                          const std::string& file);
Result<std::map<std::string, int>> ReadGavelClusterSpecs(const std::string& path);

// Helios (SenseTime, Hu et al., SC '21) summary files; the job logs themselves are not public
// here. `helios_cluster_summary.csv`: one published summary per cluster.
Result<fleet::PublishedClusterSummaries> ParseHeliosClusterSummary(
    std::string_view text, const std::string& file, const TraceReadOptions& options = {});
Result<fleet::PublishedClusterSummaries> ReadHeliosClusterSummary(
    const std::string& path, const TraceReadOptions& options = {});
// `<cluster>_gpu_number.csv`: date, one column per VC, total.
Result<fleet::GpuCapacityHistory> ParseHeliosGpuNumber(std::string_view text,
                                                       const std::string& file,
                                                       const TraceReadOptions& options = {});
Result<fleet::GpuCapacityHistory> ReadHeliosGpuNumber(const std::string& path,
                                                      const TraceReadOptions& options = {});

}  // namespace aif::config
