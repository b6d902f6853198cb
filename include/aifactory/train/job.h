// What is trained (model, sequence, batch, precision), on what (cluster), and how (parallel plan).
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "aifactory/catalog/catalog.h"

namespace aif::train {

enum class TaskKind { kPretrain, kSft, kLora };
enum class Recompute { kNone, kSelective, kFull };

const char* TaskKindName(TaskKind k);
Result<TaskKind> ParseTaskKind(std::string_view s);
const char* RecomputeName(Recompute r);
Result<Recompute> ParseRecompute(std::string_view s);

// How the expert-parallel all-to-all moves a MoE layer's tokens (Megatron-Core
// moe_token_dispatcher_type). kFlex: hierarchically, each token crossing the scale-out network
// once per remote NVLink domain that holds any of its experts and forwarded over NVLink there
// (DeepEP and HybridEP, Megatron-Core's "flex" dispatcher; perf::MoeDispatchTime). kAllToAll: one
// NCCL all-to-all of every token-expert pair (Megatron-Core MoEAlltoAllTokenDispatcher permutes
// each token once per routed expert and exchanges the copies by rank), so a token crosses the
// network once per remote expert. Inside one NVLink domain the two move the same pairs.
enum class MoeDispatcher { kFlex, kAllToAll };
const char* MoeDispatcherName(MoeDispatcher d);  // "flex", "alltoall"
Result<MoeDispatcher> ParseMoeDispatcher(std::string_view s);

// How per-tensor FP8 (catalog::Precision::kFp8) takes its scales. kCurrent: from each tensor as it
// is quantized (Transformer Engine's Float8CurrentScaling, the recipe of Megatron-Bridge's FP8
// benchmarks), an extra amax pass per quantization. kDelayed: from an amax history of earlier
// iterations (DelayedScaling, Transformer Engine's only per-tensor recipe before
// Float8CurrentScaling arrived, NVIDIA/TransformerEngine 77fa1e596 of 2025-03-07; e.g. NeMo 24.07).
// Their measured costs: catalog::QuantizeBytesPerElement.
enum class Fp8Scaling { kCurrent, kDelayed };
const char* Fp8ScalingName(Fp8Scaling s);  // "current", "delayed"
Result<Fp8Scaling> ParseFp8Scaling(std::string_view s);

// NCCL's per-communicator CTA caps: the most CTAs (NCCL channels) one communicator's kernels run
// on, as Megatron-Core sets them per process group from nccl_communicator_config_path (max_ctas per
// group name, NCCL's ncclConfig_t maxCTAs). NVIDIA's MLPerf Training v5.0/v5.1 Llama 3.1 8B and 405B
// submissions cap cp at 1, dp and dp_cp at 8 and pp at 2 CTAs (conf/nccl/custom_communicator_cta.yaml,
// NCCL_CFG_PATH in config_common.sh) to leave the SMs to the GEMMs. NCCL keeps a capped
// communicator's first channels of its topology search (src/graph/connect.cc: nChannels =
// min(nChannels, maxCTAs)), each at the search's per-channel bandwidth
// (catalog::Accelerator::nccl_channel_bandwidth), so the communicator moves at most caps x that
// over NVLink. 0: not capped (NCCL's own channel count), the default.
struct NcclCtaCaps {
  int tp = 0;  // the tensor-parallel communicator (NCCL's; userbuffers TP overlap does not use it)
  int cp = 0;  // context parallel: the ring attention's K/V send/recv
  int dp = 0;  // data parallel (dp and dp_cp): gradient reduce-scatter / all-reduce, parameter all-gather
  int pp = 0;  // pipeline send/recv
  bool Any() const { return tp > 0 || cp > 0 || dp > 0 || pp > 0; }
  bool operator==(const NcclCtaCaps&) const = default;
  // NCCL's MAXCHANNELS (src/include/device.h: 64): a cap above it means nothing.
  static constexpr int kMax = 64;
};
// The communicators a cap names, in their order, with the field that holds each.
inline constexpr std::pair<int NcclCtaCaps::*, const char*> kNcclCtaCapFields[] = {
    {&NcclCtaCaps::tp, "tp"}, {&NcclCtaCaps::cp, "cp"}, {&NcclCtaCaps::dp, "dp"}, {&NcclCtaCaps::pp, "pp"}};
// "cp=1 dp=8 pp=2" (communicators in the order tp, cp, dp, pp; "none" when none is capped).
std::string NcclCtaCapsName(const NcclCtaCaps& caps);
// Pairs name=count separated by spaces, ',' or ';', names tp, cp, dp, pp, counts 1 to
// NcclCtaCaps::kMax; "" or "none" caps nothing. Errors name the pair at fault.
Result<NcclCtaCaps> ParseNcclCtaCaps(std::string_view s);
// Caps within 0..NcclCtaCaps::kMax, and an accelerator whose NCCL channel bandwidth the catalog
// gives wherever a cap is set (ValidatePlan checks it too).
Status CheckNcclCtaCaps(const NcclCtaCaps& caps, const catalog::Accelerator& accelerator);

struct TrainingJob {
  catalog::Model model;
  int seq_len = 4096;
  int global_batch = 1;  // sequences per optimizer step
  catalog::Precision precision = catalog::Precision::kBf16;
  TaskKind task = TaskKind::kPretrain;
  // With an 8- or 4-bit GEMM format: the model keeps its weights only in that format, quantized
  // once per step from the optimizer's FP32 master copy, and the distributed optimizer gathers
  // them in it (Megatron-Core fp8_param_gather / fp4_param_gather: "keep the compute param in
  // fp8 (do not use any other intermediate dtype) and perform the param all-gather in fp8",
  // NVIDIA/Megatron-LM megatron/core/distributed/distributed_data_parallel_config.py @ d98e8a64ddf3).
  // Off, it keeps BF16 weights and Transformer Engine caches their quantized copy for the step's
  // micro-batches. On by default, as Megatron-Bridge's FP8 current-scaling, MXFP8 and (since
  // v0.5.0) NVFP4 precision configs set it (src/megatron/bridge/training/mixed_precision.py,
  // bf16_with_fp8_current_scaling_mixed, bf16_with_mxfp8_mixed, bf16_with_nvfp4_mixed).
  bool low_precision_weights = true;
  // The MoE token dispatcher (MoeDispatcher); flex by default, the hierarchical dispatch a
  // factory planning expert parallelism across NVLink domains would run.
  MoeDispatcher moe_dispatcher = MoeDispatcher::kFlex;
  // Per-tensor FP8's scaling (Fp8Scaling); only `precision` kFp8 reads it.
  Fp8Scaling fp8_scaling = Fp8Scaling::kCurrent;
  // MoE token dropping with padding to capacity (Megatron-Core moe_expert_capacity_factor with
  // moe_pad_expert_input_to_capacity); 0: dropless, the default. Above 0, every expert takes
  // capacity = this factor times its balanced share of the routed tokens, drops what is beyond it
  // and pads what is short of it, so its GEMMs, permutes and all-to-all move the factor's rows
  // whatever the routing. The split sizes are then known without the routing result: the
  // dispatcher copies nothing to the host and waits on nothing there (token_dispatcher.py
  // MoEAlltoAllTokenDispatcher: drop_and_pad skips _maybe_dtoh_and_synchronize, NVIDIA/Megatron-LM
  // @d98e8a64ddf3), and the static shapes let a MoE layer be captured whole as a CUDA graph (the
  // "moe" module). Megatron-Bridge's token-drop recipes use 1.0 (apply_moe_token_drop, v0.1.0rc4).
  double moe_capacity_factor = 0;
  // Input bound on moe_capacity_factor: published token-drop runs use 1.0 to 2.0 (Fedus et al.
  // 2021, Switch Transformer, table 1: 1.0-2.0); beyond 16 a typo is likelier than a run.
  static constexpr double kMaxMoeCapacityFactor = 16;
  bool DropsTokens() const { return moe_capacity_factor > 0; }
  // Per-communicator NCCL CTA caps (NcclCtaCaps); none by default.
  NcclCtaCaps nccl_max_ctas;
};

// The accelerators a job runs on, with the system that houses them and its scale-out fabric.
struct Cluster {
  catalog::Accelerator accelerator;
  catalog::System system;
  catalog::Fabric fabric;
  catalog::KernelEfficiency efficiency;
  int gpus = 1;
  // Scale-out fat-tree oversubscription (2 = 2:1). Without a leaf-level topology (the `net`
  // module's job), traffic leaving an NVLink domain is taken to cross the oversubscribed tier:
  // its bandwidth is divided by this ratio, an upper bound on the slowdown.
  double scale_out_oversubscription = 1;
  // How the scale-out fabric spreads flows over equal-cost paths, for the simulators that route
  // them (the timeline's network): adaptively by load (InfiniBand's default) or by static ECMP
  // hashing. The step model assumes perfect balance either way.
  bool adaptive_routing = true;
  // Sites the job spans (1: one site): its GPUs split evenly, whole NVLink domains per site,
  // joined by a WAN of `wan_bandwidth` per site (each direction) with one-way `wan_latency`.
  int sites = 1;
  BytesPerSecond wan_bandwidth;
  Seconds wan_latency;
  // GPU memory per GPU held back from the plan's state (CUDA context, communication buffers,
  // allocator fragmentation, as the user knows them for their framework); a plan fits when its
  // state fits in the HBM capacity less this. 0 by default: the step model's memory is then the
  // whole footprint.
  Bytes memory_reserve;

  int SiteSize() const { return gpus / std::max(1, sites); }

  // GPUs of this job in one NVLink domain: the largest divisor of `gpus` not above the system's
  // domain (jobs fill whole domains; 256 GPUs on 72-GPU racks use 64 per rack).
  int DomainSize() const;
};

// Checks that the cluster's GPUs split evenly into its sites, in whole NVLink domains.
Status CheckSiteSplit(const Cluster& cluster);

// Builds a cluster of `gpus` accelerators of `system` from the catalog.
Result<Cluster> MakeCluster(const catalog::Catalog& catalog, const std::string& system_id, int gpus);

// Modules of a layer that per-layer CUDA graphs capture (Megatron-Core CudaGraphModule).
enum CudaGraphModule : unsigned {
  kGraphAttn = 1u << 0,           // "attn": the attention block, norm to residual add
  kGraphMlp = 1u << 1,            // "mlp": the MLP block of a dense layer
  kGraphMoeRouter = 1u << 2,      // "moe_router": a MoE block up to the router, shared experts included
  kGraphMoePreprocess = 1u << 3,  // "moe_preprocess": the token dispatcher's preprocess (with moe_router)
  kGraphMoe = 1u << 4,            // "moe": a MoE layer's whole MLP (needs token dropping)
  kGraphAll = (1u << 5) - 1,
};
// "attn+moe_router+moe_preprocess" (in this order); "none" for no module.
std::string CudaGraphModulesName(unsigned modules);
// Names separated by '+', ',', ';' or spaces, e.g. "attn+moe_router+moe_preprocess"; "" or
// "none" is no module; unknown names are errors naming the valid ones. "moe" (a MoE layer's whole
// MLP: router, dispatch, experts, combine) needs TrainingJob::moe_capacity_factor (ValidatePlan):
// Megatron-Core captures a MoE layer whole only with token dropping and padding.
Result<unsigned> ParseCudaGraphModules(std::string_view s);
// Megatron-Core's rules for the modules a job captures: moe_preprocess with moe_router; moe,
// moe_router and moe_preprocess on a model with experts; moe only with token dropping, and not
// beside moe_router or moe_preprocess (it captures them). ValidatePlan checks them too.
Status CheckCudaGraphModules(const TrainingJob& job, unsigned modules);
// TrainingJob::moe_capacity_factor: 0 (dropless) or above 0 up to kMaxMoeCapacityFactor, and
// above 0 only on a model with experts. ValidatePlan checks it too.
Status CheckMoeCapacityFactor(const TrainingJob& job);

struct ParallelPlan {
  int tp = 1;  // tensor parallel (with sequence parallelism when > 1)
  int pp = 1;  // pipeline stages
  int vp = 1;  // virtual stages per pipeline rank (interleaved 1F1B)
  int cp = 1;  // context parallel
  int ep = 1;  // expert parallel (MoE layers)
  int dp = 1;  // data parallel; tp*pp*cp*dp = gpus
  int micro_batch = 1;
  // 0: plain data parallel; 1: distributed optimizer (optimizer state sharded over dp);
  // 2: gradients sharded too; 3: parameters sharded too (FSDP).
  int zero_stage = 1;
  Recompute recompute = Recompute::kNone;
  // With full recompute: how many layers of each pipeline rank recompute (Megatron-Core
  // --recompute-method block --recompute-num-layers); the others keep all their activations.
  // 0 means every layer.
  int recompute_layers = 0;
  // Layers whose activations are offloaded to host memory during the forward and brought back
  // for the backward (Megatron-Core cpu_offloading_num_layers); needs a host link and what
  // Megatron-Core asks of cpu_offloading (OffloadAllowed): one pipeline stage, no recompute, no
  // per-layer CUDA graphs, fewer layers than the model has.
  int offload_layers = 0;
  bool sequence_parallel = true;
  // Software settings of the framework, beside the parallel layout. ep_overlap: the expert-
  // parallel all-to-all of one micro-batch runs beside the compute of another, the forward and
  // backward passes of adjacent micro-batches merged (Megatron-Core
  // overlap_moe_expert_parallel_comm, Megatron-Bridge moe_a2a_overlap); needs ep > 1, no full
  // recompute and, with pp > 1, the interleaved schedule (vp > 1), as Megatron-Core asserts.
  // cuda_graphs: the whole iteration is captured as CUDA graphs and replayed (Megatron-Core
  // cuda_graph_impl full_iteration), so the host launches no kernel one by one.
  // cuda_graph_modules: modules of every layer captured as CUDA graphs of their own, forward and
  // backward (Megatron-Core cuda_graph_impl "transformer_engine" with cuda_graph_modules, formerly
  // cuda_graph_scope; CudaGraphModule bits): each captured module costs the host one graph launch
  // instead of its kernels' launches. It and cuda_graphs exclude each other, as in Megatron-Core.
  bool ep_overlap = false;
  bool cuda_graphs = false;
  unsigned cuda_graph_modules = 0;

  int GradientAccumulation(int global_batch) const { return global_batch / (micro_batch * dp); }
  std::string ToString() const;
};

// Whether a plan meets Megatron-Core's conditions for ep_overlap: expert parallelism, no full
// recompute, and the interleaved schedule where there are pipeline stages.
bool EpOverlapAllowed(const ParallelPlan& plan);

// Whether a plan's layout meets Megatron-Core's conditions for activation offload (cpu_offloading,
// TransformerConfig.__post_init__ since the feature landed in 2023-12, unchanged since): no
// pipeline parallelism and no per-layer CUDA graphs (whole-iteration graphs are allowed). Offload
// takes the place of recompute, which Megatron-Core refuses beside it (ValidatePlan); the host
// link and the layer count are checked there too.
bool OffloadAllowed(const ParallelPlan& plan);

// Checks divisibility and sizes: tp*pp*cp*dp = gpus, heads and kv heads divisible by tp, layers
// by pp*vp, experts by ep, global batch by micro_batch*dp, sequence by 2*cp. The message names
// the failing quantity and its values.
Status ValidatePlan(const TrainingJob& job, const Cluster& cluster, const ParallelPlan& plan);

}  // namespace aif::train
