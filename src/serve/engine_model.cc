#include "aifactory/serve/engine_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace aif::serve {
namespace {

constexpr double kActivationBytes = 2;  // bf16 activations between kernels

// GEMM shapes of one layer on one GPU, per token: (n, k) pairs of the projections.
struct LayerShape {
  double qkv_n = 0, qkv_k = 0, o_n = 0, o_k = 0;
  double mlp_up_n = 0, mlp_down_k = 0;  // dense MLP (0 for an MoE layer)
  double expert_up_n = 0, expert_down_k = 0;
  int local_experts = 0;
  double shared_up_n = 0, shared_down_k = 0;
};

double MlpUpFactor(catalog::MlpKind kind) { return kind == catalog::MlpKind::kSwiGlu ? 2.0 : 1.0; }

}  // namespace

ServingCalibration DefaultServingCalibration() {
  // Fitted on the fit half of data/validation/serving.csv only (serve::InFitSet; coordinate grid
  // search on the median errors, ServeValidation.DISABLED_FitCalibration); the other half is held
  // out and docs/validation-serving.md reports its errors as the estimate for unseen measurements.
  ServingCalibration c;
  c.gemm_scale = 1.4;
  c.iteration_overhead = Seconds(1.5e-3);
  c.all_reduce_overhead = Seconds(50e-6);
  c.kernel_overhead = Seconds(2e-6);
  return c;
}

std::string InstancePlan::ToString() const {
  if (ep > 1) return fmt::format("TP{} PP{} EP{}", tp, pp, ep);
  return fmt::format("TP{} PP{}", tp, pp);
}

Result<EngineModel> EngineModel::Make(const catalog::Model& model,
                                      const catalog::Accelerator& accelerator,
                                      const catalog::KernelEfficiency& efficiency,
                                      const InstancePlan& plan, const EngineOptions& options) {
  if (plan.tp < 1 || plan.pp < 1 || plan.ep < 1) {
    return InvalidArgument(fmt::format("plan {}: degrees must be at least 1", plan.ToString()));
  }
  if (model.heads % plan.tp != 0) {
    return InvalidArgument(fmt::format("plan {}: {} has {} attention heads, not divisible by TP {}",
                                       plan.ToString(), model.id, model.heads, plan.tp));
  }
  if (plan.pp > model.layers) {
    return InvalidArgument(fmt::format("plan {}: {} has only {} layers for PP {}", plan.ToString(),
                                       model.id, model.layers, plan.pp));
  }
  if (plan.ep > 1 &&
      (!model.is_moe() || model.moe->experts % plan.ep != 0 || plan.ep > plan.gpus())) {
    return InvalidArgument(
        fmt::format("plan {}: EP {} needs an MoE model whose experts divide by it "
                    "and at most TP x PP GPUs",
                    plan.ToString(), plan.ep));
  }
  if (options.max_batch_tokens < 1 || options.max_batch_sequences < 1 || options.block_tokens < 1) {
    return InvalidArgument(
        "engine: max_batch_tokens, max_batch_sequences and block_tokens must be >= 1");
  }
  EngineModel e;
  e.model_ = &model;
  e.accelerator_ = &accelerator;
  e.efficiency_ = efficiency;
  const double g = options.calibration.gemm_scale;
  e.efficiency_.gemm_16bit = std::min(0.9, efficiency.gemm_16bit * g);
  e.efficiency_.gemm_8bit = std::min(0.9, efficiency.gemm_8bit * g);
  e.efficiency_.gemm_4bit = std::min(0.9, efficiency.gemm_4bit * g);
  const perf::Device device{&accelerator, &e.efficiency_};  // e.efficiency_ lives until return
  e.plan_ = plan;
  e.options_ = options;
  e.layers_per_stage_ = (model.layers + plan.pp - 1) / plan.pp;

  // Tensor-parallel group: inside one NVLink domain (an instance never spans domains here).
  perf::LinkTier nvlink{accelerator.scale_up_bandwidth * efficiency.scale_up,
                        efficiency.scale_up_latency};
  e.tp_group_.size = plan.tp;
  e.tp_group_.ranks_per_domain = plan.tp;
  e.tp_group_.scale_up = nvlink;
  e.tp_group_.scale_out = nvlink;
  e.p2p_s_ = efficiency.scale_up_latency.value();

  // Parameters from the shape.
  const double h = model.hidden;
  const double hd = model.QkHeadDim();
  const double vd = model.VHeadDim();
  const double q = model.heads * hd;
  const double kv = model.kv_heads * hd + model.kv_heads * vd;
  const double attn_params = h * (q + kv) + model.heads * vd * h;
  const double up = MlpUpFactor(model.mlp);
  const double dense_mlp = (up + 1) * h * model.ffn_hidden;
  double expert_params = 0, shared_params = 0, active_moe = 0;
  if (model.is_moe()) {
    expert_params = (up + 1) * h * model.moe->expert_ffn_hidden;
    shared_params = model.moe->shared_experts * (up + 1) * h * model.moe->shared_expert_ffn_hidden;
    active_moe = model.moe->top_k * expert_params + shared_params + h * model.moe->experts;
  }
  const int moe_layers = model.is_moe() ? model.MoeLayerCount() : 0;
  const int dense_layers = model.layers - moe_layers;
  const double embed = model.vocab * h * (model.tied_embeddings ? 1 : 2);
  double moe_total =
      model.is_moe() ? model.moe->experts * expert_params + shared_params + h * model.moe->experts
                     : 0;
  e.parameters_ =
      model.layers * attn_params + dense_layers * dense_mlp + moe_layers * moe_total + embed;
  e.flops_per_token_ = 2.0 * (model.layers * attn_params + dense_layers * dense_mlp +
                              moe_layers * active_moe + model.vocab * h);

  // Weights on one GPU: attention and dense MLP split by TP, layers by PP, experts by EP (and by
  // TP inside each expert when EP does not use all the GPUs), embeddings by TP on the end stages.
  const double bytes = catalog::OperandBytes(options.weight_precision);
  const double stage_layers = e.layers_per_stage_;
  const double stage_moe = std::ceil(static_cast<double>(moe_layers) / plan.pp);
  const double stage_dense = std::max(0.0, stage_layers - stage_moe);
  const double expert_split =
      plan.ep > 1 ? plan.ep * std::max(1.0, static_cast<double>(plan.gpus()) / plan.ep / plan.pp)
                  : plan.tp;
  const double per_gpu_params =
      stage_layers * attn_params / plan.tp + stage_dense * dense_mlp / plan.tp +
      stage_moe * (model.is_moe() ? (model.moe->experts * expert_params) / expert_split +
                                        shared_params / plan.tp
                                  : 0) +
      (plan.pp == 1 ? embed : model.vocab * h) / plan.tp;
  e.weights_per_gpu_ = Bytes(per_gpu_params * bytes);

  // KV cache: K and V of every KV head (replicated when TP exceeds the KV heads), per layer.
  const double kv_heads_gpu = std::max(1.0, static_cast<double>(model.kv_heads) / plan.tp);
  double kv_elems_layer_gpu = kv_heads_gpu * (hd + vd);
  double kv_elems_layer_total = model.kv_heads * (hd + vd);
  if (model.mla) {  // MLA caches the compressed latent and the rope key, not replicated heads
    kv_elems_layer_gpu = model.mla->kv_lora_rank + model.mla->qk_rope_head_dim;
    kv_elems_layer_total = kv_elems_layer_gpu;
  }
  e.kv_bytes_per_context_token_layer_ = kv_elems_layer_gpu * options.kv_bytes_per_element;
  e.kv_token_gpu_ = Bytes(e.kv_bytes_per_context_token_layer_ * stage_layers);
  e.kv_token_total_ = Bytes(kv_elems_layer_total * options.kv_bytes_per_element * model.layers);

  const double usable = accelerator.hbm_capacity.value() * options.memory_fraction;
  double reserve = options.activation_reserve.value();
  if (reserve <= 0) {
    // Peak activations of one iteration: the widest intermediate (MLP up projection or logits)
    // for max_batch_tokens tokens, in bf16, plus the residual stream.
    const double widest =
        std::max(up * model.ffn_hidden / plan.tp, static_cast<double>(model.vocab) / plan.tp);
    reserve = options.max_batch_tokens * (widest + 4 * h) * kActivationBytes;
  }
  const double free_bytes = usable - e.weights_per_gpu_.value() - reserve;
  const double block_bytes = e.kv_token_gpu_.value() * options.block_tokens;
  if (free_bytes < block_bytes) {
    return OutOfMemory(fmt::format(
        "{} with plan {} does not fit {} ({}): weights {:.1f} GB + activations {:.1f} GB per GPU "
        "against {:.1f} GB usable ({:.0f}% of {:.0f} GB); use more GPUs (TP or PP) or a smaller "
        "precision",
        model.id, plan.ToString(), accelerator.id, catalog::PrecisionName(options.weight_precision),
        e.weights_per_gpu_.value() / 1e9, reserve / 1e9, usable / 1e9,
        options.memory_fraction * 100, accelerator.hbm_capacity.value() / 1e9));
  }
  // Every stage holds the KV of its own layers for the same tokens: the instance has as many
  // blocks as one GPU holds.
  e.kv_blocks_ = static_cast<long long>(std::floor(free_bytes / block_bytes));

  // Attention: QK^T and AV, 2 FLOPs per multiply-add, over the GPU's heads.
  e.attention_flops_per_pair_layer_ = 2.0 * model.heads / plan.tp * (hd + vd);
  auto peak16 = accelerator.peak_bf16.value();
  e.attention_rate_ = peak16 * efficiency.attention;
  e.kv_read_rate_ = accelerator.hbm_bandwidth.value() * efficiency.memory;

  e.overhead_s_ = options.calibration.iteration_overhead.value();
  const double moe_share = stage_layers > 0 ? stage_moe / stage_layers : 0;
  e.kernel_s_per_layer_ = options.calibration.kernel_overhead.value() *
                          (kDenseLayerKernels + moe_share * kMoeExtraKernels);

  // Lookup tables by token count.
  LayerShape s;
  s.qkv_n = (q + kv) / plan.tp;
  s.qkv_k = h;
  s.o_n = h;
  s.o_k = model.heads * vd / plan.tp;
  s.mlp_up_n = up * model.ffn_hidden / plan.tp;
  s.mlp_down_k = static_cast<double>(model.ffn_hidden) / plan.tp;
  const int max_tokens = options.max_batch_tokens + options.max_batch_sequences;
  e.gemm_by_tokens_.assign(max_tokens + 1, 0.0);
  e.allreduce_by_tokens_.assign(max_tokens + 1, 0.0);
  e.head_by_logits_.assign(max_tokens + 1, 0.0);
  const catalog::Precision p = options.weight_precision;
  for (int t = 1; t <= max_tokens; ++t) {
    double attn_gemm = perf::GemmTime(device, t, s.qkv_n, s.qkv_k, p).value() +
                       perf::GemmTime(device, t, s.o_n, s.o_k, p).value();
    double dense = perf::GemmTime(device, t, s.mlp_up_n, h, p).value() +
                   perf::GemmTime(device, t, h, s.mlp_down_k, p).value();
    double moe = 0;
    if (model.is_moe()) {
      const auto& m = *model.moe;
      // Experts this GPU holds and how many of them the batch reaches.
      const double local = static_cast<double>(m.experts) / std::max(1, plan.ep);
      const double split = plan.ep > 1 ? 1.0 : plan.tp;
      const double routed = static_cast<double>(t) * m.top_k / std::max(1, plan.ep);
      const double touched = std::min(local, std::max(1.0, routed));
      const double rows = routed / touched;
      moe =
          perf::GroupedGemmTime(device, rows, up * m.expert_ffn_hidden / split, h, p, touched)
              .value() +
          perf::GroupedGemmTime(device, rows, h, m.expert_ffn_hidden / split, p, touched).value() +
          perf::GemmTime(device, t, m.experts, h, catalog::Precision::kBf16).value();
      if (m.shared_experts > 0) {
        const double sh =
            static_cast<double>(m.shared_experts) * m.shared_expert_ffn_hidden / plan.tp;
        moe += perf::GemmTime(device, t, up * sh, h, p).value() +
               perf::GemmTime(device, t, h, sh, p).value();
      }
      if (plan.ep >
          1) {  // dispatch and combine: each token's hidden state to top_k experts and back
        perf::CommGroup ep_group = e.tp_group_;
        ep_group.size = plan.ep;
        ep_group.ranks_per_domain = plan.ep;
        moe += 2 *
               perf::MoeDispatchTime(ep_group, t, m.experts, m.top_k, h * kActivationBytes).value();
      }
    }
    // Norms, rotary, activation and residual adds: a few passes over the token's hidden state.
    double elementwise = perf::MemoryTime(device, Bytes(t * h * kActivationBytes * 8)).value();
    e.gemm_by_tokens_[t] = attn_gemm + (1 - moe_share) * dense + moe_share * moe + elementwise;
    e.allreduce_by_tokens_[t] =
        plan.tp > 1
            ? 2 * (perf::AllReduceTime(e.tp_group_, Bytes(t * h * kActivationBytes)).value() +
                   options.calibration.all_reduce_overhead.value())
            : 0.0;
    e.head_by_logits_[t] =
        perf::GemmTime(device, t, static_cast<double>(model.vocab) / plan.tp, h, p).value();
  }
  return e;
}

IterationBreakdown EngineModel::Breakdown(const IterationShape& shape) const {
  IterationBreakdown b;
  const int tokens = shape.decode_sequences + shape.prefill_tokens;
  if (tokens <= 0) return b;
  const int last = static_cast<int>(gemm_by_tokens_.size()) - 1;
  const int t = std::min(tokens, last);
  const double scale = tokens > last ? static_cast<double>(tokens) / last : 1.0;
  const double layers = layers_per_stage_ * plan_.pp;
  b.gemm = Seconds(layers * gemm_by_tokens_[t] * scale +
                   head_by_logits_[std::clamp(shape.logits, 0, last)]);
  b.attention =
      Seconds(layers * shape.prefill_attention * attention_flops_per_pair_layer_ / attention_rate_);
  b.kv_read =
      Seconds(layers * shape.decode_context * kv_bytes_per_context_token_layer_ / kv_read_rate_);
  b.communication = Seconds(layers * allreduce_by_tokens_[t] * scale + (plan_.pp - 1) * p2p_s_);
  b.overhead = Seconds(overhead_s_ + layers * kernel_s_per_layer_);
  b.total = b.gemm + b.attention + b.kv_read + b.communication + b.overhead;
  return b;
}

Seconds EngineModel::IterationTime(const IterationShape& shape) const {
  return Breakdown(shape).total;
}

}  // namespace aif::serve
