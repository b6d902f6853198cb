// Transformer architectures: dense, GQA, MoE (routed, shared and dense layers), MLA, sliding
// window attention. Shapes follow each model's public config.
#pragma once

#include <optional>
#include <string>

#include "aifactory/catalog/hardware.h"

namespace aif::catalog {

enum class MlpKind { kSwiGlu, kGelu, kRelu2 };
const char* MlpKindName(MlpKind kind);

struct MoeSpec {
  int experts = 0;                 // routed experts
  int top_k = 0;
  int expert_ffn_hidden = 0;
  int shared_experts = 0;
  int shared_expert_ffn_hidden = 0;  // size of each shared expert
  int dense_layers = 0;            // leading layers with the dense MLP
  int layer_freq = 1;              // every Nth layer (after the dense ones) is MoE
  // Group-limited routing (DeepSeek-V3's n_group / topk_group): the experts form `groups` equal
  // groups of consecutive experts, and a token's top_k experts come from `groups_per_token` of them.
  int groups = 1;
  int groups_per_token = 1;
};

struct MlaSpec {
  int q_lora_rank = 0;   // 0: queries projected directly
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
};

struct Model {
  std::string id;
  std::string name;
  int layers = 0;
  int hidden = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;  // 0 in input means hidden / heads
  int ffn_hidden = 0;
  int vocab = 0;
  MlpKind mlp = MlpKind::kSwiGlu;
  bool tied_embeddings = false;
  double params_b = 0;         // published total, billions (sanity check only)
  double active_params_b = 0;  // published active per token, billions (MoE)
  std::optional<MoeSpec> moe;
  std::optional<MlaSpec> mla;
  int sliding_window = 0;  // tokens; 0 = full attention everywhere
  int sliding_every = 0;   // every Nth layer uses the window
  int mtp_layers = 0;      // multi-token-prediction modules trained beside the main head
  Sources sources;

  bool is_moe() const { return moe.has_value() && moe->experts > 0; }
  // True when transformer layer `layer` (0-based) has a routed MoE MLP.
  bool IsMoeLayer(int layer) const;
  int MoeLayerCount() const;
  bool UsesSlidingWindow(int layer) const;
  // Query/key and value head dims (MLA differs from head_dim).
  int QkHeadDim() const;
  int VHeadDim() const;
  // Checks the shape is self-consistent; the message names the field.
  Status Validate() const;
};

}  // namespace aif::catalog
