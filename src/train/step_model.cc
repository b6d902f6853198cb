#include "aifactory/train/step_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "aifactory/perf/collective.h"
#include "aifactory/perf/device.h"
#include "aifactory/train/flops.h"

namespace aif::train {
namespace {

using catalog::MlpKind;
using catalog::Precision;

constexpr double kBf16 = 2;  // bytes of a BF16 activation element
constexpr double kFp32 = 4;
// Gradient buffers and their reduction in BF16: Megatron-Core DistributedDataParallelConfig
// grad_reduce_in_fp32 defaults to False, and the Megatron-Bridge performance recipes keep it
// (NVIDIA-NeMo/Megatron-Bridge scripts/performance dry-run configs: ddp.grad_reduce_in_fp32: false).
constexpr double kGradBytes = kBf16;

// Times of one layer (or head) for one micro-batch on one GPU, in seconds.
struct Pass {
  double gemm = 0, attention = 0, moe_gemm = 0, elementwise = 0;
  double tp = 0, cp = 0, ep = 0;  // exposed communication
  double total() const { return gemm + attention + moe_gemm + elementwise + tp + cp + ep; }
  Pass& operator+=(const Pass& o) {
    gemm += o.gemm; attention += o.attention; moe_gemm += o.moe_gemm; elementwise += o.elementwise;
    tp += o.tp; cp += o.cp; ep += o.ep;
    return *this;
  }
  Pass Scaled(double k) const {
    Pass r = *this;
    r.gemm *= k; r.attention *= k; r.moe_gemm *= k; r.elementwise *= k; r.tp *= k; r.cp *= k; r.ep *= k;
    return r;
  }
};

struct LayerCost {
  Pass fwd, bwd;
  // Forward time of what selective recompute re-runs in backward: norms, MLP activations and,
  // for MLA, the up-projections from the latent (Megatron-Core recompute_modules layernorm,
  // moe_act/mlp activation, mla_up_proj).
  double selective_recompute = 0;
  // Host (CPU) time to launch the forward's kernels from an eager framework, and the backward's:
  // about twice as many kernels (input and weight gradients), but one replay for each module
  // captured as a CUDA graph, whose backward is a graph of its own.
  double host_fwd = 0;
  double host_bwd = 0;
};

// The tiers a GPU of `c` sees, as the step model prices them.
struct CommTiers {
  perf::LinkTier scale_up, scale_out, cross_site;
  int domain = 1;
  int site = 0;  // GPUs per site when the job spans sites, else 0
};

CommTiers TiersOf(const Cluster& c) {
  CommTiers t;
  t.domain = c.DomainSize();
  t.scale_up.bandwidth = BytesPerSecond(c.accelerator.scale_up_bandwidth.value() * c.efficiency.scale_up);
  t.scale_up.latency = c.efficiency.scale_up_latency;
  t.scale_out.bandwidth = BytesPerSecond(c.fabric.port_bandwidth.value() * c.system.nics_per_gpu *
                                         c.efficiency.scale_out / std::max(1.0, c.scale_out_oversubscription));
  t.scale_out.latency = c.fabric.latency;
  // Across sites every GPU of a site shares its WAN (at the scale-out fabric's efficiency).
  t.site = c.sites > 1 ? c.SiteSize() : 0;
  if (t.site > 0) {
    t.cross_site.bandwidth = BytesPerSecond(c.wan_bandwidth.value() * c.efficiency.scale_out / t.site);
    t.cross_site.latency = c.wan_latency;
  }
  return t;
}

// The NVLink tier of a communicator whose NCCL kernels run on at most `ctas` CTAs
// (TrainingJob::nccl_max_ctas): ctas channels at the accelerator's NCCL channel bandwidth at
// most. 0 CTAs: not capped. The scale-out tier stays: one channel there already runs at about a
// NIC's rate in NCCL's model (src/graph/search.cc sm90SpeedArrayInter 48, sm100SpeedArrayInter 96 GB/s).
perf::LinkTier CapCtas(perf::LinkTier scale_up, int ctas, const catalog::Accelerator& accelerator) {
  const double channel = accelerator.nccl_channel_bandwidth.value();
  if (ctas > 0 && channel > 0) {
    scale_up.bandwidth = BytesPerSecond(std::min(scale_up.bandwidth.value(), ctas * channel));
  }
  return scale_up;
}

perf::CommGroup GroupOf(const CommTiers& t, int size, int stride) {
  perf::CommGroup g;
  g.size = size;
  g.ranks_per_domain = perf::RanksPerDomain(size, stride, t.domain);
  g.ranks_per_site = t.site > 0 ? perf::RanksPerDomain(size, stride, t.site) : 0;
  g.scale_up = t.scale_up;
  g.scale_out = t.scale_out;
  g.cross_site = t.cross_site;
  return g;
}

// Whether the plan's state fits in the GPU's HBM (less the cluster's reserve), and whether what
// it offloads fits in the GPU's share of host memory (unchecked where the system gives none).
bool FitsInHbm(const StepEstimate& e) { return e.memory_total <= e.memory_capacity; }
bool FitsInHostMemory(const StepEstimate& e) {
  return e.host_memory_capacity.value() <= 0 || e.host_memory_used <= e.host_memory_capacity;
}

// Whether the weights are kept only in the low-precision format (TrainingJob::
// low_precision_weights): Megatron-Core allows it with a distributed optimizer or FSDP only
// ("--fp8-param-gather only supported with distributed optimizer, torch fsdp2, megatron fsdp",
// megatron/training/arguments.py @d98e8a64ddf3), so plain data parallelism keeps BF16 weights.
bool KeepsLowPrecisionWeights(const TrainingJob& job, const ParallelPlan& plan) {
  return job.low_precision_weights && plan.zero_stage >= 1 &&
         catalog::MathClassOf(job.precision) != catalog::MathClass::k16Bit;
}

class StepModel {
 public:
  StepModel(const TrainingJob& job, const Cluster& cluster, const ParallelPlan& plan)
      : job_(job), m_(job.model), c_(cluster), p_(plan) {
    dev_.accelerator = &c_.accelerator;
    dev_.efficiency = &c_.efficiency;
    prec_ = job.precision;
    lora_ = job.task == TaskKind::kLora;
    t_ = 1.0 * p_.micro_batch * job.seq_len / p_.cp;
    t_sp_ = p_.sequence_parallel ? t_ / p_.tp : t_;
    const CommTiers tiers = TiersOf(c_);
    domain_ = tiers.domain;
    site_ = tiers.site;
    scale_up_ = tiers.scale_up;
    scale_out_ = tiers.scale_out;
    cross_site_ = tiers.cross_site;
    tp_group_ = Group(p_.tp, 1);
    cp_group_ = Group(p_.cp, p_.tp);
    ep_group_ = Group(p_.ep, 1);
    dp_group_ = Group(p_.dp * p_.cp, p_.tp);
    int expert_dp = std::max(1, p_.dp * p_.cp * p_.tp / p_.ep);
    expert_dp_group_ = Group(expert_dp, p_.ep);
    // NCCL CTA caps per communicator (NcclCtaCaps). The dense data-parallel communicator is
    // Megatron-Core's dp (dp_cp with context parallelism); the expert one has a name of its own.
    const NcclCtaCaps& caps = job.nccl_max_ctas;
    tp_group_.scale_up = CapCtas(tp_group_.scale_up, caps.tp, c_.accelerator);
    dp_group_.scale_up = CapCtas(dp_group_.scale_up, caps.dp, c_.accelerator);
    cp_link_ = cp_group_.spans_domains() ? scale_out_ : CapCtas(scale_up_, caps.cp, c_.accelerator);
    pp_link_ = CapCtas(scale_up_, caps.pp, c_.accelerator);
  }

  StepEstimate Run();

 private:
  perf::CommGroup Group(int size, int stride) const {
    return GroupOf(CommTiers{scale_up_, scale_out_, cross_site_, domain_, site_}, size, stride);
  }
  double Gemm(double m, double n, double k, double count = 1) const {
    return perf::GemmTime(dev_, m, n, k, prec_, count).value();
  }
  double Mem(double bytes) const { return perf::MemoryTime(dev_, Bytes(bytes)).value(); }
  // Time a collective of `comm` seconds adds when it runs beside `compute` seconds of work: what
  // the compute does not cover, plus the slowdown of the compute it overlaps (Lee et al. 2025).
  double Overlap(double comm, double compute) const {
    return std::max(0.0, comm - compute) + c_.efficiency.overlap_slowdown * std::min(comm, compute);
  }
  // Rows a MoE layer moves and computes per routed token-expert pair: 1 dropless (balanced
  // routing), the capacity factor when tokens drop and pad to capacity (TrainingJob).
  double RoutedRowsPerPair() const { return job_.DropsTokens() ? job_.moe_capacity_factor : 1.0; }
  // Replayed CUDA graphs launch no kernel from the host one by one.
  double HostPerKernel() const { return p_.cuda_graphs ? 0.0 : c_.efficiency.host_kernel.value(); }
  // Backward GEMMs: input gradient and weight gradient, each as costly as the forward; LoRA
  // freezes the base weights and computes only the input gradient.
  double BackwardGemmFactor() const { return lora_ ? 1.0 : 2.0; }
  double MlpInputMultiplier() const { return m_.mlp == MlpKind::kSwiGlu ? 2.0 : 1.0; }
  double CastBytesPerElement() const {
    // Low-precision recipes quantize each GEMM input (scales, rowwise and columnwise copies);
    // the measured cost per element is in catalog::QuantizeBytesPerElement.
    return catalog::QuantizeBytesPerElement(prec_, job_.fp8_scaling == Fp8Scaling::kDelayed);
  }

  // Bytes per parameter of the weights a GPU keeps: BF16 and, in a low-precision format, the
  // quantized copy the GEMMs read (catalog::TrainingWeightBytes), or that copy alone when the
  // weights are kept in the format.
  double WeightBytesPerParameter() const {
    const double quantized = catalog::TrainingWeightBytes(prec_, c_.accelerator.fp8_gemm_tn_only);
    if (quantized <= 0) return kBf16;
    return (KeepsLowPrecisionWeights(job_, p_) ? 0 : kBf16) + quantized;
  }
  LayerCost Layer(int layer) const;
  // Host launches of one layer's forward; `graphs` of them are replays of captured modules.
  struct Launches {
    double total = 0;
    double graphs = 0;
  };
  Launches LayerKernels(int layer) const;
  // Share of a rank's layers that run full recompute (1 unless block recompute limits it).
  double RecomputeShare() const {
    if (p_.recompute != Recompute::kFull || p_.recompute_layers <= 0) return 1;
    return std::min(1.0, p_.recompute_layers * p_.pp / std::max(1.0, 1.0 * m_.layers));
  }
  LayerCost Head() const;  // logits and loss (+ multi-token prediction)
  double ActivationBytesPerLayer(int layer, Recompute r) const;

  const TrainingJob& job_;
  const catalog::Model& m_;
  const Cluster& c_;
  const ParallelPlan& p_;
  perf::Device dev_;
  Precision prec_;
  bool lora_ = false;
  double t_ = 0, t_sp_ = 0;
  int domain_ = 1;
  int site_ = 0;  // GPUs per site when the job spans sites, else 0
  perf::LinkTier scale_up_, scale_out_, cross_site_;
  perf::LinkTier cp_link_, pp_link_;  // the CP ring's link; PP sends inside an NVLink domain
  perf::CommGroup tp_group_, cp_group_, ep_group_, dp_group_, expert_dp_group_;
};

LayerCost StepModel::Layer(int layer) const {
  LayerCost c;
  const double h = m_.hidden, tp = p_.tp, t = t_, tsp = t_sp_;
  const double nq = m_.heads;
  const double dqk = m_.QkHeadDim(), dv = m_.VHeadDim();
  const double bwd_gemm = BackwardGemmFactor();
  const double cast = CastBytesPerElement();
  double fwd_linear = 0, elem_fwd = 0;

  // Attention projections.
  double up_projections = 0;
  if (m_.mla) {
    const auto& a = *m_.mla;
    if (a.q_lora_rank > 0) {
      up_projections += Gemm(t, nq * dqk / tp, a.q_lora_rank);
      fwd_linear += Gemm(t, a.q_lora_rank, h);
    } else {
      fwd_linear += Gemm(t, nq * dqk / tp, h);
    }
    up_projections += Gemm(t, nq * (a.qk_nope_head_dim + dv) / tp, a.kv_lora_rank);
    fwd_linear += up_projections + Gemm(t, a.kv_lora_rank + a.qk_rope_head_dim, h);
    elem_fwd += tsp * (nq + 1) * a.qk_rope_head_dim * 2 * kBf16;  // rotary on the rope dims
    elem_fwd += tsp * (h + a.kv_lora_rank + a.q_lora_rank) * cast;
  } else {
    double kv_local = std::max(1.0, m_.kv_heads / tp);
    fwd_linear += Gemm(t, (nq / tp + 2 * kv_local) * dqk, h);
    elem_fwd += t * (nq / tp + kv_local) * dqk * 2 * kBf16;  // rotary on q and k
    elem_fwd += tsp * h * cast;
  }
  fwd_linear += Gemm(t, h, nq * dv / tp);
  elem_fwd += tsp * nq * dv * cast;

  // Attention scores: causal, or a sliding window; queries split by cp, heads by tp.
  double s = job_.seq_len;
  double kv_avg = s / 2;
  const bool banded = m_.UsesSlidingWindow(layer) && m_.sliding_window < s;
  if (banded) {
    double w = m_.sliding_window;
    kv_avg = w - w * w / (2 * s);
  }
  double attn_flops = p_.micro_batch * (s / p_.cp) * kv_avg * 2 * (nq / tp) * (dqk + dv);
  // The kernel's measured efficiency at its length: the sequence, causal; unmasked blocks of s/cp
  // keys per query under context parallelism (the ring's steps) or the window's keys (a band).
  c.fwd.attention = banded || p_.cp > 1
                        ? perf::AttentionTime(dev_, Flops(attn_flops), std::min(kv_avg, s / p_.cp), false).value()
                        : perf::AttentionTime(dev_, Flops(attn_flops), s, true).value();
  // FlashAttention's backward runs five matmuls to the forward's two.
  c.bwd.attention = 2.5 * c.fwd.attention;

  // Norms (read, write) and residual adds (read two, write one) on the sequence-parallel shard.
  const double norm_bytes = tsp * h * 2 * 2 * kBf16;
  elem_fwd += norm_bytes + tsp * h * 2 * 3 * kBf16;
  double activation_bytes = 0;

  // Tensor-parallel collectives (sequence parallel): all-gather before, reduce-scatter after
  // each block, overlapped with the block's GEMMs.
  double tp_block = 0;
  if (p_.tp > 1) {
    Bytes act(t * h * kBf16);
    tp_block = perf::AllGatherTime(tp_group_, act).value() + perf::ReduceScatterTime(tp_group_, act).value();
  }
  double tp_comm = tp_block;

  // MLP.
  const double mult = MlpInputMultiplier();
  if (m_.IsMoeLayer(layer)) {
    const auto& e = *m_.moe;
    // Token-expert pairs routed from this GPU (padded to the experts' capacity when tokens drop).
    double pairs = tsp * e.top_k * RoutedRowsPerPair();
    double local_experts = 1.0 * e.experts / p_.ep;
    double rows = pairs * p_.ep / e.experts;  // tokens per local expert (balanced routing)
    fwd_linear += perf::GemmTime(dev_, tsp, e.experts, h, Precision::kBf16).value();  // router
    c.fwd.moe_gemm = perf::GroupedGemmTime(dev_, rows, mult * e.expert_ffn_hidden, h, prec_, local_experts).value() +
                     perf::GroupedGemmTime(dev_, rows, h, e.expert_ffn_hidden, prec_, local_experts).value();
    c.bwd.moe_gemm = bwd_gemm * c.fwd.moe_gemm;
    if (e.shared_experts > 0) {
      double fs = 1.0 * e.shared_experts * e.shared_expert_ffn_hidden;
      fwd_linear += Gemm(t, mult * fs / tp, h) + Gemm(t, h, fs / tp);
      activation_bytes += tsp * fs * (mult + 1) * kBf16;
      elem_fwd += tsp * fs * (mult + 1) * kBf16 + tsp * (h + fs) * cast;
      tp_comm += tp_block;
    }
    // Permute and unpermute (read and write every routed row), activation, casts.
    elem_fwd += 2 * pairs * h * 2 * kBf16;
    activation_bytes += pairs * e.expert_ffn_hidden * (mult + 1) * kBf16;
    elem_fwd += pairs * e.expert_ffn_hidden * (mult + 1) * kBf16 + pairs * (h + e.expert_ffn_hidden) * cast;
    // Dispatch and combine in BF16: an all-to-all inside one NVLink domain; beyond it
    // hierarchical, one scale-out copy per remote domain (perf::MoeDispatchTime), or with the
    // NCCL all-to-all dispatcher one copy per remote token-expert pair.
    double a2a = job_.moe_dispatcher == MoeDispatcher::kAllToAll
                     ? perf::AllToAllTime(ep_group_, Bytes(pairs * h * kBf16)).value()
                     : RoutedRowsPerPair() * perf::MoeDispatchTime(ep_group_, tsp, e.experts, e.top_k, h * kBf16,
                                                                   e.groups, e.groups_per_token)
                                                 .value();
    c.fwd.ep = 2 * a2a;
    c.bwd.ep = 2 * a2a;
  } else {
    double f = m_.ffn_hidden;
    fwd_linear += Gemm(t, mult * f / tp, h) + Gemm(t, h, f / tp);
    activation_bytes += tsp * f * (mult + 1) * kBf16;
    elem_fwd += tsp * f * (mult + 1) * kBf16 + tsp * (h + f) * cast;
    tp_comm += tp_block;
  }
  c.selective_recompute = Mem(norm_bytes + activation_bytes) + up_projections;
  const Launches launches = LayerKernels(layer);
  c.host_fwd = launches.total * HostPerKernel();
  c.host_bwd = (2 * (launches.total - launches.graphs) + launches.graphs) * HostPerKernel();

  c.fwd.gemm = fwd_linear;
  c.bwd.gemm = bwd_gemm * fwd_linear;
  c.fwd.elementwise = Mem(elem_fwd);
  c.bwd.elementwise = 2 * c.fwd.elementwise;
  c.fwd.tp = Overlap(tp_comm, c.fwd.gemm);
  c.bwd.tp = Overlap(tp_comm, c.bwd.gemm);

  // Context parallel: ring exchange of this rank's K and V (and their gradients in backward),
  // overlapped with the attention kernels.
  if (p_.cp > 1) {
    double kv_local = m_.mla ? nq / tp : std::max(1.0, m_.kv_heads / tp);
    Bytes kv(t * kv_local * (dqk + dv) * kBf16);
    double ring = (p_.cp - 1) * perf::SendRecvTime(cp_link_, kv).value();
    c.fwd.cp = Overlap(ring, c.fwd.attention);
    c.bwd.cp = Overlap(2 * ring, c.bwd.attention);
  }
  // EP overlap: the forward of one micro-batch and the backward of the one before it run merged,
  // so each pass's dispatch and combine run beside the other pass's compute; what the layer's
  // compute of both passes does not cover is exposed, with the usual slowdown of the compute it
  // overlaps. (The pipeline's warm-up and cool-down micro-batches have no partner; not modelled.)
  if (p_.ep_overlap && c.fwd.ep + c.bwd.ep > 0) {
    const double compute = c.fwd.gemm + c.fwd.attention + c.fwd.moe_gemm + c.fwd.elementwise + c.bwd.gemm +
                           c.bwd.attention + c.bwd.moe_gemm + c.bwd.elementwise;
    const double exposed = Overlap(c.fwd.ep + c.bwd.ep, compute);
    c.fwd.ep = exposed / 2;
    c.bwd.ep = exposed / 2;
  }
  return c;
}

// Launches one layer's forward makes in Megatron-Core with Transformer Engine, counted from
// the module structure: each GEMM (plus its operand quantization in FP8/FP4 recipes), norm,
// rotary, attention, activation, residual add and collective is one launch; the router,
// permutation and token bookkeeping of an MoE layer are counted as the kernels of their fused
// implementations; Transformer Engine's GroupedLinear launches one GEMM per local expert. A
// module captured as a CUDA graph (ParallelPlan::cuda_graph_modules) is one graph launch instead
// of its kernels, and its backward one more (Transformer Engine captures the two passes as two
// graphs); moe_router and moe_preprocess are captured together.
StepModel::Launches StepModel::LayerKernels(int layer) const {
  const double k = catalog::MathClassOf(prec_) == catalog::MathClass::k16Bit ? 1 : 2;  // GEMM + quantize
  const double tp_comm = p_.tp > 1 ? 2 : 0;  // all-gather and reduce-scatter around a block
  const unsigned graphs = p_.cuda_graph_modules;
  double replays = 0;
  auto launches = [&](double kernels, unsigned module) {
    if ((graphs & module) == 0 || kernels <= 0) return kernels;
    replays += 1;
    return 1.0;
  };
  // Attention block: QKV and projection GEMMs; norm, rotary q/k, attention, residual add.
  double attn = 2 * k + 5 + tp_comm;
  if (m_.mla) attn += 3 * k + 4;  // q and kv down- and up-projections; latent norms, rope split/concat
  double n = launches(attn, kGraphAttn);
  if (m_.IsMoeLayer(layer)) {
    const auto& e = *m_.moe;
    const double local = std::max(1.0, 1.0 * e.experts / p_.ep);
    // Up to the router: norm, router GEMM, softmax/top-k/aux loss; the shared experts.
    double router = k + 1 + 6;
    if (e.shared_experts > 0) router += 2 * k + 1 + tp_comm;
    const double preprocess = p_.ep > 1 ? 2 : 0;  // split-size copies for the all-to-all
    // fc1 and fc2 of every local expert; residual add, (un)permute, activation; dispatch and combine.
    const double rest = 2 * local * k + 1 + 4 + 1 + (p_.ep > 1 ? 2 : 0);
    // A captured preprocess joins the router's graph (it needs moe_router: ValidatePlan); a MoE
    // layer captured whole is one graph.
    if ((graphs & kGraphMoe) != 0) {
      n += launches(router + preprocess + rest, kGraphMoe);
    } else {
      n += (graphs & kGraphMoePreprocess) != 0 ? launches(router + preprocess, kGraphMoeRouter)
                                               : launches(router, kGraphMoeRouter) + preprocess;
      n += rest;
    }
  } else {
    n += launches(2 * k + 3 + tp_comm, kGraphMlp);  // fc1, fc2; norm, activation, add
  }
  return {n, replays};
}

LayerCost StepModel::Head() const {
  LayerCost c;
  const double h = m_.hidden, v = m_.vocab;
  double logits = Gemm(t_, v / p_.tp, h);
  c.fwd.gemm = logits;
  c.bwd.gemm = BackwardGemmFactor() * logits;
  // Fused cross-entropy: write BF16 logits, read them for the softmax, read and write gradients.
  double ce = Mem(t_ * v / p_.tp * 4 * kBf16);
  c.fwd.elementwise = ce / 2;
  c.bwd.elementwise = ce / 2;
  if (m_.mtp_layers > 0) {
    // Each MTP module: a 2h -> h projection, one transformer layer, and its own logits.
    LayerCost layer = Layer(m_.layers - 1);
    double proj = Gemm(t_, h, 2 * h / p_.tp);
    for (int i = 0; i < m_.mtp_layers; ++i) {
      c.fwd += layer.fwd;
      c.bwd += layer.bwd;
      c.fwd.gemm += proj + logits;
      c.bwd.gemm += BackwardGemmFactor() * (proj + logits);
      c.fwd.elementwise += ce / 2;
      c.bwd.elementwise += ce / 2;
    }
  }
  return c;
}

// Activation bytes one layer keeps for its backward, per micro-batch, counted tensor by tensor
// (Korthikanti et al. 2022, sec. 4) for fused attention, GQA/MLA, gated MLPs and MoE. GEMM
// inputs saved for the weight gradient are kept in the GEMM's format (FP8 recipes save the
// quantized copy). Selective recompute re-runs the norms, the MLP activation and MLA's
// up-projections in backward and keeps none of their outputs; full recompute keeps only the layer
// input.
double StepModel::ActivationBytesPerLayer(int layer, Recompute r) const {
  const double h = m_.hidden, tp = p_.tp, t = t_, tsp = t_sp_;
  if (r == Recompute::kFull) return tsp * h * kBf16;
  const bool selective = r == Recompute::kSelective;
  const bool low_precision = catalog::MathClassOf(prec_) != catalog::MathClass::k16Bit;
  const double g = low_precision ? catalog::OperandBytes(prec_) : kBf16;  // saved GEMM input
  const double nq = m_.heads, dqk = m_.QkHeadDim(), dv = m_.VHeadDim();
  const double kv_local = m_.mla ? nq / tp : std::max(1.0, m_.kv_heads / tp);
  double bytes = 0;
  bytes += tsp * h * kBf16;                                      // layer input (norm backward)
  if (!selective) bytes += tsp * h * g;                          // norm output = QKV input
  // Q, K, V for attention backward; with MLA, selective recompute rebuilds them from the latents.
  if (!(selective && m_.mla)) bytes += t * (nq / tp * dqk + kv_local * (dqk + dv)) * kBf16;
  bytes += t * (nq / tp) * dv * kBf16 + t * (nq / tp) * kFp32;   // attention output, softmax stats
  if (low_precision) bytes += t * (nq / tp) * dv * g;            // its quantized copy (proj input)
  if (m_.mla) bytes += t * (m_.mla->kv_lora_rank + m_.mla->q_lora_rank) * g;  // latent GEMM inputs
  bytes += tsp * h * kBf16;                                      // residual (norm backward)
  if (!selective) bytes += tsp * h * g;                          // norm output = MLP input
  const double mult = MlpInputMultiplier();
  auto mlp = [&](double tokens, double f) {
    double b = tokens * mult * f * kBf16;  // MLP hidden before the activation
    if (!selective) b += tokens * f * g;   // activation output = second GEMM input
    return b;
  };
  if (m_.IsMoeLayer(layer)) {
    const auto& e = *m_.moe;
    double pairs = tsp * e.top_k * RoutedRowsPerPair();
    bytes += pairs * h * g;                  // permuted tokens = expert GEMM input
    bytes += mlp(pairs, e.expert_ffn_hidden);
    bytes += tsp * e.experts * kFp32;        // router probabilities
    if (e.shared_experts > 0) bytes += mlp(t / tp, 1.0 * e.shared_experts * e.shared_expert_ffn_hidden);
  } else {
    bytes += mlp(t / tp, m_.ffn_hidden);
  }
  return bytes;
}

StepEstimate StepModel::Run() {
  StepEstimate e;
  const int pp = p_.pp, vp = p_.vp;
  const int m = p_.GradientAccumulation(job_.global_batch);
  e.grad_accumulation = m;
  e.recompute = p_.recompute;
  e.recompute_layers = p_.recompute == Recompute::kFull ? p_.recompute_layers : 0;
  e.offload_layers = p_.offload_layers;
  e.ep_overlap = p_.ep_overlap;

  // Sum the layers once; each pipeline rank runs 1/pp of them (frameworks balance stages,
  // counting the embedding and the loss as layers).
  // Layers differ only in being dense or MoE and in using a sliding window: cost each kind
  // once (on a representative layer) and weight it by its count.
  Pass fwd, bwd, recompute;
  double act_per_stage_layers = 0, act_full_layers = 0;
  int kind_count[4] = {0, 0, 0, 0};
  int kind_layer[4] = {-1, -1, -1, -1};
  for (int l = 0; l < m_.layers; ++l) {
    int kind = (m_.IsMoeLayer(l) ? 2 : 0) + (m_.UsesSlidingWindow(l) ? 1 : 0);
    ++kind_count[kind];
    if (kind_layer[kind] < 0) kind_layer[kind] = l;
  }
  double host_f = 0, host_b = 0, host_exposed_f = 0;
  for (int kind = 0; kind < 4; ++kind) {
    if (kind_count[kind] == 0) continue;
    LayerCost lc = Layer(kind_layer[kind]);
    double n = kind_count[kind];
    host_f += n * lc.host_fwd;
    host_b += n * lc.host_bwd;
    host_exposed_f += n * std::max(0.0, lc.host_fwd - lc.fwd.total());
    fwd += lc.fwd.Scaled(n);
    bwd += lc.bwd.Scaled(n);
    if (p_.recompute == Recompute::kFull) recompute += lc.fwd.Scaled(n);
    if (p_.recompute == Recompute::kSelective) recompute.elementwise += n * lc.selective_recompute;
    act_per_stage_layers += n * ActivationBytesPerLayer(kind_layer[kind], p_.recompute);
    if (p_.recompute == Recompute::kFull) act_full_layers += n * ActivationBytesPerLayer(kind_layer[kind], Recompute::kNone);
  }
  // Block recompute: only recompute_layers of each rank's layers recompute; the rest keep all
  // their activations.
  const double recompute_share = RecomputeShare();
  if (recompute_share < 1) {
    recompute = recompute.Scaled(recompute_share);
    act_per_stage_layers = recompute_share * act_per_stage_layers + (1 - recompute_share) * act_full_layers;
  }
  LayerCost head = Head();
  fwd += head.fwd;
  bwd += head.bwd;
  fwd = fwd.Scaled(1.0 / pp);
  bwd = bwd.Scaled(1.0 / pp);
  recompute = recompute.Scaled(1.0 / pp);
  // Host launch time: an MoE layer's dispatcher waits for the routing result on the host
  // (split sizes for the all-to-all), so the host cannot run ahead of the forward layer by
  // layer; the backward has no such wait and only its total launch time is exposed. Dropping
  // tokens, the dispatcher knows its split sizes without the host, which then runs ahead of the
  // forward too.
  host_f /= pp;
  host_exposed_f = job_.DropsTokens() ? std::max(0.0, host_f - fwd.total()) : host_exposed_f / pp;
  host_b = host_b / pp + (p_.recompute == Recompute::kFull ? recompute_share * host_f : 0);
  const double host_exposed = host_exposed_f + std::max(0.0, host_b - bwd.total() - recompute.total());
  const double f = fwd.total() + host_exposed_f, b = bwd.total() + recompute.total() + (host_exposed - host_exposed_f);

  // Activation offload: the offloaded layers' activations leave for host memory during the
  // forward and come back during the backward, on copy engines beside the compute; what the
  // compute does not cover is exposed, micro-batch by micro-batch.
  const double offload_share =
      p_.offload_layers > 0 ? std::min(1.0, 1.0 * p_.offload_layers * pp / std::max(1, m_.layers)) : 0.0;
  double offload_mb = 0;
  if (offload_share > 0) {
    const double copy = offload_share * act_per_stage_layers / pp / c_.system.host_link_bandwidth.value();
    offload_mb = std::max(0.0, copy - f) + std::max(0.0, copy - b);
  }
  const double offload = m * offload_mb;

  // Pipeline: gradient accumulation over m micro-batches plus the (pp-1)/vp bubble of the
  // (interleaved) 1F1B schedule (Narayanan et al. 2021). The exposed offload stretches every
  // micro-batch, so the bubble too.
  const double bubble = pp > 1 ? (pp - 1.0) / vp * (f + b + offload_mb) : 0;
  double pp_comm = 0;
  if (pp > 1) {
    const int stage = p_.tp * p_.cp * p_.dp;  // GPUs of one pipeline stage (pp is laid out outermost)
    const Bytes msg_bytes(t_sp_ * m_.hidden * kBf16);
    perf::LinkTier link = stage >= domain_ ? scale_out_ : pp_link_;
    double msg = perf::SendRecvTime(link, msg_bytes).value();
    // Stage boundaries that cross sites: every one when a stage fills a site or more, else one
    // per pair of neighbouring sites. Only the boundary stage's GPUs share that WAN. With
    // interleaving each model chunk wraps from the last stage back to the first, which crosses
    // sites too when any boundary does.
    int cross = site_ == 0 ? 0 : (stage >= site_ ? pp - 1 : c_.sites - 1);
    const int wraps = vp - 1;
    double msg_wan = 0;
    if (cross > 0) {
      perf::LinkTier wan = cross_site_;
      wan.bandwidth = BytesPerSecond(cross_site_.bandwidth.value() * site_ / std::min(stage, site_));
      msg_wan = perf::SendRecvTime(wan, msg_bytes).value();
      // In steady state a crossing boundary carries every micro-batch of every chunk forward and
      // back (both directions at once); what the chunk's compute does not cover is exposed.
      pp_comm += m * vp * std::max(0.0, msg_bytes.value() / wan.bandwidth.value() - (f + b) / vp);
    }
    // The first forward and the last backward pass every chunk of every stage in turn: vp x pp - 1
    // sends each way on the critical path, (pp - 1) per chunk plus vp - 1 wrap-arounds.
    const int wan_sends = cross > 0 ? vp * cross + wraps : 0;
    const int local_sends = vp * pp - 1 - wan_sends;
    pp_comm += 2.0 * (local_sends * msg + wan_sends * msg_wan);
    // Without interleaving the steady state exposes sends too (PipelineSteadyStateSends).
    pp_comm += PipelineSteadyStateSends(pp, vp, m) * std::max(msg, msg_wan);
  }

  // Parameters held by one GPU (the heaviest stage carries the embedding).
  ParameterCount params = CountParameters(m_);
  double dense = params.attention + params.dense_mlp + params.shared_experts + params.router + params.norms;
  double experts = params.routed_experts + params.mtp_routed_experts;
  dense += params.mtp;
  double embed_local = 1.0 * m_.vocab * m_.hidden / p_.tp;
  double dense_local = dense / pp / p_.tp + embed_local;
  double expert_local = experts / pp / p_.ep;
  double params_local = dense_local + expert_local;
  int dp_shard = p_.dp * p_.cp;
  int expert_dp = expert_dp_group_.size;

  // Data parallel: gradient reduce-scatter and BF16 parameter all-gather (distributed
  // optimizer), overlapped with the last micro-batch's backward and the first one's forward.
  double dp_exposed = 0;
  if (!lora_) {
    // The dense and the expert gradients are reduced on their own communicators at once.
    double grad_rs = perf::ConcurrentScatterGatherTime(dp_group_, Bytes(dense_local * kGradBytes),
                                                       expert_dp_group_, Bytes(expert_local * kGradBytes)).value();
    const double gathered = GatheredBytesPerParameter(job_, p_);
    double param_ag = perf::ConcurrentScatterGatherTime(dp_group_, Bytes(dense_local * gathered),
                                                        expert_dp_group_, Bytes(expert_local * gathered)).value();
    if (p_.zero_stage == 0) {
      double ar = perf::ConcurrentAllReduceTime(dp_group_, Bytes(dense_local * kGradBytes),
                                                expert_dp_group_, Bytes(expert_local * kGradBytes)).value();
      dp_exposed = Overlap(ar, b);
    } else if (p_.zero_stage == 3) {
      // FSDP: parameters gathered for forward and again for backward, gradients scattered, on
      // every micro-batch, overlapped layer by layer with its compute.
      double per_mb = Overlap(param_ag, f) + Overlap(param_ag + grad_rs, b);
      dp_exposed = m * per_mb;
    } else {
      dp_exposed = Overlap(grad_rs, b) + Overlap(param_ag, f);
    }
  }

  // Optimizer (Adam, mixed precision): per sharded parameter read FP32 master, m, v and the gradient;
  // write master, m, v and the BF16 copy; zero the FP32 gradient buffer.
  double trainable_local = lora_ ? 0 : params_local;
  double shard = p_.zero_stage >= 1 ? dense_local / dp_shard + expert_local / expert_dp : trainable_local;
  double optimizer = lora_ ? 0 : Mem(shard * (3 * kFp32 + kGradBytes + 3 * kFp32 + kBf16) + trainable_local * kGradBytes);

  // Assemble.
  auto add = [&](TimeComponent tc, double s) { e.at(tc) += Seconds(s); };
  add(TimeComponent::kGemm, m * (fwd.gemm + bwd.gemm));
  add(TimeComponent::kAttention, m * (fwd.attention + bwd.attention));
  add(TimeComponent::kMoeGemm, m * (fwd.moe_gemm + bwd.moe_gemm));
  add(TimeComponent::kElementwise, m * (fwd.elementwise + bwd.elementwise));
  add(TimeComponent::kRecompute, m * recompute.total());
  add(TimeComponent::kTpComm, m * (fwd.tp + bwd.tp));
  add(TimeComponent::kCpComm, m * (fwd.cp + bwd.cp));
  add(TimeComponent::kEpComm, m * (fwd.ep + bwd.ep));
  add(TimeComponent::kPipelineBubble, bubble);
  add(TimeComponent::kPpComm, pp_comm);
  add(TimeComponent::kDpComm, dp_exposed);
  add(TimeComponent::kOptimizer, optimizer);
  add(TimeComponent::kHostLaunch, m * host_exposed);
  add(TimeComponent::kOffload, offload);
  Seconds total;
  for (Seconds s : e.time) total += s;
  e.step_time = total;

  // Memory per GPU on the first pipeline rank, which holds the most micro-batches in flight.
  double weight_bytes = WeightBytesPerParameter();
  // Sharded state divides by the data-parallel group it is sharded over: dense parameters over
  // dp*cp, expert parameters over the expert-data-parallel group.
  const double sharded = dense_local / dp_shard + expert_local / expert_dp;
  double weights = params_local * weight_bytes;
  double grads = lora_ ? 0 : params_local * kGradBytes;
  double optim = lora_ ? 0 : (p_.zero_stage == 0 ? params_local : sharded) * 3 * kFp32;
  if (p_.zero_stage >= 2 && !lora_) grads = sharded * kGradBytes;
  if (p_.zero_stage == 3) {
    // Plus the two layers being gathered (the current one and the prefetched next).
    double layer = (dense / m_.layers / p_.tp + experts / std::max(1, m_.layers) / p_.ep) * weight_bytes;
    weights = sharded * weight_bytes + 2 * layer;
  }
  // Micro-batches whose activations the first stage holds at its peak, in units of one
  // micro-batch through the stage's layers, from the warm-up forwards the first stage runs before
  // its first backward (NVIDIA/Megatron-LM megatron/core/pipeline_parallel/schedules.py
  // get_pp_rank_microbatches @d98e8a64ddf3). Without interleaving (1F1B) pp - 1: pp micro-batches
  // in flight, the depth of the pipeline (Narayanan et al. 2021, sec. 2.2.1), the whole model's
  // layers for one micro-batch. Interleaved, 2 (pp - 1) + (vp - 1) pp chunk forwards
  // (microbatch_group_size_per_vp_stage = pp by default): pp vp + pp - 1 chunks of 1/vp of the
  // stage's layers, 1 + (pp - 1) / (pp vp) times the memory of 1F1B.
  double in_flight = 1.0;
  if (pp > 1) in_flight = std::min<double>(m, pp) * (vp > 1 ? 1.0 + (pp - 1.0) / (pp * vp) : 1.0);
  double activations = act_per_stage_layers / pp * in_flight * (1 - offload_share);
  const double offloaded = act_per_stage_layers / pp * in_flight * offload_share;
  // Transient: the micro-batch's BF16 logits, which the fused cross-entropy overwrites with their
  // gradient (Transformer Engine's parallel_cross_entropy, cross_entropy_fusion_impl "te" in
  // Megatron-Bridge's model providers), so no FP32 copy; or a hidden-sized buffer if larger.
  double buffers = std::max(t_ * m_.hidden * kBf16, t_ * m_.vocab / p_.tp * kBf16);
  e.at(MemoryComponent::kWeights) = Bytes(weights);
  e.at(MemoryComponent::kGradients) = Bytes(grads);
  e.at(MemoryComponent::kOptimizer) = Bytes(optim);
  e.at(MemoryComponent::kActivations) = Bytes(activations);
  e.at(MemoryComponent::kCommBuffers) = Bytes(buffers);
  Bytes mem_total;
  for (Bytes b2 : e.memory) mem_total += b2;
  e.memory_total = mem_total;
  e.memory_reserve = c_.memory_reserve;
  e.memory_capacity = Bytes(std::max(0.0, c_.accelerator.hbm_capacity.value() - c_.memory_reserve.value()));
  e.host_memory_used = Bytes(offloaded);
  e.host_memory_capacity = Bytes(c_.system.host_memory.value() / std::max(1, c_.system.gpus_per_node));
  e.fits_in_memory = FitsInHbm(e) && FitsInHostMemory(e);

  e.model_flops = MegatronStepFlops(m_, job_.seq_len, job_.global_batch, false);
  e.hardware_flops = e.model_flops + recompute_share * (MegatronStepFlops(m_, job_.seq_len, job_.global_batch,
                                                                         p_.recompute == Recompute::kFull) -
                                                       e.model_flops);
  double seconds = e.step_time.value();
  e.tokens_per_second_per_gpu = 1.0 * job_.global_batch * job_.seq_len / seconds / c_.gpus;
  auto peak = c_.accelerator.Peak(prec_);
  e.mfu = peak.ok() ? e.model_flops / seconds / c_.gpus / peak->value() : 0;
  return e;
}

}  // namespace

const char* TimeComponentName(TimeComponent c) {
  switch (c) {
    case TimeComponent::kGemm: return "linear GEMMs";
    case TimeComponent::kAttention: return "attention";
    case TimeComponent::kMoeGemm: return "expert GEMMs";
    case TimeComponent::kElementwise: return "elementwise";
    case TimeComponent::kRecompute: return "recompute";
    case TimeComponent::kTpComm: return "TP comm (exposed)";
    case TimeComponent::kCpComm: return "CP comm (exposed)";
    case TimeComponent::kEpComm: return "EP all-to-all";
    case TimeComponent::kPipelineBubble: return "pipeline bubble";
    case TimeComponent::kPpComm: return "PP send/recv";
    case TimeComponent::kDpComm: return "DP comm (exposed)";
    case TimeComponent::kOptimizer: return "optimizer";
    case TimeComponent::kHostLaunch: return "host launch (exposed)";
    case TimeComponent::kOffload: return "offload (exposed)";
    case TimeComponent::kCount: break;
  }
  return "?";
}

const char* MemoryComponentName(MemoryComponent c) {
  switch (c) {
    case MemoryComponent::kWeights: return "weights";
    case MemoryComponent::kGradients: return "gradients";
    case MemoryComponent::kOptimizer: return "optimizer state";
    case MemoryComponent::kActivations: return "activations";
    case MemoryComponent::kCommBuffers: return "transient buffers";
    case MemoryComponent::kCount: break;
  }
  return "?";
}

// MXFP8's exception: Megatron-Core gathers its weights in BF16 into the gradient buffer and
// quantizes them where they land (reuse_grad_buf_for_mxfp8_param_ag, required with
// fp8_param_gather under MXFP8: megatron/core/optimizer/optimizer_config.py and
// distributed/param_and_grad_buffer.py _post_param_sync @ d98e8a64ddf3).
double GatheredBytesPerParameter(const TrainingJob& job, const ParallelPlan& plan) {
  if (!KeepsLowPrecisionWeights(job, plan) || job.precision == Precision::kMxfp8) return kBf16;
  return catalog::OperandBytes(job.precision);
}

double PipelineSteadyStateSends(int pp, int vp, int micro_batches) {
  if (pp <= 1 || vp > 1) return 0;
  return std::max(0.0, 2.0 * (1.0 * micro_batches * (pp - 1) / pp - 1));
}

perf::CommGroup CommGroupOf(const Cluster& cluster, int size, int stride, int nccl_ctas) {
  perf::CommGroup g = GroupOf(TiersOf(cluster), size, stride);
  g.scale_up = CapCtas(g.scale_up, nccl_ctas, cluster.accelerator);
  return g;
}

Result<StepEstimate> EstimateStep(const TrainingJob& job, const Cluster& cluster, const ParallelPlan& plan) {
  AIF_RETURN_IF_ERROR(ValidatePlan(job, cluster, plan));
  AIF_RETURN_IF_ERROR(cluster.accelerator.Peak(catalog::Precision::kBf16).status());
  if (cluster.accelerator.hbm_bandwidth.value() <= 0) {
    return Unsupported(fmt::format("accelerator '{}' has no sourced HBM bandwidth", cluster.accelerator.id));
  }
  StepModel model(job, cluster, plan);
  return model.Run();
}

namespace {

// The fewest layers per pipeline rank under `*layers` (block recompute or offload) with which the
// plan fits: HBM use falls as layers are added, so bisect between none and `most`. `most` when even
// that does not fit. Host memory use grows with offloaded layers, so the fewest that fit in HBM
// are the plan's only chance to fit in host memory too (StepEstimate::fits_in_memory says).
Result<StepEstimate> FewestLayersThatFit(const TrainingJob& job, const Cluster& cluster, ParallelPlan plan,
                                         int ParallelPlan::*layers, int most) {
  plan.*layers = most;
  Result<StepEstimate> best = EstimateStep(job, cluster, plan);
  if (!best.ok() || !FitsInHbm(*best)) return best;
  int lo = 0, hi = most;  // hi fits
  while (hi - lo > 1) {
    plan.*layers = (lo + hi) / 2;
    Result<StepEstimate> e = EstimateStep(job, cluster, plan);
    if (!e.ok()) return e;
    if (FitsInHbm(*e)) {
      hi = plan.*layers;
      best = std::move(e);
    } else {
      lo = plan.*layers;
    }
  }
  return best;
}

}  // namespace

Result<StepEstimate> EstimateStepFewestRecomputeLayers(const TrainingJob& job, const Cluster& cluster,
                                                       ParallelPlan plan) {
  plan.recompute = Recompute::kFull;
  plan.offload_layers = 0;
  plan.ep_overlap = false;  // Megatron-Core does not overlap the EP all-to-all under full recompute
  Result<StepEstimate> e = FewestLayersThatFit(job, cluster, plan, &ParallelPlan::recompute_layers,
                                               (job.model.layers + plan.pp - 1) / plan.pp);
  if (e.ok() && e->recompute_layers * plan.pp >= job.model.layers) e->recompute_layers = 0;  // 0: every layer
  return e;
}

Result<StepEstimate> EstimateStepFewestOffloadLayers(const TrainingJob& job, const Cluster& cluster,
                                                     ParallelPlan plan) {
  plan.recompute = Recompute::kNone;
  plan.recompute_layers = 0;
  // Megatron-Core offloads fewer layers than the model has, on one pipeline stage (OffloadAllowed).
  return FewestLayersThatFit(job, cluster, plan, &ParallelPlan::offload_layers, std::max(1, job.model.layers - 1));
}

Result<StepEstimate> EstimateStepLeastRecomputeOrOffload(const TrainingJob& job, const Cluster& cluster,
                                                         const ParallelPlan& plan, bool allow_offload) {
  Result<StepEstimate> recompute = EstimateStepFewestRecomputeLayers(job, cluster, plan);
  if (!allow_offload || cluster.system.host_link_bandwidth.value() <= 0 || !recompute.ok() ||
      !OffloadAllowed(plan)) {
    return recompute;
  }
  Result<StepEstimate> offload = EstimateStepFewestOffloadLayers(job, cluster, plan);
  if (!offload.ok() || !offload->fits_in_memory) return recompute;
  if (!recompute->fits_in_memory || offload->step_time < recompute->step_time) return offload;
  return recompute;
}

Result<StepEstimate> EstimateStepLightestRecompute(const TrainingJob& job, const Cluster& cluster,
                                                   ParallelPlan plan) {
  plan.recompute_layers = 0;
  plan.offload_layers = 0;
  for (Recompute r : {Recompute::kNone, Recompute::kSelective}) {
    plan.recompute = r;
    Result<StepEstimate> e = EstimateStep(job, cluster, plan);
    if (!e.ok() || e->fits_in_memory) return e;
  }
  return EstimateStepLeastRecomputeOrOffload(job, cluster, plan);
}

std::string MemoryShortfall(const StepEstimate& e) {
  if (e.fits_in_memory) return "";
  if (FitsInHbm(e)) {
    return fmt::format("its offloaded activations ({:.1f} GB) do not fit in the GPU's {:.1f} GB of host memory",
                       e.host_memory_used.value() / 1e9, e.host_memory_capacity.value() / 1e9);
  }
  return "does not fit in memory";
}

bool MemoryWithinModelError(const StepEstimate& e) {
  return FitsInHbm(e) && e.memory_total.value() > (1 - kMemoryModelError) * e.memory_capacity.value();
}

std::string MemoryMarginNote(const StepEstimate& e) {
  if (!MemoryWithinModelError(e)) return "";
  return fmt::format("within the memory model's measured {:.0f}% error of the capacity: may not fit",
                     100 * kMemoryModelError);
}

std::string ExplainStep(const StepEstimate& e) {
  std::string out = fmt::format("step time {:.4f} s  ({:.0f} tokens/s/GPU, MFU {:.1f}%)\n",
                                e.step_time.value(), e.tokens_per_second_per_gpu, 100 * e.mfu);
  for (size_t i = 0; i < e.time.size(); ++i) {
    double s = e.time[i].value();
    if (s <= 0) continue;
    out += fmt::format("  {:<20} {:>10.4f} s  {:5.1f}%\n", TimeComponentName(static_cast<TimeComponent>(i)), s,
                       100 * s / e.step_time.value());
  }
  std::string reserve = e.memory_reserve.value() > 0
                            ? fmt::format(" ({:.1f} GB of HBM held in reserve)", e.memory_reserve.value() / 1e9)
                            : "";
  const std::string margin = MemoryMarginNote(e);
  std::string fit = !FitsInHbm(e) ? "  (DOES NOT FIT)" : margin.empty() ? "" : "  (" + margin + ")";
  out += fmt::format("memory per GPU {:.1f} GB of {:.1f} GB{}{}\n", e.memory_total.value() / 1e9,
                     e.memory_capacity.value() / 1e9, reserve, fit);
  for (size_t i = 0; i < e.memory.size(); ++i) {
    out += fmt::format("  {:<20} {:>10.2f} GB\n", MemoryComponentName(static_cast<MemoryComponent>(i)),
                       e.memory[i].value() / 1e9);
  }
  if (e.host_memory_used.value() > 0) {
    out += e.host_memory_capacity.value() > 0
               ? fmt::format("activations offloaded to host memory {:.1f} GB of the GPU's {:.1f} GB{}\n",
                             e.host_memory_used.value() / 1e9, e.host_memory_capacity.value() / 1e9,
                             FitsInHostMemory(e) ? "" : "  (DOES NOT FIT)")
               : fmt::format("activations offloaded to host memory {:.1f} GB (the system gives no host memory)\n",
                             e.host_memory_used.value() / 1e9);
  }
  return out;
}

}  // namespace aif::train
