// Fleet scenario YAML: sites (GPU pools, racks, power cap, PUE), the WAN between them, failures
// (rates taken from a training scenario's `reliability.components`, with each component's scope
// and repair time), planned maintenance, the scheduler, and the workload: a real trace through its
// reader, a synthetic stream, and large training jobs whose speed comes from `train` (a training
// scenario's model and plan). Errors read `file:line:col: key.path: message`. Schema and example:
// data/scenarios/fleet-*.yaml and docs/fleet.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "aifactory/catalog/catalog.h"
#include "aifactory/core/status.h"
#include "aifactory/fleet/fleet_sim.h"
#include "aifactory/fleet/trace.h"

namespace aif::config {

struct FleetLoadOptions {
  // Bad trace rows: skip them and list them (true), or refuse the trace at the first (false).
  bool skip_bad_rows = true;
};

// A large training job of the scenario, as `train` sees it.
struct FleetTrainingJob {
  std::string name;
  std::string scenario;  // training scenario file
  int gpus = 0;
  double step_time_s = 0;
  double steps = 0;
  double compute_s = 0;  // steps x step time
  double checkpoint_write_s = 0, restart_s = 0;
  // Step time split over two sites joined by the fleet's slowest WAN link, over step time on one
  // site (multi_site jobs only; 1 otherwise).
  double cross_site_slowdown = 1;
};

struct FleetScenario {
  std::string name;
  std::string file;
  fleet::FleetSpec spec;
  fleet::FleetOptions options;  // scheduler, seed, horizon, bin, LAS threshold
  std::vector<fleet::FleetJob> jobs;
  std::vector<FleetTrainingJob> training;
  // Trace rows skipped as bad ("file:line: column 'c': why"), all of them, and trace jobs left out
  // because they cannot be simulated (no duration, never started, CPU-only), by reason.
  std::vector<std::string> skipped_rows;
  std::map<std::string, std::int64_t> jobs_left_out;
  std::map<std::string, std::string> sources;  // key path -> citation
};

Result<FleetScenario> ParseFleetScenario(std::string_view text, const std::string& file,
                                         const catalog::Catalog& catalog,
                                         const FleetLoadOptions& options = {});
Result<FleetScenario> LoadFleetScenarioFile(const std::string& path,
                                            const catalog::Catalog& catalog,
                                            const FleetLoadOptions& options = {});

// Trace jobs as the simulator takes them: submit = the trace's submit time (else its start),
// release = its start time when `replay` (else submit), work = duration (end - start when no
// duration is stated), GPUs and GPU share. Jobs without a time or a duration, jobs that never
// started, and CPU-only jobs unless `cpu_only_jobs`, are left out and counted in `left_out` by
// reason. `kept` (optional) receives the index in the trace of each job returned.
std::vector<fleet::FleetJob> JobsFromTrace(const fleet::Trace& trace, bool replay,
                                           std::map<std::string, std::int64_t>* left_out,
                                           bool cpu_only_jobs = false,
                                           std::vector<std::size_t>* kept = nullptr);

}  // namespace aif::config
