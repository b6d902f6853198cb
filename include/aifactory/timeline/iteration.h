// One training iteration as a discrete-event simulation: the pipeline of one data-parallel
// replica (one representative GPU per pipeline stage) runs its micro-batches' forward and
// backward passes in non-interleaved 1F1B order on a des::Simulator, with stage-to-stage sends
// between them, followed by the exposed data-parallel gradient communication and the optimizer
// step. Task durations come from the analytic step model (train::EstimateStep):
//
//  - per micro-batch and stage, compute T = (GEMM + attention + MoE GEMM + elementwise +
//    recompute + TP/CP/EP comm + host launch + offload) / m, with m the gradient-accumulation
//    count; the step model costs every stage alike (layers / pp each).
//  - forward:backward split: the backward costs twice the forward (two GEMMs per forward GEMM),
//    and recompute belongs to the backward: f = (T - R) / 3, b = 2 (T - R) / 3 + R, R the
//    recompute time per micro-batch. (The step model's own f and b are not exposed; any split
//    with the same f + b gives the same uniform-pipeline time.)
//  - each stage-to-stage send (activations forward, gradients backward) takes a fixed time:
//    the step model's PP component / (2 (pp - 1)), i.e. perf::SendRecvTime of one micro-batch's
//    activations on the link the step model picks. Sends do not contend (no net topology yet),
//    and cross-site pipeline boundaries are averaged into that one time.
//  - after the last backward: the step model's exposed DP component (gradient reduce-scatter /
//    parameter all-gather) and then its optimizer time.
//
// Interleaved schedules (vp > 1) are not simulated yet: SimulateIteration returns Unsupported.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"
#include "aifactory/train/job.h"
#include "aifactory/train/step_model.h"

namespace aif::timeline {

enum class Lane { kCompute, kComm };
const char* LaneName(Lane lane);

// One task of the iteration, as it ran in simulated time.
struct TraceEvent {
  std::string name;  // "F3", "B3", "send F3", "send B3", "dp comm", "optimizer"
  int stage = 0;
  Lane lane = Lane::kCompute;
  Seconds start;
  Seconds duration;
};

struct IterationOptions {
  // Per-stage multiplier of compute time (a straggler); empty or missing entries mean 1.
  std::vector<double> stage_compute_scale;
  // Replaces the per-send time derived from the step model (e.g. zero for no PP comm).
  std::optional<Seconds> send_time;
};

struct IterationResult {
  Seconds iteration_time;  // pipeline_time + dp_time + optimizer_time
  Seconds pipeline_time;   // last backward done
  Seconds forward_time;    // per micro-batch per stage, before stage scaling
  Seconds backward_time;
  Seconds send_time;       // per stage-to-stage send
  Seconds dp_time;
  Seconds optimizer_time;
  int stages = 1;
  int micro_batches = 1;
  train::StepEstimate estimate;  // the analytic step the durations come from
  std::vector<TraceEvent> events;  // in start order (ties: scheduling order)
};

Result<IterationResult> SimulateIteration(const train::TrainingJob& job, const train::Cluster& cluster,
                                          const train::ParallelPlan& plan,
                                          const IterationOptions& options = {});

// Chrome trace ("traceEvents" array, ph "X", ts/dur in microseconds, pid = stage, tid = lane):
// load in chrome://tracing or Perfetto.
std::string ChromeTraceJson(const IterationResult& result);

}  // namespace aif::timeline
