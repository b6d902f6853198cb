// A job trace: what a GPU cluster was asked to run, one record per job (or pod), in the trace's
// own clock. Readers for the public trace formats live in config (aifactory/config/traces.h);
// everything here is format-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aifactory/core/units.h"

namespace aif::fleet {

// One job as a trace states it. Fields a trace does not have stay empty (optional) or zero.
struct JobRecord {
  std::string id;                      // the trace's name, or "<file>:<line>" when it has none
  int line = 0;                        // line of the source file the record came from
  std::optional<Seconds> submit_time;  // arrival / creation, trace clock
  std::optional<Seconds> start_time;   // first time it held its GPUs; empty if it never ran
  std::optional<Seconds> end_time;     // when it left the system (finished, failed, deleted)
  std::optional<Seconds> duration;     // time holding its GPUs (end - start, or as stated)
  int gpus = 0;                        // GPUs requested (0: a CPU-only job)
  int gpu_milli = 1000;                // share of each GPU in 1/1000 (GPU-sharing pods < 1000)
  int cpu_milli = 0;                   // CPU request in 1/1000 cores, when stated
  std::int64_t memory_mib = 0;         // memory request, when stated
  std::string gpu_type;                // allowed GPU types ('|'-separated), empty: any
  std::string user;                    // user or virtual cluster
  std::string status;                  // final state as stated (Succeeded, Failed, ...)
  std::string qos;                     // priority class as stated
  std::string job_type;                // model / workload name, when stated
  std::int64_t work_steps = 0;         // training iterations, when stated instead of a duration

  // GPUs held, in 1/1000 GPU: gpus x gpu_milli.
  std::int64_t GpuMilli() const { return static_cast<std::int64_t>(gpus) * gpu_milli; }
};

// A row a reader could not use: which line, which column and why. `message` is the full
// "file:line: column 'c': why" text.
struct SkippedRow {
  int line = 0;
  std::string column;
  std::string message;
};

struct Trace {
  std::string source;  // file (or directory) it was read from
  std::vector<JobRecord> jobs;
  // Rows skipped as bad (reader option skip_bad_rows); empty when every row was used.
  std::vector<SkippedRow> skipped;
  // The cluster the trace ran on, when the trace or its companion files state it.
  std::optional<int> cluster_gpus;
  // Whether the trace records start times. When it does, a job without one never ran (e.g. a
  // pod deleted while pending); when it does not, a replay starts each job at its submit time.
  bool records_start_times = false;
};

}  // namespace aif::fleet
