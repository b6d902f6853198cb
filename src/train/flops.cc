#include "aifactory/train/flops.h"

namespace aif::train {
namespace {
double MlpMultiplier(const catalog::Model& m) { return m.mlp == catalog::MlpKind::kSwiGlu ? 3.0 : 2.0; }
}  // namespace

double AttentionParamsPerLayer(const catalog::Model& m) {
  double h = m.hidden;
  if (m.mla) {
    const auto& a = *m.mla;
    double q = a.q_lora_rank > 0
                   ? h * a.q_lora_rank + 1.0 * a.q_lora_rank * m.heads * (a.qk_nope_head_dim + a.qk_rope_head_dim)
                   : h * m.heads * (a.qk_nope_head_dim + a.qk_rope_head_dim);
    double kv = h * (a.kv_lora_rank + a.qk_rope_head_dim) +
                1.0 * a.kv_lora_rank * m.heads * (a.qk_nope_head_dim + a.v_head_dim);
    return q + kv + 1.0 * m.heads * a.v_head_dim * h;
  }
  double d = m.head_dim;
  return h * (m.heads + 2.0 * m.kv_heads) * d + m.heads * d * h;
}

double DenseMlpParams(const catalog::Model& m, int ffn_hidden) {
  return MlpMultiplier(m) * m.hidden * ffn_hidden;
}

double ParameterCount::total() const {
  return embedding + attention + dense_mlp + routed_experts + shared_experts + router + norms + mtp +
         mtp_routed_experts;
}

double ParameterCount::active(const catalog::Model& m) const {
  double share = m.is_moe() ? 1.0 * m.moe->top_k / m.moe->experts : 0;
  return embedding + attention + dense_mlp + (routed_experts + mtp_routed_experts) * share + shared_experts +
         router + norms + mtp;
}

ParameterCount CountParameters(const catalog::Model& m) {
  ParameterCount c;
  double h = m.hidden;
  c.embedding = (m.tied_embeddings ? 1.0 : 2.0) * m.vocab * h;
  for (int l = 0; l < m.layers; ++l) {
    c.attention += AttentionParamsPerLayer(m);
    c.norms += 2 * h;
    if (m.IsMoeLayer(l)) {
      const auto& e = *m.moe;
      c.routed_experts += 1.0 * e.experts * DenseMlpParams(m, e.expert_ffn_hidden);
      c.shared_experts += 1.0 * e.shared_experts * DenseMlpParams(m, e.shared_expert_ffn_hidden);
      c.router += h * e.experts;
    } else {
      c.dense_mlp += DenseMlpParams(m, m.ffn_hidden);
    }
  }
  if (m.mtp_layers > 0) {
    // Each MTP module: a projection of 2h -> h and one transformer layer (DeepSeek-V3 sec. 2.2).
    double layer = AttentionParamsPerLayer(m) + 2 * h;
    if (m.is_moe()) {
      layer += 1.0 * m.moe->shared_experts * DenseMlpParams(m, m.moe->shared_expert_ffn_hidden);
      c.mtp_routed_experts = m.mtp_layers * 1.0 * m.moe->experts * DenseMlpParams(m, m.moe->expert_ffn_hidden);
    } else {
      layer += DenseMlpParams(m, m.ffn_hidden);
    }
    c.mtp = m.mtp_layers * (2 * h * h + layer);
  }
  return c;
}

double MegatronStepFlops(const catalog::Model& m, int seq_len, int global_batch, bool full_recompute) {
  const double b = global_batch, s = seq_len, h = m.hidden;
  // Per token and layer, forward: 2 * (attention params + MLP params touched) + attention scores
  // 2 * 2 * s * (heads * head_dim) (QK^T and AV, full square).
  double layer_fwd = 0;
  double q_width = 1.0 * m.heads * m.QkHeadDim();
  double v_width = 1.0 * m.heads * m.VHeadDim();
  for (int l = 0; l < m.layers; ++l) {
    double mlp = m.IsMoeLayer(l)
                     ? m.moe->top_k * DenseMlpParams(m, m.moe->expert_ffn_hidden) +
                           m.moe->shared_experts * DenseMlpParams(m, m.moe->shared_expert_ffn_hidden)
                     : DenseMlpParams(m, m.ffn_hidden);
    layer_fwd += 2 * (AttentionParamsPerLayer(m) + mlp) + 2 * s * (q_width + v_width);
  }
  double logits_fwd = 2 * h * m.vocab;
  double layer_passes = full_recompute ? 4 : 3;  // forward, backward (2x), recomputed forward
  return b * s * (layer_passes * layer_fwd + 3 * logits_fwd);
}

double SixNdFlops(const catalog::Model& m, double tokens) {
  return 6 * CountParameters(m).active(m) * tokens;
}

}  // namespace aif::train
