// The time of one serving-engine iteration (continuous batching): every weight read once, the KV
// cache of every decoding sequence read once, the prefill chunks' GEMMs and attention, and the
// tensor-parallel all-reduces, each a roofline from perf's calibrated kernel costs. Also the
// memory plan of an instance: weights, KV-cache capacity in blocks, and the "does not fit" error.
// docs/serving.md derives the model term by term.
#pragma once

#include <string>
#include <vector>

#include "aifactory/catalog/hardware.h"
#include "aifactory/catalog/model.h"
#include "aifactory/core/status.h"
#include "aifactory/core/units.h"
#include "aifactory/perf/collective.h"
#include "aifactory/perf/device.h"

namespace aif::serve {

// How one model instance is laid out: tensor, pipeline and expert parallel degrees. The instance
// uses tp * pp GPUs (experts are spread over ep of those tp * pp GPUs).
struct InstancePlan {
  int tp = 1;
  int pp = 1;
  int ep = 1;
  int gpus() const { return tp * pp; }
  std::string ToString() const;
};

// The serving calibration: four global constants (not per accelerator, model, engine or row)
// fitted on the fit half of data/validation/serving.csv (the rows InFitSet selects, see
// serve/validation.h) by the disabled test ServeValidation.FitCalibration;
// docs/validation-serving.md gives the fit and the errors on the held-out half.
struct ServingCalibration {
  // Inference GEMMs (no backward pass, no optimizer, CUDA graphs) reach a larger fraction of the
  // peak than the training-fitted efficiencies of the catalog: their multiplier (capped at 0.9
  // of the peak).
  double gemm_scale = 1.0;
  // Host time per engine iteration: scheduling, sampling, detokenization, launch.
  Seconds iteration_overhead = Seconds(0);
  // Synchronization added to every tensor-parallel all-reduce beyond perf's alpha-beta time.
  Seconds all_reduce_overhead = Seconds(0);
  // GPU time of every kernel beyond its roofline: launch, ramp-up and tail (a kernel of a few
  // microseconds of work still occupies the GPU for its launch latency). Charged per kernel of a
  // layer (kDenseLayerKernels, plus kMoeExtraKernels on an MoE layer); matters only when the
  // kernels are short: small batches, decode steps and short prompts.
  Seconds kernel_overhead = Seconds(0);
};

// Kernels of one dense decoder layer in the serving engines: vLLM's LlamaDecoderLayer
// (vllm/model_executor/models/llama.py) runs input RMSNorm, the fused QKV GEMM, rotary embedding,
// attention (with the KV-cache write), the output GEMM, the fused residual-add RMSNorm, the fused
// gate-up GEMM, SiluAndMul and the down GEMM; TensorRT-LLM's Llama layer has the same GEMMs,
// norms and attention. Tensor-parallel all-reduces are charged separately.
inline constexpr int kDenseLayerKernels = 9;
// An MoE layer's MLP adds the router GEMM, top-k, token permutation and the combine (the expert
// GEMMs replace the dense ones): 4 more kernels.
inline constexpr int kMoeExtraKernels = 4;

// The fitted values (see ServingCalibration).
ServingCalibration DefaultServingCalibration();

// Engine settings, with the defaults of vLLM's and TensorRT-LLM's engine arguments.
struct EngineOptions {
  catalog::Precision weight_precision = catalog::Precision::kBf16;
  double kv_bytes_per_element = 2;  // bf16 KV cache; 1 for fp8
  int block_tokens = 16;            // vLLM --block-size default (16)
  double memory_fraction = 0.9;     // vLLM --gpu-memory-utilization default (0.9)
  int max_batch_sequences = 256;    // vLLM --max-num-seqs default (256)
  int max_batch_tokens = 8192;      // chunked-prefill token budget per iteration
  ServingCalibration calibration = DefaultServingCalibration();
  // Activation workspace reserved per GPU before the KV cache gets the rest.
  Bytes activation_reserve = Bytes(0);  // 0: derived from max_batch_tokens
};

// What one iteration computes, summed over the batch.
struct IterationShape {
  int decode_sequences = 0;      // sequences generating one token each
  double decode_context = 0;     // sum of their context lengths (tokens already in the cache)
  int prefill_tokens = 0;        // new prompt tokens in this iteration (all chunks)
  double prefill_attention = 0;  // sum over chunks of n * (c + n/2): n new tokens after c cached
  int logits = 0;                // sequences that sample a token (decodes + finished prompts)
};

struct IterationBreakdown {
  Seconds gemm, attention, kv_read, communication, overhead, total;
};

class EngineModel {
 public:
  // Fails with OutOfMemory (what does not fit and by how much) when the weights plus the
  // activation reserve leave no room for one sequence's KV cache, and with InvalidArgument for a
  // plan the model cannot be split by (heads, layers or experts not divisible).
  static Result<EngineModel> Make(const catalog::Model& model,
                                  const catalog::Accelerator& accelerator,
                                  const catalog::KernelEfficiency& efficiency,
                                  const InstancePlan& plan, const EngineOptions& options);

  // Wall time of one engine iteration of a pipeline stage group (all pp stages, in sequence).
  Seconds IterationTime(const IterationShape& shape) const;
  IterationBreakdown Breakdown(const IterationShape& shape) const;

  const InstancePlan& plan() const { return plan_; }
  const EngineOptions& options() const { return options_; }
  const catalog::Model& model() const { return *model_; }
  const catalog::Accelerator& accelerator() const { return *accelerator_; }
  // Weight bytes on the most loaded GPU.
  Bytes weight_bytes_per_gpu() const { return weights_per_gpu_; }
  // Total parameters of the model (from its shape).
  double parameters() const { return parameters_; }
  // KV-cache bytes of one token on one GPU and of the whole instance.
  Bytes kv_bytes_per_token_per_gpu() const { return kv_token_gpu_; }
  Bytes kv_bytes_per_token() const { return kv_token_total_; }
  // KV-cache blocks of the instance (each block holds block_tokens tokens of one sequence).
  long long kv_blocks() const { return kv_blocks_; }
  // Forward FLOPs of one token at zero context (2 x active parameters, attention excluded).
  double flops_per_token() const { return flops_per_token_; }

 private:
  double LayerGemmTime(int tokens) const;  // one layer's GEMMs on one GPU (cached by token count)
  double LayerAllReduceTime(int tokens) const;

  const catalog::Model* model_ = nullptr;
  const catalog::Accelerator* accelerator_ = nullptr;
  catalog::KernelEfficiency efficiency_;  // the catalog's, with the serving GEMM scale
  InstancePlan plan_;
  EngineOptions options_;
  perf::CommGroup tp_group_;
  int layers_per_stage_ = 0;
  double parameters_ = 0;
  double flops_per_token_ = 0;
  Bytes weights_per_gpu_;
  Bytes kv_token_gpu_, kv_token_total_;
  long long kv_blocks_ = 0;
  double overhead_s_ = 0;
  double kernel_s_per_layer_ = 0;  // kernel_overhead x kernels of an average layer of a stage
  double p2p_s_ = 0;               // pipeline stage-to-stage send per iteration (latency part)
  // Lookup tables by token count (0 .. max_batch_tokens + max_batch_sequences).
  std::vector<double> gemm_by_tokens_;
  std::vector<double> allreduce_by_tokens_;
  std::vector<double> head_by_logits_;
  double attention_rate_ = 0;                    // FLOP/s of fused attention on one GPU
  double kv_read_rate_ = 0;                      // bytes/s of HBM streaming
  double kv_bytes_per_context_token_layer_ = 0;  // per GPU, per layer
  double attention_flops_per_pair_layer_ = 0;    // per GPU, per layer, per (query, key) pair
};

}  // namespace aif::serve
