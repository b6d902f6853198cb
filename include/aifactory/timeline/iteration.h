// One training iteration as a discrete-event simulation. Every pipeline stage of a data-parallel
// replica (its tp x cp GPUs move in lockstep) runs its micro-batches' forward and backward passes
// in 1F1B order (interleaved over vp model chunks when vp > 1, Megatron's schedule) on a
// des::Simulator, with stage-to-stage sends between them, then the data-parallel gradient
// communication and the optimizer step. Task durations come from the analytic step model
// (train::EstimateStep):
//
//  - per micro-batch and stage, compute T = (GEMM + attention + MoE GEMM + elementwise +
//    recompute + TP/CP/EP comm + host launch + offload) / m, with m the gradient-accumulation
//    count; the step model costs every stage alike (layers / pp each), a chunk 1/vp of that.
//  - forward:backward split: the backward costs twice the forward (two GEMMs per forward GEMM),
//    and recompute belongs to the backward: f = (T - R) / 3, b = 2 (T - R) / 3 + R, R the
//    recompute time per micro-batch. (Any split with the same f + b gives the same uniform
//    pipeline time.)
//
// Communication, two modes:
//  - analytic (default): each stage-to-stage send takes the step model's PP component /
//    (2 (vp pp - 1)), the sends it puts on the critical path (perf::SendRecvTime of one
//    micro-batch's activations on one site), without contention;
//    after the last backward the step model's exposed DP time, then the optimizer. This is the
//    step model's own arithmetic played out as a schedule, so the two agree without contention.
//  - network (IterationOptions::network): the cluster's topology is built (NVLink domains,
//    rail-optimized fat-tree, sites joined by WAN links) and every pipeline replica of the whole
//    factory runs on it. A send is one flow per GPU of the stage (tp x cp flows, each GPU to its
//    counterpart in the next stage) and completes when all have arrived. The DP gradient
//    reduce-scatter and parameter all-gather (all-reduce with ZeRO 0) run per stage, once every
//    replica has finished the stage, as ring collectives over rails (one ring per GPU of an NVLink
//    domain that the group holds, as NCCL does), each neighbour pair one flow carrying all of the
//    ring's steps (exact for a steady ring; see docs/network.md); the step model's overlap rule
//    then hides the part its compute covers. TP, CP and EP collectives stay inside the compute
//    tasks (NVLink-local in the plans the search picks). `replicate` simulates one pipeline
//    replica and one DP group per stage and takes the others to be identical.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"
#include "aifactory/net/routing.h"
#include "aifactory/net/topology.h"
#include "aifactory/train/job.h"
#include "aifactory/train/step_model.h"

namespace aif::timeline {

enum class Lane : std::uint8_t { kCompute, kComm };
const char* LaneName(Lane lane);

enum class TaskKind : std::uint8_t {
  kForward,
  kBackward,
  kSendForward,      // activations to the next virtual stage
  kSendBackward,     // gradients to the previous virtual stage
  kDpReduceScatter,  // DP gradient communication (reduce-scatter, or all-reduce with ZeRO 0)
  kDpAllGather,      // DP parameter all-gather (distributed optimizer)
  kOptimizer,
};
const char* TaskKindName(TaskKind kind);
Lane LaneOf(TaskKind kind);

// One task of the iteration, as it ran in simulated time.
struct TraceEvent {
  TaskKind kind = TaskKind::kForward;
  int replica = 0;      // data-parallel pipeline replica
  int stage = 0;        // pipeline rank
  int chunk = 0;        // model chunk (virtual stage = chunk * pp + stage)
  int micro_batch = 0;  // -1 for DP comm and optimizer
  Seconds start;
  Seconds duration;
  // The task whose end let this one start (index into IterationResult::events), -1 at t = 0.
  std::int64_t predecessor = -1;

  Lane lane() const { return LaneOf(kind); }
  std::string Name() const;  // "F3", "B3.1" (chunk 1), "send F3", "dp reduce-scatter", ...
};

struct IterationOptions {
  // Per-stage multiplier of compute time of one replica (a straggler: one slow GPU slows its
  // tensor-parallel group, hence the stage); empty or missing entries mean 1.
  std::vector<double> stage_compute_scale;
  int straggler_replica = 0;  // the replica stage_compute_scale applies to (network mode)
  // Replaces the per-send time derived from the step model (analytic mode; e.g. zero).
  std::optional<Seconds> send_time;
  // Communication as flows on the cluster's topology (see above).
  bool network = false;
  // Network mode: simulate one pipeline replica and one DP group per stage (reported).
  bool replicate = false;
  // Network mode: switch radix of the fat-tree; 0 picks 64, or 128 where 64 cannot hold a site.
  int switch_radix = 0;
  // Network mode faults, applied before the iteration starts: links down (flows route around
  // them by ECMP over the live equal-cost paths; an error if a GPU is cut off), and every WAN
  // link's usable capacity scaled (a degraded WAN: 0.5 = half its bandwidth).
  std::vector<int> failed_links;  // net::LinkId of the built topology
  double wan_capacity_scale = 1;
  // Network mode: how flows pick among equal-cost paths, when it should differ from the
  // cluster's (Cluster::adaptive_routing: adaptive unless the scenario says ecmp, as InfiniBand
  // fabrics run; the subnet manager's default engine, ar_updn, has the switches pick output ports
  // by load: NVIDIA InfiniBand Cluster Bring-up Procedure, "Adaptive Routing"). ECMP shows what
  // static hashing's collisions cost.
  std::optional<net::RoutingPolicy> routing;
};

// Time of each kind of task on the critical path.
struct CriticalPath {
  std::vector<std::int64_t> events;  // indices into IterationResult::events, first to last
  std::vector<std::pair<TaskKind, Seconds>> time_by_kind;  // in TaskKind order, nonzero only
  int replica = 0;  // the replica whose tasks end the iteration
};

// Per-tier link statistics of the network mode.
struct LinkTierUsage {
  std::string tier;             // "nvlink", "nic", "leaf-spine", "spine-core", "gateway", "wan"
  int links = 0;                // directed links
  double mean_utilization = 0;  // bytes carried / (capacity x iteration time), mean over links
  double max_utilization = 0;   // the busiest link's
  Bytes carried;
};

struct NetworkSummary {
  int gpus = 0;
  int nodes = 0;
  int links = 0;
  int tiers = 0;
  int radix = 0;
  net::RoutingPolicy routing = net::RoutingPolicy::kAdaptive;
  std::int64_t flows = 0;
  std::int64_t recomputations = 0;
  std::int64_t flow_rate_updates = 0;
  Bytes bytes_started;
  Bytes bytes_delivered;
  double max_link_load = 0;  // max over links of carried / (capacity x busy time); <= 1
  std::vector<LinkTierUsage> tiers_usage;
  std::vector<std::string> failed_links;  // names of the links taken down
  int replicas_simulated = 0;
  int replicas = 0;
  Seconds dp_comm_simulated;  // longest stage's DP collective durations on the network
};

struct StageUtilization {
  int stage = 0;
  double compute = 0;  // busy fraction of the iteration, replica 0 (the straggler's if any)
  double comm = 0;     // sends + DP comm
};

struct IterationResult {
  Seconds iteration_time;  // last optimizer (or exposed DP) end
  Seconds pipeline_time;   // last backward done
  Seconds forward_time;    // per micro-batch per stage (all chunks), before stage scaling
  Seconds backward_time;
  Seconds send_time;  // analytic mode: per stage-to-stage send
  Seconds dp_time;    // exposed DP comm (analytic: the step model's; network: longest stage)
  Seconds optimizer_time;
  int stages = 1;
  int virtual_stages = 1;
  int micro_batches = 1;
  int replicas = 1;            // data-parallel pipeline replicas (dp)
  int straggler_replica = -1;  // the replica with a scaled stage, -1 without one
  std::int64_t des_events = 0;
  train::StepEstimate estimate;    // the analytic step the durations come from
  std::vector<TraceEvent> events;  // in start order (ties: scheduling order)
  CriticalPath critical_path;
  std::vector<StageUtilization> utilization;
  std::optional<NetworkSummary> network;
};

// The network mode's topology of a cluster: NVLink domains of the job's domain size, a
// rail-optimized fat-tree per site (the system's GPUs per server as rails, NIC = fabric port x
// NICs per GPU, links at line rate x the calibrated collective efficiencies), sites joined by a
// full mesh of WAN links. `switch_radix` 0 picks 64, or 128 where 64 cannot hold a site; two
// tiers where they hold a site, else three.
Result<net::Topology> BuildClusterTopology(const train::Cluster& cluster, int switch_radix = 0);

Result<IterationResult> SimulateIteration(const train::TrainingJob& job,
                                          const train::Cluster& cluster,
                                          const train::ParallelPlan& plan,
                                          const IterationOptions& options = {});

// Chrome trace ("traceEvents" array, ph "X", ts/dur in microseconds, pid = replica, tid = stage
// x 2 + lane, with process and thread names): load in chrome://tracing or Perfetto. Unless
// `all_replicas`, only replica 0, the straggler's and the one ending the iteration are written.
std::string ChromeTraceJson(const IterationResult& result, bool all_replicas = false);

}  // namespace aif::timeline
