// Analytic step time and memory of one training configuration: per-layer kernel costs from
// `perf`, communication over the cluster's NVLink domains and scale-out fabric, pipeline
// bubbles, gradient-accumulation overlap and the optimizer step.
#pragma once

#include <array>
#include <string>

#include "aifactory/perf/collective.h"
#include "aifactory/train/job.h"

namespace aif::train {

// Where the time of one step goes, on the critical path of the slowest pipeline rank.
enum class TimeComponent {
  kGemm,           // dense linear layers (and logits)
  kAttention,      // fused attention kernels
  kMoeGemm,        // expert grouped GEMMs
  kElementwise,    // norms, activations, casts, permutation, loss
  kRecompute,      // forward recomputed in backward
  kTpComm,         // tensor-parallel collectives left exposed by overlap
  kCpComm,         // context-parallel KV exchange left exposed
  kEpComm,         // expert-parallel all-to-all
  kPipelineBubble, // warm-up and cool-down of the pipeline schedule
  kPpComm,         // stage-to-stage sends on the critical path
  kDpComm,         // gradient reduce-scatter / parameter all-gather left exposed
  kOptimizer,      // optimizer step
  kHostLaunch,     // host (CPU) kernel-launch time the GPU waits for
  kOffload,        // activation offload to host memory left exposed
  kCount
};
const char* TimeComponentName(TimeComponent c);

enum class MemoryComponent { kWeights, kGradients, kOptimizer, kActivations, kCommBuffers, kCount };
const char* MemoryComponentName(MemoryComponent c);

struct StepEstimate {
  Seconds step_time;
  std::array<Seconds, static_cast<size_t>(TimeComponent::kCount)> time{};
  std::array<Bytes, static_cast<size_t>(MemoryComponent::kCount)> memory{};  // per GPU, peak
  Bytes memory_total;
  Bytes memory_capacity;  // what the plan may use: HBM capacity less the cluster's memory_reserve
  Bytes memory_reserve;   // the cluster's memory_reserve
  // Activations offloaded to host memory at the peak, per GPU, and the GPU's share of its node's
  // host memory (catalog::System::host_memory / gpus_per_node; 0 when the system gives none).
  Bytes host_memory_used;
  Bytes host_memory_capacity;
  bool fits_in_memory = true;  // in HBM, and what is offloaded in the GPU's share of host memory
  int grad_accumulation = 1;
  Recompute recompute = Recompute::kNone;  // the mode used (resolved when the input left it open)
  int recompute_layers = 0;                 // with full recompute: layers per rank (0: all)
  int offload_layers = 0;                   // layers per rank whose activations go to host memory
  bool ep_overlap = false;                  // the EP all-to-all ran beside compute (plan's ep_overlap)
  double model_flops = 0;     // per step, whole job: Megatron formula, no recompute
  double hardware_flops = 0;  // per step, whole job: Megatron formula with recompute counted
  double tokens_per_second_per_gpu = 0;
  double mfu = 0;             // model_flops / step / gpus / dense peak of the precision

  Seconds& at(TimeComponent c) { return time[static_cast<size_t>(c)]; }
  Seconds at(TimeComponent c) const { return time[static_cast<size_t>(c)]; }
  Bytes& at(MemoryComponent c) { return memory[static_cast<size_t>(c)]; }
  Bytes at(MemoryComponent c) const { return memory[static_cast<size_t>(c)]; }
};

// Estimates one optimizer step. Fails on an invalid plan; a plan that does not fit in memory is
// still estimated, with fits_in_memory = false.
Result<StepEstimate> EstimateStep(const TrainingJob& job, const Cluster& cluster, const ParallelPlan& plan);

// The largest error of the step model's peak memory per GPU on measured runs it was never fitted
// on: 15.8% (data/validation/heldout_runs.csv, rows h3 and h7-h9: -15.0, +15.8, +15.8, -5.1%;
// docs/validation.md, "Runs kept apart"), rounded up. A plan that fits with less headroom than this
// may not fit on the real GPU (test HeldOutRuns.MemoryMarginCoversTheMeasuredError keeps the two in step).
inline constexpr double kMemoryModelError = 0.16;

// Whether a plan that fits leaves less of the HBM it may use free than the memory model's measured
// error (kMemoryModelError): it may not fit on the real GPU.
bool MemoryWithinModelError(const StepEstimate& e);
// That in words for the plan's memory line, "within the memory model's measured 16% error of the
// capacity: may not fit"; "" when the plan has more headroom or does not fit at all.
std::string MemoryMarginNote(const StepEstimate& e);

// Where a plan does not fit, what does not, in words: "does not fit in memory" (HBM), or "its
// offloaded activations (X GB) do not fit in the GPU's Y GB of host memory"; "" when it fits.
std::string MemoryShortfall(const StepEstimate& e);

// Bytes per parameter the distributed optimizer (or FSDP) gathers: BF16, or the format's row-wise
// copy where the job keeps its weights in an 8- or 4-bit format (TrainingJob::
// low_precision_weights, which needs ZeRO stage >= 1), except MXFP8, which Megatron-Core gathers
// in BF16 through the gradient buffer. The step model prices its DP all-gathers with it, and the
// iteration timeline sends them.
double GatheredBytesPerParameter(const TrainingJob& job, const ParallelPlan& plan);

// Stage-to-stage sends (both directions) that the steady state of the pipeline schedule puts on
// the critical path, beyond the first forward's and the last backward's. Without interleaving a
// stage's next forward waits for its input and its backward for its gradient: a micro-batch's
// round trip through the pp stages carries 2 (pp - 1) sends and pp micro-batches are in flight,
// so each micro-batch exposes 2 (pp - 1) / pp of them, 2 (m (pp - 1) / pp - 1) in all (the
// iteration timeline's 1F1B finds exactly this for m >= pp). With vp > 1 the other chunks in
// flight cover them: none.
double PipelineSteadyStateSends(int pp, int vp, int micro_batches);

// The communicator the step model prices for `size` ranks `stride` apart in a job laid out
// domain by domain on `cluster` (a DP group: dp x cp ranks of stride tp), for simulators that
// must choose the same collective algorithm. `nccl_ctas` > 0 caps its NVLink tier at that many
// NCCL channels (TrainingJob::nccl_max_ctas).
perf::CommGroup CommGroupOf(const Cluster& cluster, int size, int stride, int nccl_ctas = 0);

// Activation offload of the fewest layers per pipeline rank that fit in memory; an error when the
// system has no host link, and every layer when even that does not fit.
Result<StepEstimate> EstimateStepFewestOffloadLayers(const TrainingJob& job, const Cluster& cluster,
                                                     ParallelPlan plan);
// Full recompute of the fewest layers per pipeline rank that fit in memory (block recompute);
// every layer when even that does not fit (the estimate then says it does not fit).
Result<StepEstimate> EstimateStepFewestRecomputeLayers(const TrainingJob& job, const Cluster& cluster,
                                                       ParallelPlan plan);
// The faster of full recompute and activation offload of the fewest layers that fit (offload only
// where the system has a host link and `allow_offload` is set).
Result<StepEstimate> EstimateStepLeastRecomputeOrOffload(const TrainingJob& job, const Cluster& cluster,
                                                         const ParallelPlan& plan, bool allow_offload = true);
// Tries recompute none, then selective, then full recompute of as few layers per pipeline rank
// as fit (block recompute), and returns the first that fits (or full recompute of every layer).
Result<StepEstimate> EstimateStepLightestRecompute(const TrainingJob& job, const Cluster& cluster,
                                                   ParallelPlan plan);

// "where the time and the memory go", one component per line.
std::string ExplainStep(const StepEstimate& e);

}  // namespace aif::train
