#include "aifactory/catalog/model.h"

#include <fmt/format.h>

namespace aif::catalog {

const char* MlpKindName(MlpKind kind) {
  switch (kind) {
    case MlpKind::kSwiGlu: return "swiglu";
    case MlpKind::kGelu: return "gelu";
    case MlpKind::kRelu2: return "relu2";
  }
  return "?";
}

bool Model::IsMoeLayer(int layer) const {
  if (!is_moe() || layer < moe->dense_layers) return false;
  int freq = moe->layer_freq > 0 ? moe->layer_freq : 1;
  // Interleaved models place the MoE MLP on the last layer of every group of `freq`.
  return (layer - moe->dense_layers) % freq == freq - 1;
}

int Model::MoeLayerCount() const {
  int n = 0;
  for (int l = 0; l < layers; ++l) n += IsMoeLayer(l) ? 1 : 0;
  return n;
}

bool Model::UsesSlidingWindow(int layer) const {
  if (sliding_window <= 0 || sliding_every <= 0) return false;
  return layer % sliding_every == 0;
}

int Model::QkHeadDim() const {
  if (mla) return mla->qk_nope_head_dim + mla->qk_rope_head_dim;
  return head_dim;
}

int Model::VHeadDim() const { return mla ? mla->v_head_dim : head_dim; }

Status Model::Validate() const {
  auto positive = [&](const char* field, long long v) -> Status {
    if (v <= 0) return InvalidArgument(fmt::format("model '{}': {} must be positive, got {}", id, field, v));
    return Status::Ok();
  };
  AIF_RETURN_IF_ERROR(positive("layers", layers));
  AIF_RETURN_IF_ERROR(positive("hidden", hidden));
  AIF_RETURN_IF_ERROR(positive("heads", heads));
  AIF_RETURN_IF_ERROR(positive("kv_heads", kv_heads));
  AIF_RETURN_IF_ERROR(positive("head_dim", head_dim));
  AIF_RETURN_IF_ERROR(positive("vocab", vocab));
  if (heads % kv_heads != 0) {
    return InvalidArgument(fmt::format("model '{}': heads ({}) must be a multiple of kv_heads ({})",
                                       id, heads, kv_heads));
  }
  if (!is_moe() || MoeLayerCount() < layers) AIF_RETURN_IF_ERROR(positive("ffn_hidden", ffn_hidden));
  if (moe) {
    AIF_RETURN_IF_ERROR(positive("moe.experts", moe->experts));
    AIF_RETURN_IF_ERROR(positive("moe.top_k", moe->top_k));
    AIF_RETURN_IF_ERROR(positive("moe.expert_ffn_hidden", moe->expert_ffn_hidden));
    if (moe->top_k > moe->experts) {
      return InvalidArgument(fmt::format("model '{}': moe.top_k ({}) exceeds moe.experts ({})", id,
                                         moe->top_k, moe->experts));
    }
    if (moe->groups < 1 || moe->experts % moe->groups != 0) {
      return InvalidArgument(fmt::format("model '{}': moe.groups ({}) must divide moe.experts ({})", id, moe->groups,
                                         moe->experts));
    }
    if (moe->groups_per_token < 1 || moe->groups_per_token > moe->groups) {
      return InvalidArgument(fmt::format("model '{}': moe.groups_per_token ({}) must be in [1, moe.groups = {}]", id,
                                         moe->groups_per_token, moe->groups));
    }
    if (moe->top_k > moe->groups_per_token * (moe->experts / moe->groups)) {
      return InvalidArgument(fmt::format("model '{}': moe.top_k ({}) exceeds the experts of moe.groups_per_token ({}) groups",
                                         id, moe->top_k, moe->groups_per_token));
    }
    if (moe->dense_layers < 0 || moe->dense_layers > layers) {
      return InvalidArgument(fmt::format("model '{}': moe.dense_layers must be in [0, layers]", id));
    }
  }
  if (mla) {
    AIF_RETURN_IF_ERROR(positive("mla.kv_lora_rank", mla->kv_lora_rank));
    AIF_RETURN_IF_ERROR(positive("mla.v_head_dim", mla->v_head_dim));
    AIF_RETURN_IF_ERROR(positive("mla.qk_nope_head_dim", mla->qk_nope_head_dim));
  }
  return Status::Ok();
}

}  // namespace aif::catalog
