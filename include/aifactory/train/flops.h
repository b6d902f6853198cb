// Parameter and FLOP counts of a transformer, and the FLOP formula published training
// throughputs use.
#pragma once

#include "aifactory/catalog/model.h"

namespace aif::train {

struct ParameterCount {
  double embedding = 0;        // input embedding (and the output layer when untied)
  double attention = 0;        // all layers
  double dense_mlp = 0;        // all dense MLP layers
  double routed_experts = 0;   // all routed experts of all MoE layers
  double shared_experts = 0;
  double router = 0;
  double norms = 0;
  double mtp = 0;              // multi-token-prediction modules, without their routed experts
  double mtp_routed_experts = 0;

  double total() const;
  // Parameters one token touches: routed experts count top_k of experts.
  double active(const catalog::Model& m) const;
};

ParameterCount CountParameters(const catalog::Model& model);

// Attention parameters of one layer; MLP parameters of one dense and one MoE layer.
double AttentionParamsPerLayer(const catalog::Model& model);
double DenseMlpParams(const catalog::Model& model, int ffn_hidden);

// FLOPs per step by the formula of Megatron-LM (megatron/training/training.py,
// num_floating_point_operations; Narayanan et al. SC'21 eq. 3): forward + backward of every
// matmul with full (not causal) attention scores, plus the logits. With `full_recompute` the
// transformer layers' forward is counted twice (the "hardware FLOPs" of SC'21 Table 1).
// Published TFLOP/s figures from Megatron and NeMo divide this by the step time.
double MegatronStepFlops(const catalog::Model& model, int seq_len, int global_batch, bool full_recompute);

// 6 * active parameters * tokens (Kaplan et al. 2020), the usual rule of thumb.
double SixNdFlops(const catalog::Model& model, double tokens);

}  // namespace aif::train
