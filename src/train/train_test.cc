#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <string>
#include <vector>

#include "aifactory/catalog/model.h"
#include "aifactory/train/flops.h"
#include "aifactory/train/job.h"
#include "aifactory/train/plan_search.h"
#include "aifactory/train/step_model.h"
#include "aifactory_test/text.h"
#include "aifactory_test/train_fixtures.h"

namespace aif::train {
namespace {

using ::aif::testing::H100Cluster;
using ::aif::testing::HasText;
using ::aif::testing::Llama3_8B;

using catalog::MlpKind;
using catalog::Model;
using catalog::MoeSpec;

#define EXPECT_REL_NEAR(actual, expected, rel) \
  EXPECT_NEAR((actual), (expected), (rel)*std::fabs(expected))

// ---------------------------------------------------------------- shapes (public configs)

// GPT-3 175B (Brown et al. 2020 Table 2.1): 96 layers, d_model 12288, 96 heads, 4h GELU MLP,
// tied input and output embeddings.
Model Gpt3(int vocab) {
  Model m;
  m.id = "gpt3-175b";
  m.layers = 96;
  m.hidden = 12288;
  m.heads = 96;
  m.kv_heads = 96;
  m.head_dim = 128;
  m.ffn_hidden = 4 * 12288;
  m.vocab = vocab;
  m.mlp = MlpKind::kGelu;
  m.tied_embeddings = true;
  return m;
}

// Llama 3.1 405B (meta-llama/llama-models sku_list.py); Llama 3 8B is in train_fixtures.h.
Model Llama3_405B() {
  Model m;
  m.id = "llama3.1-405b";
  m.layers = 126;
  m.hidden = 16384;
  m.heads = 128;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.ffn_hidden = 53248;
  m.vocab = 128256;
  return m;
}

// A small Mixtral-like MoE: 8 experts, 2 per token.
Model SmallMoe() {
  Model m;
  m.id = "small-moe";
  m.layers = 8;
  m.hidden = 1024;
  m.heads = 16;
  m.kv_heads = 4;
  m.head_dim = 64;
  m.ffn_hidden = 3584;
  m.vocab = 32000;
  MoeSpec e;
  e.experts = 8;
  e.top_k = 2;
  e.expert_ffn_hidden = 3584;
  m.moe = e;
  return m;
}

// A GPT layer stack of `layers` layers (multi-head attention, 4h GELU MLP).
Model GptLayers(int layers) {
  Model m;
  m.id = "gpt-layers";
  m.layers = layers;
  m.hidden = 4096;
  m.heads = 32;
  m.kv_heads = 32;
  m.head_dim = 128;
  m.ffn_hidden = 4 * 4096;
  m.vocab = 32000;
  m.mlp = MlpKind::kGelu;
  return m;
}


TrainingJob Job(Model m, int seq_len, int global_batch) {
  TrainingJob j;
  j.model = std::move(m);
  j.seq_len = seq_len;
  j.global_batch = global_batch;
  return j;
}

ParallelPlan Plan(int tp, int pp, int dp, int micro_batch = 1) {
  ParallelPlan p;
  p.tp = tp;
  p.pp = pp;
  p.dp = dp;
  p.micro_batch = micro_batch;
  return p;
}

StepEstimate Estimate(const TrainingJob& job, const Cluster& cluster, const ParallelPlan& plan) {
  Result<StepEstimate> e = EstimateStep(job, cluster, plan);
  EXPECT_TRUE(e.ok()) << plan.ToString() << ": " << e.status().ToString();
  return e.ok() ? *e : StepEstimate{};
}

double Activations(const StepEstimate& e) { return e.at(MemoryComponent::kActivations).value(); }

// ---------------------------------------------------------------- FLOP and parameter counts

TEST(Flops, MegatronFormulaMatchesNarayananEq3) {
  const Model m = Gpt3(51200);
  const double b = 1536, s = 2048, l = 96, h = 12288, v = 51200;
  const double expected = 72 * b * s * l * h * h * (1 + s / (6 * h) + v / (12 * l * h));
  EXPECT_REL_NEAR(MegatronStepFlops(m, 2048, 1536, false), expected, 1e-9);
}

TEST(Flops, FullRecomputeCountsTheForwardTwice) {
  const Model m = Gpt3(51200);
  const double b = 1536, s = 2048, l = 96, h = 12288, v = 51200;
  const double expected = 96 * b * s * l * h * h * (1 + s / (6 * h) + v / (16 * l * h));
  EXPECT_REL_NEAR(MegatronStepFlops(m, 2048, 1536, true), expected, 1e-9);
}

TEST(Flops, LinearInGlobalBatch) {
  const Model m = Llama3_8B();
  EXPECT_REL_NEAR(MegatronStepFlops(m, 8192, 64, false), 4 * MegatronStepFlops(m, 8192, 16, false),
                  1e-12);
}

TEST(Flops, SixNdIsCloseToMegatronForGpt3) {
  const Model m = Gpt3(51200);
  const double tokens = 1536.0 * 2048;
  const double megatron = MegatronStepFlops(m, 2048, 1536, false);
  const double six_nd = SixNdFlops(m, tokens);
  EXPECT_LT(std::fabs(six_nd / megatron - 1), 0.03) << six_nd << " vs " << megatron;
  // 6ND leaves out attention scores, so it is the smaller of the two.
  EXPECT_LT(six_nd, megatron);
}

TEST(Parameters, Gpt3Is175B) {
  const ParameterCount c = CountParameters(Gpt3(50257));
  EXPECT_LT(std::fabs(c.total() / 175e9 - 1), 0.01) << c.total();
  EXPECT_DOUBLE_EQ(c.active(Gpt3(50257)), c.total());  // dense: every parameter is active
  EXPECT_EQ(c.routed_experts, 0);
  // Tied embeddings count once.
  EXPECT_DOUBLE_EQ(c.embedding, 50257.0 * 12288);
}

TEST(Parameters, Llama3_8BIs8B) {
  const ParameterCount c = CountParameters(Llama3_8B());
  EXPECT_LT(std::fabs(c.total() / 8.03e9 - 1), 0.01) << c.total();
  EXPECT_DOUBLE_EQ(c.embedding, 2.0 * 128256 * 4096);  // untied
}

TEST(Parameters, MoeActiveCountsTopKOfRoutedExperts) {
  const Model m = SmallMoe();
  const ParameterCount c = CountParameters(m);
  ASSERT_GT(c.routed_experts, 0);
  EXPECT_REL_NEAR(c.active(m), c.total() - c.routed_experts * (1 - 2.0 / 8), 1e-12);
  // Each routed expert is a SwiGLU MLP: 3 * h * ffn, 8 of them in each of 8 layers.
  EXPECT_DOUBLE_EQ(c.routed_experts, 8.0 * 8 * 3 * 1024 * 3584);
  EXPECT_DOUBLE_EQ(c.router, 8.0 * 1024 * 8);
}

// ---------------------------------------------------------------- plan validation

TEST(ValidatePlan, AcceptsAConsistentPlan) {
  Status s = ValidatePlan(Job(Llama3_8B(), 8192, 64), H100Cluster(16), Plan(2, 2, 4, 2));
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(ValidatePlan, DegreesMustMultiplyToGpus) {
  Status s = ValidatePlan(Job(Llama3_8B(), 8192, 64), H100Cluster(8), Plan(2, 2, 3));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(s.message(), "tp*pp*cp*dp = 2*2*1*3 = 12"));
  EXPECT_TRUE(HasText(s.message(), "gpus = 8"));
}

TEST(ValidatePlan, HeadsMustDivideByTp) {
  Status s = ValidatePlan(Job(Llama3_8B(), 8192, 64), H100Cluster(3), Plan(3, 1, 1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(s.message(), "heads (32)"));
  EXPECT_TRUE(HasText(s.message(), "tp (3)"));
}

TEST(ValidatePlan, GlobalBatchMustDivideByMicroBatchTimesDp) {
  Status s = ValidatePlan(Job(Llama3_8B(), 8192, 10), H100Cluster(4), Plan(1, 1, 4, 2));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(s.message(), "global batch (10)"));
  EXPECT_TRUE(HasText(s.message(), "micro_batch*dp = 2*4"));
}

TEST(ValidatePlan, ExpertsMustDivideByEp) {
  ParallelPlan p = Plan(1, 1, 6);
  p.ep = 3;
  Status s = ValidatePlan(Job(SmallMoe(), 4096, 12), H100Cluster(6), p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(s.message(), "experts (8)"));
  EXPECT_TRUE(HasText(s.message(), "ep (3)"));
}

TEST(ValidatePlan, OtherChecksNameTheQuantity) {
  struct Case {
    std::string what;
    TrainingJob job;
    int gpus;
    ParallelPlan plan;
    std::string expected;
  };
  std::vector<Case> cases;
  auto add = [&](std::string what, TrainingJob job, int gpus, ParallelPlan plan, std::string text) {
    cases.push_back({std::move(what), std::move(job), gpus, plan, std::move(text)});
  };
  ParallelPlan p = Plan(0, 1, 8);
  add("tp zero", Job(Llama3_8B(), 4096, 8), 8, p, "tp must be positive, got 0");
  p = Plan(1, 1, 8, 0);
  add("micro batch zero", Job(Llama3_8B(), 4096, 8), 8, p, "micro_batch must be positive");
  p = Plan(1, 1, -8);
  add("dp negative", Job(Llama3_8B(), 4096, 8), -8, p, "dp must be positive, got -8");
  // tp a multiple of the KV heads (8 of them, tp 16) is fine: each KV head is replicated.
  add("kv heads replicated", Job(Llama3_8B(), 4096, 8), 16, Plan(16, 1, 1), "");
  Model few_kv = Llama3_8B();
  few_kv.heads = 24;
  add("kv vs tp", Job(few_kv, 4096, 8), 12, Plan(12, 1, 1), "kv heads (8) and tp (12)");
  p = Plan(1, 8, 1);
  p.vp = 5;
  add("pipeline chunks", Job(Llama3_8B(), 4096, 8), 8, p, "pipeline chunks pp*vp = 40");
  p = Plan(1, 1, 8);
  p.vp = 2;
  add("vp without pp", Job(Llama3_8B(), 4096, 8), 8, p, "vp > 1 needs pp > 1");
  p = Plan(1, 1, 8);
  p.ep = 2;
  add("ep on dense", Job(Llama3_8B(), 4096, 8), 8, p, "ep = 2 on a dense model");
  p = Plan(1, 1, 2);
  p.cp = 4;
  add("cp", Job(Llama3_8B(), 4100, 8), 8, p, "sequence length (4100) not divisible by 2*cp = 8");
  p = Plan(1, 1, 8);
  p.zero_stage = 4;
  add("zero stage", Job(Llama3_8B(), 4096, 8), 8, p, "zero_stage must be 0..3, got 4");
  p = Plan(1, 1, 4);
  p.ep = 8;
  add("ep vs group", Job(SmallMoe(), 4096, 8), 4, p, "ep (8) must divide tp*cp*dp = 4");

  for (const Case& c : cases) {
    Status s = ValidatePlan(c.job, H100Cluster(c.gpus), c.plan);
    if (c.expected.empty()) {  // a valid plan among the invalid ones
      EXPECT_TRUE(s.ok()) << c.what << ": " << s.ToString();
      continue;
    }
    ASSERT_FALSE(s.ok()) << c.what;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_TRUE(HasText(s.message(), c.expected)) << c.what;
  }
}

// Regression: `p.pp * p.vp` and `p.micro_batch * p.dp` are int
// products of unchecked inputs; huge degrees (reachable from a CSV row or a scenario) overflow,
// which is undefined behaviour (UBSan aborts the dev build). They should be compared in 64-bit.
//
TEST(ValidatePlan, HugeDegreesAreRejectedWithoutOverflow) {
  ParallelPlan p = Plan(1, 1, 1 << 20, 1 << 12);  // micro_batch * dp = 2^32
  Status s = ValidatePlan(Job(Llama3_8B(), 4096, 1 << 30), H100Cluster(1 << 20), p);
  EXPECT_FALSE(s.ok());
  p = Plan(1, 1 << 16, 1);
  p.vp = 1 << 16;  // pp * vp = 2^32
  s = ValidatePlan(Job(Llama3_8B(), 4096, 8), H100Cluster(1 << 16), p);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasText(s.message(), "pipeline chunks"));
}

// ---------------------------------------------------------------- step model invariants

// A plan that fits with less headroom than the memory model's measured error is flagged; one with
// more, or one that does not fit at all, is not (the latter is reported as not fitting).
TEST(StepModel, MemoryWithinModelErrorFlagsPlansThatFitWithTooLittleHeadroom) {
  StepEstimate e;
  e.memory_capacity = Bytes(100e9);
  e.memory_total = Bytes(83e9);
  EXPECT_FALSE(MemoryWithinModelError(e));
  e.memory_total = Bytes(85e9);
  EXPECT_TRUE(MemoryWithinModelError(e));
  e.memory_total = Bytes(100e9);
  EXPECT_TRUE(MemoryWithinModelError(e));
  e.memory_total = Bytes(101e9);
  EXPECT_FALSE(MemoryWithinModelError(e));  // does not fit: MemoryShortfall says so
  EXPECT_GT(kMemoryModelError, 0.0);
  EXPECT_LT(kMemoryModelError, 0.5);
}

TEST(StepModel, StepTimeIsTheSumOfItsComponents) {
  struct Case {
    TrainingJob job;
    Cluster cluster;
    ParallelPlan plan;
  };
  std::vector<Case> cases;
  cases.push_back({Job(Llama3_8B(), 8192, 32), H100Cluster(8), Plan(1, 1, 8)});
  ParallelPlan interleaved = Plan(2, 4, 2);
  interleaved.vp = 4;
  interleaved.recompute = Recompute::kFull;
  cases.push_back({Job(Llama3_8B(), 8192, 64), H100Cluster(16), interleaved});
  ParallelPlan fsdp = Plan(1, 1, 16, 2);
  fsdp.zero_stage = 3;
  cases.push_back({Job(Llama3_8B(), 4096, 64), H100Cluster(16), fsdp});
  ParallelPlan moe = Plan(2, 1, 8);
  moe.ep = 4;
  moe.cp = 1;
  cases.push_back({Job(SmallMoe(), 4096, 64), H100Cluster(16), moe});
  ParallelPlan context = Plan(2, 1, 2);
  context.cp = 4;
  cases.push_back({Job(Llama3_8B(), 32768, 8), H100Cluster(16), context});
  TrainingJob fp8 = Job(Llama3_8B(), 8192, 32);
  fp8.precision = catalog::Precision::kFp8;
  cases.push_back({fp8, H100Cluster(8), Plan(2, 1, 4)});
  TrainingJob lora = Job(Llama3_8B(), 4096, 8);
  lora.task = TaskKind::kLora;
  cases.push_back({lora, H100Cluster(8), Plan(1, 1, 8)});

  for (const Case& c : cases) {
    StepEstimate e = Estimate(c.job, c.cluster, c.plan);
    double sum = 0;
    for (Seconds t : e.time) {
      EXPECT_GE(t.value(), 0) << c.plan.ToString();
      sum += t.value();
    }
    EXPECT_GT(e.step_time.value(), 0) << c.plan.ToString();
    EXPECT_REL_NEAR(e.step_time.value(), sum, 1e-12) << c.plan.ToString();
    double memory = 0;
    for (Bytes b : e.memory) {
      EXPECT_GE(b.value(), 0) << c.plan.ToString();
      memory += b.value();
    }
    EXPECT_REL_NEAR(e.memory_total.value(), memory, 1e-12) << c.plan.ToString();
    const double tokens = 1.0 * c.job.global_batch * c.job.seq_len;
    EXPECT_REL_NEAR(e.tokens_per_second_per_gpu, tokens / e.step_time.value() / c.cluster.gpus,
                    1e-12);
    EXPECT_GT(e.mfu, 0);
    EXPECT_LT(e.mfu, 1);
  }
}

TEST(StepModel, MoreDataParallelismCostsAtMostTheCommunication) {
  for (int pp : {1, 2}) {
    const int tp = 2, per_gpu_accumulation = 4;
    const int small_dp = 4, large_dp = 32;
    TrainingJob small_job = Job(Llama3_8B(), 4096, small_dp * per_gpu_accumulation);
    TrainingJob large_job = Job(Llama3_8B(), 4096, large_dp * per_gpu_accumulation);
    StepEstimate small =
        Estimate(small_job, H100Cluster(tp * pp * small_dp), Plan(tp, pp, small_dp));
    StepEstimate large =
        Estimate(large_job, H100Cluster(tp * pp * large_dp), Plan(tp, pp, large_dp));

    // The same work per GPU: every component but data-parallel communication and the (sharded)
    // optimizer is unchanged.
    for (size_t i = 0; i < small.time.size(); ++i) {
      auto c = static_cast<TimeComponent>(i);
      if (c == TimeComponent::kDpComm || c == TimeComponent::kOptimizer) continue;
      EXPECT_REL_NEAR(large.time[i].value(), small.time[i].value(), 1e-9)
          << "pp " << pp << ": " << TimeComponentName(c);
    }
    EXPECT_LE(large.at(TimeComponent::kOptimizer).value(),
              small.at(TimeComponent::kOptimizer).value());
    const double dp_comm = large.at(TimeComponent::kDpComm).value();
    EXPECT_LE(large.step_time.value(), small.step_time.value() + dp_comm + 1e-12) << "pp " << pp;
    // Per-GPU throughput drops by no more than the exposed communication.
    const double tokens_per_gpu = 4096.0 * per_gpu_accumulation / (tp * pp);
    EXPECT_GE(large.tokens_per_second_per_gpu * (1 + 1e-12),
              tokens_per_gpu / (small.step_time.value() + dp_comm))
        << "pp " << pp;
  }
}

TEST(StepModel, FullRecomputeIsSlowerAndLighter) {
  const TrainingJob job = Job(Llama3_8B(), 8192, 32);
  const Cluster cluster = H100Cluster(8);
  ParallelPlan plan = Plan(2, 1, 4);
  plan.recompute = Recompute::kNone;
  const StepEstimate none = Estimate(job, cluster, plan);
  plan.recompute = Recompute::kSelective;
  const StepEstimate selective = Estimate(job, cluster, plan);
  plan.recompute = Recompute::kFull;
  const StepEstimate full = Estimate(job, cluster, plan);

  EXPECT_GT(full.step_time, none.step_time);
  EXPECT_GT(full.at(TimeComponent::kRecompute).value(), 0);
  EXPECT_EQ(none.at(TimeComponent::kRecompute).value(), 0);
  EXPECT_LT(Activations(full), Activations(none));
  EXPECT_LT(full.memory_total, none.memory_total);
  // Selective recompute keeps no more than none and no less than full. (With fused attention
  // there are no s^2 scores to drop, so this model gives selective the same footprint as none.)
  EXPECT_LE(Activations(selective), Activations(none));
  EXPECT_GE(Activations(selective), Activations(full));
  EXPECT_GE(selective.step_time, none.step_time);
  EXPECT_LT(selective.step_time, full.step_time);
  // Hardware FLOPs count the recomputed forward; model FLOPs do not.
  EXPECT_DOUBLE_EQ(none.hardware_flops, none.model_flops);
  EXPECT_DOUBLE_EQ(full.model_flops, none.model_flops);
  EXPECT_GT(full.hardware_flops, full.model_flops);
  EXPECT_EQ(full.recompute, Recompute::kFull);
}

TEST(StepModel, LowPrecisionWeightsDropTheBf16CopyAndItsGather) {
  TrainingJob job = Job(Llama3_8B(), 4096, 64);
  Cluster cluster = H100Cluster(8);
  cluster.accelerator.peak_fp4 = FlopsPerSecond(2 * 1979e12);
  const ParallelPlan plan = Plan(1, 1, 8);
  auto weights = [&](catalog::Precision p, bool tn_only, bool kept) {
    job.precision = p;
    job.low_precision_weights = kept;
    cluster.accelerator.fp8_gemm_tn_only = tn_only;
    return Estimate(job, cluster, plan);
  };
  const StepEstimate bf16 = weights(catalog::Precision::kBf16, true, true);
  const double w16 = bf16.at(MemoryComponent::kWeights).value();
  ASSERT_GT(w16, 0);
  // The setting does not touch 16-bit weights.
  EXPECT_DOUBLE_EQ(weights(catalog::Precision::kBf16, true, false).at(MemoryComponent::kWeights).value(), w16);
  auto ratio = [&](const StepEstimate& e) { return e.at(MemoryComponent::kWeights).value() / w16; };
  // Per-tensor FP8 on Hopper: FP8 and its transpose (2 bytes), plus BF16 when not kept (4 bytes).
  const StepEstimate fp8_kept = weights(catalog::Precision::kFp8, true, true);
  const StepEstimate fp8_bf16 = weights(catalog::Precision::kFp8, true, false);
  EXPECT_DOUBLE_EQ(ratio(fp8_kept), 1.0);
  EXPECT_DOUBLE_EQ(ratio(fp8_bf16), 2.0);
  // Where FP8 GEMMs read either layout, one FP8 copy.
  EXPECT_DOUBLE_EQ(ratio(weights(catalog::Precision::kFp8, false, true)), 0.5);
  EXPECT_DOUBLE_EQ(ratio(weights(catalog::Precision::kFp8, false, false)), 1.5);
  // NVFP4: row-wise and column-wise copies of 0.5 bytes and a scale per 16 elements each.
  EXPECT_DOUBLE_EQ(ratio(weights(catalog::Precision::kNvfp4, false, true)), (0.5 + 1.0 / 16));
  EXPECT_DOUBLE_EQ(ratio(weights(catalog::Precision::kNvfp4, false, false)), 1 + (0.5 + 1.0 / 16));
  // Plain data parallelism (no distributed optimizer) keeps BF16 weights whatever the setting.
  ParallelPlan ddp = plan;
  ddp.zero_stage = 0;
  job.precision = catalog::Precision::kFp8;
  cluster.accelerator.fp8_gemm_tn_only = true;
  job.low_precision_weights = true;
  const double ddp_kept = Estimate(job, cluster, ddp).at(MemoryComponent::kWeights).value();
  job.low_precision_weights = false;
  EXPECT_DOUBLE_EQ(ddp_kept, Estimate(job, cluster, ddp).at(MemoryComponent::kWeights).value());
  EXPECT_DOUBLE_EQ(ddp_kept / w16, 2.0);
  // Kept in FP8, the distributed optimizer gathers half the bytes; the compute is the same.
  EXPECT_LT(fp8_kept.memory_total, fp8_bf16.memory_total);
  EXPECT_LE(fp8_kept.at(TimeComponent::kDpComm).value(), fp8_bf16.at(TimeComponent::kDpComm).value());
  EXPECT_DOUBLE_EQ(fp8_kept.at(TimeComponent::kGemm).value(), fp8_bf16.at(TimeComponent::kGemm).value());
}

TEST(StepModel, GatheredBytesFollowWhereTheWeightsLive) {
  TrainingJob job = Job(Llama3_8B(), 4096, 64);
  ParallelPlan plan = Plan(1, 1, 8);
  auto gathered = [&](catalog::Precision p, bool kept, int zero) {
    job.precision = p;
    job.low_precision_weights = kept;
    plan.zero_stage = zero;
    return GatheredBytesPerParameter(job, plan);
  };
  EXPECT_DOUBLE_EQ(gathered(catalog::Precision::kBf16, true, 1), 2);
  EXPECT_DOUBLE_EQ(gathered(catalog::Precision::kFp8, true, 1), 1);
  EXPECT_DOUBLE_EQ(gathered(catalog::Precision::kFp8, true, 3), 1);
  EXPECT_DOUBLE_EQ(gathered(catalog::Precision::kFp8, false, 1), 2);
  EXPECT_DOUBLE_EQ(gathered(catalog::Precision::kFp8, true, 0), 2);  // no distributed optimizer
  EXPECT_DOUBLE_EQ(gathered(catalog::Precision::kMxfp8, true, 1), 2);  // BF16 via the gradient buffer
  EXPECT_DOUBLE_EQ(gathered(catalog::Precision::kNvfp4, true, 1), 0.5 + 1.0 / 16);
}

TEST(StepModel, ImpossiblePlansAreErrorsNotCrashes) {
  const TrainingJob job = Job(Llama3_8B(), 4096, 8);
  std::vector<ParallelPlan> plans;
  plans.push_back(Plan(3, 1, 1));  // 3 GPUs on an 8-GPU cluster
  plans.push_back(Plan(0, 1, 8));
  plans.push_back(Plan(1, 0, 8));
  plans.push_back(Plan(1, 1, 8, 0));
  plans.push_back(Plan(1, 1, 8, -1));
  plans.push_back(Plan(8, 1, 1, 3));  // global batch 8 over micro-batches of 3
  ParallelPlan p = Plan(1, 1, 8);
  p.vp = 0;
  plans.push_back(p);
  p = Plan(1, 1, 8);
  p.ep = 4;
  plans.push_back(p);
  p = Plan(1, 1, 8);
  p.zero_stage = -1;
  plans.push_back(p);
  for (const ParallelPlan& plan : plans) {
    Result<StepEstimate> e = EstimateStep(job, H100Cluster(8), plan);
    ASSERT_FALSE(e.ok()) << plan.ToString();
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << plan.ToString();
    EXPECT_FALSE(e.status().message().empty());
    EXPECT_FALSE(EstimateStepLightestRecompute(job, H100Cluster(8), plan).ok()) << plan.ToString();
  }
  // A cluster without a 16-bit peak or an HBM bandwidth cannot be estimated either.
  Cluster no_peak = H100Cluster(8);
  no_peak.accelerator.peak_bf16 = FlopsPerSecond(0);
  EXPECT_FALSE(EstimateStep(job, no_peak, Plan(1, 1, 8)).ok());
  Cluster no_hbm = H100Cluster(8);
  no_hbm.accelerator.hbm_bandwidth = BytesPerSecond(0);
  Result<StepEstimate> e = EstimateStep(job, no_hbm, Plan(1, 1, 8));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnsupported);
}

TEST(StepModel, Llama405BDoesNotFitOnEightGpusButLlama8BDoes) {
  const StepEstimate big = Estimate(Job(Llama3_405B(), 4096, 8), H100Cluster(8), Plan(8, 1, 1));
  EXPECT_FALSE(big.fits_in_memory);
  EXPECT_GT(big.memory_total, big.memory_capacity);
  EXPECT_GT(big.step_time.value(), 0);  // still estimated

  const StepEstimate small = Estimate(Job(Llama3_8B(), 4096, 8), H100Cluster(8), Plan(8, 1, 1));
  EXPECT_TRUE(small.fits_in_memory);
  EXPECT_LE(small.memory_total, small.memory_capacity);
}

TEST(StepModel, LightestRecomputeStopsAtTheFirstThatFits) {
  auto small =
      EstimateStepLightestRecompute(Job(Llama3_8B(), 4096, 8), H100Cluster(8), Plan(8, 1, 1));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->recompute, Recompute::kNone);
  auto big =
      EstimateStepLightestRecompute(Job(Llama3_405B(), 4096, 8), H100Cluster(8), Plan(8, 1, 1));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->recompute, Recompute::kFull);  // nothing fits: the last one tried
  EXPECT_FALSE(big->fits_in_memory);
}

TEST(StepModel, BlockRecomputeTradesTimeForMemoryLayerByLayer) {
  const TrainingJob job = Job(Llama3_8B(), 8192, 64);
  const Cluster cluster = H100Cluster(8);
  ParallelPlan plan = Plan(2, 1, 4, 4);
  plan.recompute = Recompute::kFull;
  const StepEstimate all = Estimate(job, cluster, plan);
  StepEstimate previous = all;
  for (int layers : {24, 16, 8, 1}) {
    plan.recompute_layers = layers;
    const StepEstimate e = Estimate(job, cluster, plan);
    EXPECT_LT(e.step_time, previous.step_time) << layers;
    EXPECT_GT(e.memory_total, previous.memory_total) << layers;
    EXPECT_LT(e.hardware_flops, previous.hardware_flops) << layers;
    EXPECT_EQ(e.recompute_layers, layers);
    previous = e;
  }
  plan.recompute_layers = 32;  // every layer of the rank: the same as full recompute
  EXPECT_DOUBLE_EQ(Estimate(job, cluster, plan).step_time.value(), all.step_time.value());
  plan.recompute = Recompute::kSelective;
  EXPECT_FALSE(EstimateStep(job, cluster, plan).ok());  // layers are for full recompute only
}

TEST(StepModel, LightestRecomputeRecomputesTheFewestLayersThatFit) {
  const TrainingJob job = Job(Llama3_8B(), 8192, 64);
  const Cluster cluster = H100Cluster(8);
  ParallelPlan plan = Plan(2, 1, 4, 8);
  auto best = EstimateStepLightestRecompute(job, cluster, plan);
  ASSERT_TRUE(best.ok()) << best.status().ToString();
  ASSERT_EQ(best->recompute, Recompute::kFull);
  ASSERT_GT(best->recompute_layers, 0);
  ASSERT_LT(best->recompute_layers, 32);
  EXPECT_TRUE(best->fits_in_memory);
  plan.recompute = Recompute::kFull;
  plan.recompute_layers = best->recompute_layers - 1;
  EXPECT_FALSE(Estimate(job, cluster, plan).fits_in_memory);
  plan.recompute_layers = 0;
  EXPECT_LT(best->step_time, Estimate(job, cluster, plan).step_time);
}

TEST(StepModel, HostLaunchTimeShowsOnlyWhenKernelsAreShort) {
  Cluster cluster = H100Cluster(8);
  cluster.efficiency.host_kernel = Seconds(50e-6);
  ParallelPlan plan = Plan(1, 1, 8, 1);
  plan.ep = 8;
  // A fine-grained MoE on short micro-batches launches many short kernels: the GPU waits.
  const StepEstimate small = Estimate(Job(SmallMoe(), 1024, 64), cluster, plan);
  EXPECT_GT(small.at(TimeComponent::kHostLaunch).value(), 0);
  // Longer micro-batches give the kernels more work each: less or no host time per token.
  plan.micro_batch = 8;
  const StepEstimate big = Estimate(Job(SmallMoe(), 1024, 64), cluster, plan);
  EXPECT_LT(big.at(TimeComponent::kHostLaunch).value(), small.at(TimeComponent::kHostLaunch).value());
  EXPECT_LT(big.step_time, small.step_time);
  // A large dense model keeps the GPU busier than the host: nothing exposed.
  const StepEstimate dense = Estimate(Job(Gpt3(51200), 2048, 8), cluster, Plan(8, 1, 1));
  EXPECT_EQ(dense.at(TimeComponent::kHostLaunch).value(), 0);
  // With no host cost the component vanishes and the step is no slower.
  cluster.efficiency.host_kernel = Seconds(0);
  plan.micro_batch = 1;
  const StepEstimate free_host = Estimate(Job(SmallMoe(), 1024, 64), cluster, plan);
  EXPECT_EQ(free_host.at(TimeComponent::kHostLaunch).value(), 0);
  EXPECT_LT(free_host.step_time, small.step_time);
}

TEST(StepModel, CudaGraphsLeaveNoHostLaunchTime) {
  Cluster cluster = H100Cluster(8);
  cluster.efficiency.host_kernel = Seconds(50e-6);
  ParallelPlan plan = Plan(1, 1, 8, 1);
  plan.ep = 8;
  const StepEstimate eager = Estimate(Job(SmallMoe(), 1024, 64), cluster, plan);
  ASSERT_GT(eager.at(TimeComponent::kHostLaunch).value(), 0);
  plan.cuda_graphs = true;
  const StepEstimate graphs = Estimate(Job(SmallMoe(), 1024, 64), cluster, plan);
  EXPECT_EQ(graphs.at(TimeComponent::kHostLaunch).value(), 0);
  // Only the host time goes: the rest of the step is the same.
  EXPECT_NEAR(graphs.step_time.value(), eager.step_time.value() - eager.at(TimeComponent::kHostLaunch).value(), 1e-12);
}

TEST(StepModel, PerLayerCudaGraphsReplaceTheirModulesLaunchesWithOne) {
  // A host so slow that every launch is exposed, forward and backward (the backward launches
  // twice the forward's kernels): the host time is 3 x micro-batches x launches x host time. A
  // captured module of K kernels launches once forward and once backward: K + 2K -> 1 + 1.
  Cluster cluster = H100Cluster(8);
  const double host = 1.0;
  cluster.efficiency.host_kernel = Seconds(host);
  const TrainingJob job = Job(SmallMoe(), 1024, 64);  // BF16: no quantization kernels
  ParallelPlan plan = Plan(1, 1, 8, 1);
  plan.ep = 8;
  const double m = 64 / 8, layers = 8, per_launch = m * layers * host;
  auto saved = [&](double kernels) { return per_launch * (3 * kernels - 2); };
  auto host_time = [&](unsigned modules) {
    plan.cuda_graph_modules = modules;
    return Estimate(job, cluster, plan).at(TimeComponent::kHostLaunch).value();
  };
  const double eager = host_time(0);
  // Attention block: QKV and projection GEMMs, norm, rotary q and k, attention, residual add.
  EXPECT_NEAR(eager - host_time(kGraphAttn), saved(7), 1e-6 * eager);
  // Up to the router: norm, router GEMM, softmax/top-k/aux loss; the preprocess's two copies
  // join the same graph.
  EXPECT_NEAR(eager - host_time(kGraphMoeRouter), saved(8), 1e-6 * eager);
  EXPECT_NEAR(eager - host_time(kGraphMoeRouter | kGraphMoePreprocess), saved(8 + 2), 1e-6 * eager);
  // A dense-MLP graph has nothing to capture in an all-MoE model.
  EXPECT_EQ(host_time(kGraphMlp), eager);
  // Dropping tokens, the whole MoE MLP is one graph: the router's 8 launches, the preprocess's 2,
  // and the rest: fc1 and fc2 of the one local expert, residual add, (un)permute, activation,
  // dispatch and combine (2 + 1 + 4 + 1 + 2).
  TrainingJob dropping = job;
  dropping.moe_capacity_factor = 1;
  auto host_dropping = [&](unsigned modules) {
    plan.cuda_graph_modules = modules;
    return Estimate(dropping, cluster, plan).at(TimeComponent::kHostLaunch).value();
  };
  EXPECT_NEAR(host_dropping(0) - host_dropping(kGraphMoe), saved(8 + 2 + 10), 1e-6 * eager);
  EXPECT_NEAR(host_dropping(0) - host_dropping(kGraphAttn | kGraphMoe), saved(7) + saved(8 + 2 + 10), 1e-6 * eager);
  // The rest of the step does not change.
  plan.cuda_graph_modules = kGraphAttn;
  const StepEstimate graphs = Estimate(job, cluster, plan);
  plan.cuda_graph_modules = 0;
  const StepEstimate none = Estimate(job, cluster, plan);
  EXPECT_NEAR(graphs.step_time.value() - graphs.at(TimeComponent::kHostLaunch).value(),
              none.step_time.value() - none.at(TimeComponent::kHostLaunch).value(), 1e-9 * none.step_time.value());
  // A dense model's MLP graph removes its block's launches: fc1, fc2, norm, activation, add.
  const TrainingJob dense = Job(Llama3_8B(), 1024, 64);
  ParallelPlan dp = Plan(1, 1, 8, 1);
  const double eager_dense = Estimate(dense, cluster, dp).at(TimeComponent::kHostLaunch).value();
  dp.cuda_graph_modules = kGraphMlp;
  const double mlp_dense = Estimate(dense, cluster, dp).at(TimeComponent::kHostLaunch).value();
  EXPECT_NEAR(eager_dense - mlp_dense, m * dense.model.layers * host * (3 * 5 - 2), 1e-6 * eager_dense);
}

TEST(CudaGraphModules, ParseAndNameRoundTrip) {
  for (unsigned modules = 0; modules <= kGraphAll; ++modules) {
    Result<unsigned> back = ParseCudaGraphModules(CudaGraphModulesName(modules));
    ASSERT_TRUE(back.ok()) << CudaGraphModulesName(modules);
    EXPECT_EQ(*back, modules) << CudaGraphModulesName(modules);
  }
  Result<unsigned> listed = ParseCudaGraphModules(" attn, moe_router;moe_preprocess ");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, kGraphAttn | kGraphMoeRouter | kGraphMoePreprocess);
  EXPECT_EQ(CudaGraphModulesName(*listed), "attn+moe_router+moe_preprocess");
  Result<unsigned> empty = ParseCudaGraphModules("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0u);
  Result<unsigned> moe = ParseCudaGraphModules("attn+moe");
  ASSERT_TRUE(moe.ok());
  EXPECT_EQ(*moe, kGraphAttn | kGraphMoe);
  Result<unsigned> typo = ParseCudaGraphModules("atn");
  ASSERT_FALSE(typo.ok());
  EXPECT_TRUE(HasText(typo.status().message(), "'atn'"));
  EXPECT_TRUE(HasText(typo.status().message(), "moe_preprocess"));
}

TEST(ValidatePlan, CudaGraphModulesFollowMegatronCoresRules) {
  ParallelPlan p = Plan(1, 1, 8, 1);
  p.ep = 8;
  const TrainingJob moe = Job(SmallMoe(), 1024, 64);
  p.cuda_graph_modules = kGraphAttn | kGraphMoeRouter | kGraphMoePreprocess;
  EXPECT_TRUE(ValidatePlan(moe, H100Cluster(8), p).ok());
  p.cuda_graphs = true;
  Status both = ValidatePlan(moe, H100Cluster(8), p);
  ASSERT_FALSE(both.ok());
  EXPECT_TRUE(HasText(both.message(), "do not combine"));
  p.cuda_graphs = false;
  // Full recompute (of every layer or of some) takes whole-iteration graphs only; selective does not.
  p.recompute = Recompute::kFull;
  Status full = ValidatePlan(moe, H100Cluster(8), p);
  ASSERT_FALSE(full.ok());
  EXPECT_TRUE(HasText(full.message(), "full recompute and per-layer CUDA graphs (cuda_graph_modules) do not combine"));
  p.recompute_layers = 2;
  EXPECT_FALSE(ValidatePlan(moe, H100Cluster(8), p).ok());
  p.recompute_layers = 0;
  p.recompute = Recompute::kSelective;
  EXPECT_TRUE(ValidatePlan(moe, H100Cluster(8), p).ok());
  p.recompute = Recompute::kFull;
  p.cuda_graph_modules = 0;
  p.cuda_graphs = true;
  EXPECT_TRUE(ValidatePlan(moe, H100Cluster(8), p).ok());
  p.cuda_graphs = false;
  p.recompute = Recompute::kNone;
  p.cuda_graph_modules = kGraphMoePreprocess;
  Status alone = ValidatePlan(moe, H100Cluster(8), p);
  ASSERT_FALSE(alone.ok());
  EXPECT_TRUE(HasText(alone.message(), "needs moe_router"));
  ParallelPlan d = Plan(1, 1, 8, 1);
  d.cuda_graph_modules = kGraphMoeRouter;
  Status dense = ValidatePlan(Job(Llama3_8B(), 1024, 64), H100Cluster(8), d);
  ASSERT_FALSE(dense.ok());
  EXPECT_TRUE(HasText(dense.message(), "experts"));
  d.cuda_graph_modules = 1u << 7;
  EXPECT_FALSE(ValidatePlan(Job(Llama3_8B(), 1024, 64), H100Cluster(8), d).ok());
  // A MoE layer whole: only with token dropping, and not beside the router's graph it contains.
  p.cuda_graph_modules = kGraphAttn | kGraphMoe;
  Status dropless = ValidatePlan(moe, H100Cluster(8), p);
  ASSERT_FALSE(dropless.ok());
  EXPECT_TRUE(HasText(dropless.message(), "needs token dropping and padding (moe_capacity_factor > 0)"));
  TrainingJob dropping = moe;
  dropping.moe_capacity_factor = 1;
  EXPECT_TRUE(ValidatePlan(dropping, H100Cluster(8), p).ok());
  p.cuda_graph_modules = kGraphMoe | kGraphMoeRouter;
  Status twice = ValidatePlan(dropping, H100Cluster(8), p);
  ASSERT_FALSE(twice.ok());
  EXPECT_TRUE(HasText(twice.message(), "captures the router and the preprocess already"));
  d.cuda_graph_modules = kGraphMoe;
  EXPECT_TRUE(HasText(ValidatePlan(Job(Llama3_8B(), 1024, 64), H100Cluster(8), d).message(), "experts"));
  // The factor: 0 (dropless) or above 0 up to the input bound, on a model with experts.
  p.cuda_graph_modules = 0;
  dropping.moe_capacity_factor = -1;
  EXPECT_TRUE(
      HasText(ValidatePlan(dropping, H100Cluster(8), p).message(), "moe_capacity_factor: expected 0 (dropless)"));
  dropping.moe_capacity_factor = 17;
  EXPECT_FALSE(ValidatePlan(dropping, H100Cluster(8), p).ok());
  TrainingJob dense_dropping = Job(Llama3_8B(), 1024, 64);
  dense_dropping.moe_capacity_factor = 1;
  EXPECT_TRUE(HasText(ValidatePlan(dense_dropping, H100Cluster(8), Plan(1, 1, 8, 1)).message(),
                      "moe_capacity_factor: token dropping needs a model with experts"));
}

// Token dropping with padding: every expert computes, permutes and exchanges capacity = factor x
// its balanced share of rows. At a factor of 1 the balanced routing the model assumes drops and
// pads nothing, so the step only changes through the host, which no longer waits for the routing
// result layer by layer: with dense and MoE layers mixed, the dense layers' slack covers the MoE
// layers' launches, and never the other way round.
TEST(StepModel, TokenDroppingPadsExpertsToCapacityAndFreesTheHostFromTheRouting) {
  Cluster cluster = H100Cluster(8);
  cluster.efficiency.host_kernel = Seconds(0);
  TrainingJob job = Job(SmallMoe(), 1024, 64);  // 2,048 rows per local expert at ep 8
  ParallelPlan plan = Plan(1, 1, 8, 1);
  plan.ep = 8;
  const StepEstimate dropless = Estimate(job, cluster, plan);
  job.moe_capacity_factor = 1;
  const StepEstimate balanced = Estimate(job, cluster, plan);
  EXPECT_DOUBLE_EQ(balanced.step_time.value(), dropless.step_time.value());
  job.moe_capacity_factor = 1.25;  // 2,560 rows: whole 128-row tiles either way
  const StepEstimate padded = Estimate(job, cluster, plan);
  EXPECT_NEAR(padded.at(TimeComponent::kMoeGemm).value(), 1.25 * dropless.at(TimeComponent::kMoeGemm).value(),
              1e-12 * dropless.step_time.value());
  EXPECT_NEAR(padded.at(TimeComponent::kEpComm).value(), 1.25 * dropless.at(TimeComponent::kEpComm).value(),
              1e-12 * dropless.step_time.value());
  EXPECT_GT(padded.at(TimeComponent::kElementwise).value(), dropless.at(TimeComponent::kElementwise).value());
  EXPECT_GT(padded.memory_total.value(), dropless.memory_total.value());
  EXPECT_EQ(padded.at(TimeComponent::kGemm).value(), dropless.at(TimeComponent::kGemm).value());

  // Half the layers dense, half MoE; the host slower and slower.
  TrainingJob mixed = Job(SmallMoe(), 1024, 64);
  mixed.model.moe->dense_layers = 4;
  TrainingJob mixed_dropping = mixed;
  mixed_dropping.moe_capacity_factor = 1;
  bool freed = false;
  for (double us = 1; us <= 1000; us *= 1.5) {
    cluster.efficiency.host_kernel = Seconds(us * 1e-6);
    const double waits = Estimate(mixed, cluster, plan).at(TimeComponent::kHostLaunch).value();
    const double runs_ahead = Estimate(mixed_dropping, cluster, plan).at(TimeComponent::kHostLaunch).value();
    EXPECT_LE(runs_ahead, waits + 1e-15) << us << " us per launch";
    freed |= runs_ahead < 0.9 * waits;
  }
  EXPECT_TRUE(freed);
}

// NCCL CTA caps per communicator: a capped communicator moves at most caps x the accelerator's NCCL
// channel bandwidth over NVLink. A cap of one CTA slows the context-parallel ring and the pipeline
// sends; a cap above what the link carries, or no cap, changes nothing; caps need the channel
// bandwidth in the catalog.
TEST(StepModel, NcclCtaCapsBoundACommunicatorsNvlinkBandwidth) {
  Cluster cluster = H100Cluster(8);
  cluster.accelerator.nccl_channel_bandwidth = BytesPerSecond(30e9);
  TrainingJob job = Job(Llama3_8B(), 8192, 64);
  ParallelPlan plan = Plan(1, 2, 2, 1);
  plan.cp = 2;
  const StepEstimate free = Estimate(job, cluster, plan);
  job.nccl_max_ctas = *ParseNcclCtaCaps("cp=1 pp=1");
  const StepEstimate capped = Estimate(job, cluster, plan);
  EXPECT_GT(capped.at(TimeComponent::kCpComm).value(), free.at(TimeComponent::kCpComm).value());
  EXPECT_GT(capped.at(TimeComponent::kPpComm).value(), free.at(TimeComponent::kPpComm).value());
  EXPECT_EQ(capped.at(TimeComponent::kGemm).value(), free.at(TimeComponent::kGemm).value());
  // One pipeline send each way per chunk boundary on the critical path, at 30 GB/s instead of the
  // link's 360 GB/s (450 x 0.8): 2 x (pp - 1) x bytes x (1/30 - 1/360) GB/s more, no steady-state sends
  // being exposed here (m = 32 micro-batches, pp 2: 2 (32 / 2 - 1) = 30 more of them).
  const double bytes = 1.0 * 8192 / 2 * Llama3_8B().hidden * 2;
  const double sends = 2.0 * 1 + 30;
  EXPECT_NEAR(capped.at(TimeComponent::kPpComm).value() - free.at(TimeComponent::kPpComm).value(),
              sends * bytes * (1 / 30e9 - 1 / 360e9), 1e-9);
  // Caps the link already meets (12 x 30 = 360 GB/s) change nothing.
  job.nccl_max_ctas = *ParseNcclCtaCaps("tp=12 cp=12 dp=12 pp=12");
  EXPECT_EQ(Estimate(job, cluster, plan).step_time.value(), free.step_time.value());
  // The data-parallel cap reaches the iteration timeline's DP communicator too.
  EXPECT_EQ(CommGroupOf(cluster, 4, 1, 1).scale_up.bandwidth.value(), 30e9);
  EXPECT_EQ(CommGroupOf(cluster, 4, 1, 0).scale_up.bandwidth.value(), 360e9);
  // Without the accelerator's channel bandwidth the caps cannot be priced.
  cluster.accelerator.nccl_channel_bandwidth = BytesPerSecond(0);
  Status unknown = ValidatePlan(job, cluster, plan);
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(HasText(unknown.message(), "nccl_max_ctas (tp=12 cp=12 dp=12 pp=12) needs the NCCL channel bandwidth of "
                                         "h100-sxm, which the catalog does not give"));
  job.nccl_max_ctas = {};
  EXPECT_TRUE(ValidatePlan(job, cluster, plan).ok());
  job.nccl_max_ctas.dp = 65;
  cluster.accelerator.nccl_channel_bandwidth = BytesPerSecond(30e9);
  EXPECT_TRUE(
      HasText(ValidatePlan(job, cluster, plan).message(), "nccl_max_ctas dp: expected 0 (not capped) or 1 to 64"));
}

TEST(NcclCtaCaps, ParsesCommunicatorCountsAndNamesThemBack) {
  Result<NcclCtaCaps> caps = ParseNcclCtaCaps("cp=1, dp=8;pp=2");
  ASSERT_TRUE(caps.ok()) << caps.status().message();
  EXPECT_EQ(caps->tp, 0);
  EXPECT_EQ(caps->cp, 1);
  EXPECT_EQ(caps->dp, 8);
  EXPECT_EQ(caps->pp, 2);
  EXPECT_TRUE(caps->Any());
  EXPECT_EQ(NcclCtaCapsName(*caps), "cp=1 dp=8 pp=2");
  EXPECT_EQ(*ParseNcclCtaCaps(NcclCtaCapsName(*caps)), *caps);
  EXPECT_FALSE(ParseNcclCtaCaps("none")->Any());
  EXPECT_FALSE(ParseNcclCtaCaps("")->Any());
  EXPECT_EQ(NcclCtaCapsName({}), "none");
  for (auto [text, error] : {std::pair{"xp=1", "expected communicator=CTAs with communicator tp, cp, dp or pp"},
                             {"cp", "expected communicator=CTAs"},
                             {"cp=0", "cp: expected a whole number of CTAs from 1 to 64 (NCCL's channel limit), "
                                      "got '0'"},
                             {"dp=65", "got '65'"},
                             {"pp=1.5", "got '1.5'"},
                             {"tp=", "got ''"}}) {
    Result<NcclCtaCaps> bad = ParseNcclCtaCaps(text);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_TRUE(HasText(bad.status().message(), error)) << text << ": " << bad.status().message();
  }
}

// Delayed FP8 scaling skips the amax pass: the quantization the step charges falls from 12.14 to
// 5.15 bytes per element (catalog::QuantizeBytesPerElement), and nothing else changes. The other
// formats ignore the setting.
TEST(StepModel, DelayedFp8ScalingChargesTheMeasuredQuantizationOnly) {
  const Cluster cluster = H100Cluster(8);
  TrainingJob job = Job(Llama3_8B(), 8192, 64);
  EXPECT_EQ(job.fp8_scaling, Fp8Scaling::kCurrent);
  const ParallelPlan p = Plan(1, 1, 8, 1);
  auto elementwise = [&](catalog::Precision prec, Fp8Scaling s) {
    job.precision = prec;
    job.fp8_scaling = s;
    StepEstimate e = Estimate(job, cluster, p);
    return std::pair{e.at(TimeComponent::kElementwise).value(), e.step_time.value()};
  };
  const auto bf16 = elementwise(catalog::Precision::kBf16, Fp8Scaling::kCurrent);
  const auto current = elementwise(catalog::Precision::kFp8, Fp8Scaling::kCurrent);
  const auto delayed = elementwise(catalog::Precision::kFp8, Fp8Scaling::kDelayed);
  EXPECT_LT(delayed.second, current.second);
  // The quantization is the FP8 step's elementwise time beyond the BF16 one's.
  EXPECT_NEAR((delayed.first - bf16.first) / (current.first - bf16.first), 5.15 / 12.14, 1e-9);
  EXPECT_NEAR(current.second - delayed.second, current.first - delayed.first, 1e-9 * current.second);
  EXPECT_DOUBLE_EQ(elementwise(catalog::Precision::kMxfp8, Fp8Scaling::kDelayed).second,
                   elementwise(catalog::Precision::kMxfp8, Fp8Scaling::kCurrent).second);
  EXPECT_EQ(*ParseFp8Scaling("delayed"), Fp8Scaling::kDelayed);
  EXPECT_EQ(Fp8ScalingName(Fp8Scaling::kCurrent), std::string("current"));
  Result<Fp8Scaling> bad = ParseFp8Scaling("tensorwise");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasText(bad.status().message(), "expected current"));
}

// The NCCL all-to-all dispatcher sends every token-expert pair; the flex dispatcher one copy per
// remote NVLink domain. Inside one domain they move the same bytes. Across four 8-GPU domains with
// one of 32 experts per GPU and 2 per token, a token sends 2 x 24/32 = 1.5 pairs out of its
// domain but reaches 3 x (1 - C(24,2)/C(32,2)) = 1.33 remote domains.
TEST(StepModel, AllToAllDispatcherSendsEveryPairFlexOneCopyPerDomain) {
  Cluster cluster = H100Cluster(32);
  cluster.efficiency.host_kernel = Seconds(0);
  TrainingJob job = Job(SmallMoe(), 4096, 128);
  EXPECT_EQ(job.moe_dispatcher, MoeDispatcher::kFlex);
  auto a2a = [&](MoeDispatcher d, int ep) {
    job.moe_dispatcher = d;
    ParallelPlan p = Plan(1, 1, 32, 1);
    p.ep = ep;
    return Estimate(job, cluster, p).at(TimeComponent::kEpComm).value();
  };
  EXPECT_DOUBLE_EQ(a2a(MoeDispatcher::kFlex, 8), a2a(MoeDispatcher::kAllToAll, 8));
  job.model.moe->experts = 32;
  const double flex = a2a(MoeDispatcher::kFlex, 32), pairs = a2a(MoeDispatcher::kAllToAll, 32);
  EXPECT_NEAR(pairs / flex, 1.5 / (3 * (1 - 276.0 / 496)), 0.02);
  EXPECT_EQ(MoeDispatcherName(MoeDispatcher::kAllToAll), std::string("alltoall"));
  EXPECT_EQ(*ParseMoeDispatcher("flex"), MoeDispatcher::kFlex);
  Result<MoeDispatcher> bad = ParseMoeDispatcher("deepep");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasText(bad.status().message(), "expected flex"));
}

TEST(StepModel, EpOverlapHidesTheAllToAllBehindTheOtherMicroBatch) {
  Cluster cluster = H100Cluster(16);
  cluster.efficiency.host_kernel = Seconds(0);  // keep launches out of the comparison
  ParallelPlan plan = Plan(1, 1, 16, 1);
  plan.ep = 8;
  plan.micro_batch = 4;
  const TrainingJob job = Job(SmallMoe(), 4096, 128);
  const StepEstimate plain = Estimate(job, cluster, plan);
  const double a2a = plain.at(TimeComponent::kEpComm).value();
  ASSERT_GT(a2a, 0);
  plan.ep_overlap = true;
  const StepEstimate overlapped = Estimate(job, cluster, plan);
  const double exposed = overlapped.at(TimeComponent::kEpComm).value();
  // The all-to-all is shorter than the compute of the merged passes: all of it is hidden but the
  // slowdown of the compute it runs beside.
  EXPECT_NEAR(exposed, cluster.efficiency.overlap_slowdown * a2a, 1e-9 * a2a);
  EXPECT_LT(overlapped.step_time, plain.step_time);
  EXPECT_NEAR(plain.step_time.value() - overlapped.step_time.value(), a2a - exposed, 1e-9);
  // Megatron-Core's conditions: expert parallelism, no full recompute, interleaving with pp > 1.
  ParallelPlan no_ep = plan;
  no_ep.ep = 1;
  EXPECT_FALSE(ValidatePlan(job, cluster, no_ep).ok());
  ParallelPlan full = plan;
  full.recompute = Recompute::kFull;
  EXPECT_FALSE(ValidatePlan(job, cluster, full).ok());
  ParallelPlan piped = Plan(1, 2, 8, 1);
  piped.ep = 8;
  piped.ep_overlap = true;
  EXPECT_FALSE(ValidatePlan(job, cluster, piped).ok());
  piped.vp = 2;
  EXPECT_TRUE(ValidatePlan(job, cluster, piped).ok()) << ValidatePlan(job, cluster, piped).ToString();
  // Full recompute, where memory needs it, turns the overlap off instead of failing.
  Result<StepEstimate> recomputed = EstimateStepFewestRecomputeLayers(job, cluster, plan);
  ASSERT_TRUE(recomputed.ok()) << recomputed.status().ToString();
  EXPECT_FALSE(recomputed->ep_overlap);
  EXPECT_TRUE(overlapped.ep_overlap);
}

TEST(StepModel, TwoSitesCostOnlyWhatCrossesTheWan) {
  const TrainingJob job = Job(Llama3_8B(), 4096, 64);
  const Cluster one_site = H100Cluster(32);
  Cluster two_sites = one_site;
  two_sites.sites = 2;
  two_sites.wan_bandwidth = BytesPerSecond(100e9);  // per site, both sites' 16 GPUs share it
  two_sites.wan_latency = Seconds(5e-3);

  // Data parallel across the sites: its gradient traffic crosses the WAN, so it is slower.
  const ParallelPlan dp = Plan(2, 1, 16);
  const StepEstimate dp_one = Estimate(job, one_site, dp);
  const StepEstimate dp_two = Estimate(job, two_sites, dp);
  EXPECT_GT(dp_two.step_time, dp_one.step_time);
  EXPECT_GT(dp_two.at(TimeComponent::kDpComm), dp_one.at(TimeComponent::kDpComm));
  // A slower WAN is slower still; compute does not change.
  Cluster slow = two_sites;
  slow.wan_bandwidth = BytesPerSecond(10e9);
  const StepEstimate dp_slow = Estimate(job, slow, dp);
  EXPECT_GT(dp_slow.step_time, dp_two.step_time);
  EXPECT_EQ(dp_slow.at(TimeComponent::kGemm), dp_one.at(TimeComponent::kGemm));

  // Two pipeline stages of 16 GPUs, one per site: only the stage boundary crosses the WAN, so
  // data parallelism stays inside each site and costs what it costs on one site.
  const ParallelPlan pp = Plan(2, 2, 8);
  const StepEstimate pp_one = Estimate(job, one_site, pp);
  const StepEstimate pp_two = Estimate(job, two_sites, pp);
  EXPECT_EQ(pp_two.at(TimeComponent::kDpComm), pp_one.at(TimeComponent::kDpComm));
  EXPECT_GT(pp_two.at(TimeComponent::kPpComm), pp_one.at(TimeComponent::kPpComm));
  EXPECT_GE(pp_two.at(TimeComponent::kPpComm).value(), 2 * 5e-3);  // fill and drain cross the WAN once each

  // Impossible splits are clear errors.
  Cluster odd = two_sites;
  odd.sites = 3;
  Result<StepEstimate> e = EstimateStep(job, odd, dp);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("sites"), std::string::npos) << e.status().message();
  Cluster no_wan = two_sites;
  no_wan.wan_bandwidth = BytesPerSecond(0);
  e = EstimateStep(job, no_wan, dp);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("WAN"), std::string::npos) << e.status().message();
}

TEST(StepModel, ActivationOffloadFreesMemoryAndCostsOnlyWhatTheLinkCannotHide) {
  const TrainingJob job = Job(Llama3_8B(), 8192, 64);
  Cluster cluster = H100Cluster(8);
  ParallelPlan plan = Plan(2, 1, 4, 4);
  const StepEstimate none = Estimate(job, cluster, plan);
  // No host link: offload is refused with a clear message.
  plan.offload_layers = 16;
  Result<StepEstimate> refused = EstimateStep(job, cluster, plan);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("host link"), std::string::npos) << refused.status().message();

  // A fast link (NVLink-C2C-like) hides the copies: memory falls, time does not rise.
  cluster.system.host_link_bandwidth = BytesPerSecond(225e9);
  const StepEstimate fast = Estimate(job, cluster, plan);
  EXPECT_LT(Activations(fast), Activations(none));
  EXPECT_NEAR(Activations(fast), Activations(none) / 2, 1e-6 * Activations(none));  // 16 of 32 layers
  EXPECT_EQ(fast.at(TimeComponent::kOffload).value(), 0);
  EXPECT_EQ(fast.offload_layers, 16);
  // A slow link exposes the copies the compute cannot cover.
  cluster.system.host_link_bandwidth = BytesPerSecond(1e9);
  const StepEstimate slow = Estimate(job, cluster, plan);
  EXPECT_GT(slow.at(TimeComponent::kOffload).value(), 0);
  EXPECT_GT(slow.step_time, fast.step_time);
  // Offload and full recompute do not combine.
  plan.recompute = Recompute::kFull;
  EXPECT_FALSE(EstimateStep(job, cluster, plan).ok());

  // Where nothing lighter fits, the lightest choice on a fast link is offload, not recompute.
  cluster.system.host_link_bandwidth = BytesPerSecond(225e9);
  auto lightest = EstimateStepLightestRecompute(job, cluster, Plan(2, 1, 4, 8));
  ASSERT_TRUE(lightest.ok()) << lightest.status().ToString();
  EXPECT_TRUE(lightest->fits_in_memory);
  EXPECT_EQ(lightest->recompute, Recompute::kNone);
  EXPECT_GT(lightest->offload_layers, 0);
}

// Offloaded activations must fit in the GPU's share of its node's host memory: the estimate
// says how much goes there, a plan whose offload overflows it does not fit, and the fewest
// layers that fit in HBM are chosen (the only chance to fit in host memory too).
TEST(StepModel, ActivationOffloadMustFitInHostMemory) {
  const TrainingJob job = Job(Llama3_8B(), 8192, 64);
  Cluster cluster = H100Cluster(8);
  cluster.system.host_link_bandwidth = BytesPerSecond(225e9);
  ParallelPlan plan = Plan(2, 1, 4, 4);
  plan.offload_layers = 16;
  const StepEstimate unbounded = Estimate(job, cluster, plan);  // no host memory given: unchecked
  ASSERT_GT(unbounded.host_memory_used.value(), 0);
  EXPECT_EQ(unbounded.host_memory_capacity.value(), 0);
  EXPECT_TRUE(unbounded.fits_in_memory);
  // 16 of 32 layers leave: what left HBM is what host memory holds.
  plan.offload_layers = 0;
  const StepEstimate none = Estimate(job, cluster, plan);
  EXPECT_NEAR(unbounded.host_memory_used.value(), Activations(none) - Activations(unbounded),
              1e-6 * Activations(none));
  EXPECT_EQ(none.host_memory_used.value(), 0);

  plan.offload_layers = 16;
  const int gpus_per_node = cluster.system.gpus_per_node;
  cluster.system.host_memory = Bytes(1.01 * unbounded.host_memory_used.value() * gpus_per_node);
  const StepEstimate roomy = Estimate(job, cluster, plan);
  EXPECT_TRUE(roomy.fits_in_memory);
  EXPECT_NEAR(roomy.host_memory_capacity.value(), 1.01 * unbounded.host_memory_used.value(), 1.0);
  cluster.system.host_memory = Bytes(0.99 * unbounded.host_memory_used.value() * gpus_per_node);
  const StepEstimate tight = Estimate(job, cluster, plan);
  EXPECT_FALSE(tight.fits_in_memory);
  // The explanation says which memory overflows: host memory, not HBM.
  const std::string text = ExplainStep(tight);
  auto line_with = [&](const std::string& words) {
    size_t at = text.find(words);
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_NE(line_with("offloaded to host memory").find("DOES NOT FIT"), std::string::npos) << text;
  EXPECT_EQ(line_with("memory per GPU").find("DOES NOT FIT"), std::string::npos) << text;

  // The fewest offloaded layers that fit in HBM, even where more would overflow host memory.
  cluster.system.host_memory = Bytes(0);
  Result<StepEstimate> fewest = EstimateStepFewestOffloadLayers(job, cluster, Plan(2, 1, 4, 8));
  ASSERT_TRUE(fewest.ok()) << fewest.status().ToString();
  ASSERT_TRUE(fewest->fits_in_memory);
  ASSERT_GT(fewest->offload_layers, 0);
  cluster.system.host_memory = Bytes(1.001 * fewest->host_memory_used.value() * gpus_per_node);
  Result<StepEstimate> bounded = EstimateStepFewestOffloadLayers(job, cluster, Plan(2, 1, 4, 8));
  ASSERT_TRUE(bounded.ok()) << bounded.status().ToString();
  EXPECT_TRUE(bounded->fits_in_memory);
  EXPECT_EQ(bounded->offload_layers, fewest->offload_layers);
  cluster.system.host_memory = Bytes(0.999 * fewest->host_memory_used.value() * gpus_per_node);
  Result<StepEstimate> overflow = EstimateStepFewestOffloadLayers(job, cluster, Plan(2, 1, 4, 8));
  ASSERT_TRUE(overflow.ok()) << overflow.status().ToString();
  EXPECT_FALSE(overflow->fits_in_memory);
}

// Megatron-Core TransformerConfig refuses cpu_offloading with pipeline parallelism, with any
// activation recompute, with per-layer CUDA graphs, and for as many layers as the model has.
TEST(StepModel, ActivationOffloadKeepsMegatronCoreRules) {
  const TrainingJob job = Job(Llama3_8B(), 8192, 64);
  Cluster cluster = H100Cluster(8);
  cluster.system.host_link_bandwidth = BytesPerSecond(63e9);
  auto refused = [&](ParallelPlan p, const std::string& words) {
    Result<StepEstimate> e = EstimateStep(job, cluster, p);
    ASSERT_FALSE(e.ok()) << p.ToString();
    EXPECT_NE(e.status().message().find(words), std::string::npos) << e.status().message();
    EXPECT_FALSE(OffloadAllowed(p) && p.recompute == Recompute::kNone && p.offload_layers < job.model.layers)
        << p.ToString();
  };
  ParallelPlan ok = Plan(2, 1, 4, 4);
  ok.offload_layers = 8;
  EXPECT_TRUE(OffloadAllowed(ok));
  ASSERT_TRUE(EstimateStep(job, cluster, ok).ok());
  ParallelPlan pp = Plan(2, 2, 2, 4);
  pp.offload_layers = 4;
  refused(pp, "pipeline parallelism");
  ParallelPlan selective = ok;
  selective.recompute = Recompute::kSelective;
  refused(selective, "selective recompute");
  ParallelPlan graphs = ok;
  graphs.cuda_graph_modules = kGraphAttn;
  refused(graphs, "per-layer CUDA graphs");
  ParallelPlan every = ok;
  every.offload_layers = job.model.layers;
  refused(every, "fewer than the model's layers (32)");
  // Whole-iteration graphs are allowed.
  ParallelPlan whole = ok;
  whole.cuda_graphs = true;
  EXPECT_TRUE(EstimateStep(job, cluster, whole).ok());

  // With pipeline stages the lightest choice that fits is recompute, never offload; on one stage
  // offload takes at most layers - 1.
  auto staged = EstimateStepLightestRecompute(job, cluster, Plan(1, 2, 4, 8));
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_EQ(staged->offload_layers, 0);
  EXPECT_NE(staged->recompute, Recompute::kNone);
  Result<StepEstimate> most = EstimateStepFewestOffloadLayers(job, cluster, Plan(1, 1, 8, 8));
  ASSERT_TRUE(most.ok()) << most.status().ToString();
  EXPECT_LE(most->offload_layers, job.model.layers - 1);
}

// ---------------------------------------------------------------- activation memory

// Korthikanti et al. 2022 (arXiv 2205.05198) sec. 4.3: with full recompute each layer keeps only
// its input, 2sbh bytes, split t ways by sequence parallelism.
TEST(ActivationMemory, FullRecomputeKeepsTheLayerInput) {
  const int s = 2048, h = 4096;
  for (int layers : {1, 4}) {
    for (int t : {1, 2, 4, 8}) {
      for (int b : {1, 2, 4}) {
        ParallelPlan plan = Plan(t, 1, 1, b);
        plan.recompute = Recompute::kFull;
        const StepEstimate e = Estimate(Job(GptLayers(layers), s, b), H100Cluster(t), plan);
        EXPECT_REL_NEAR(Activations(e), layers * 2.0 * s * b * h / t, 1e-12)
            << layers << " layers, t " << t << ", b " << b;
      }
    }
  }
}

// The first pipeline stage's peak, from the warm-up of Megatron-Core's schedules: 1F1B keeps pp
// micro-batches of its 1/pp of the layers, as much as the unpipelined model keeps for one; the
// interleaved schedule 1 + (pp - 1) / (pp vp) times that.
TEST(ActivationMemory, PipelineFirstStageHoldsItsWarmUpMicroBatches) {
  const int s = 2048, layers = 16;
  const TrainingJob job = Job(GptLayers(layers), s, 64);
  const double whole = Activations(Estimate(job, H100Cluster(1), Plan(1, 1, 1)));
  ASSERT_GT(whole, 0);
  for (int pp : {2, 4, 8}) {
    ParallelPlan plan = Plan(1, pp, 1);
    EXPECT_REL_NEAR(Activations(Estimate(job, H100Cluster(pp), plan)), whole, 1e-12) << "pp " << pp;
    for (int vp : {2}) {
      plan.vp = vp;
      EXPECT_REL_NEAR(Activations(Estimate(job, H100Cluster(pp), plan)), whole * (1.0 + (pp - 1.0) / (pp * vp)), 1e-12)
          << "pp " << pp << " vp " << vp;
    }
  }
  // Fewer micro-batches than stages: only those are in flight.
  const TrainingJob few = Job(GptLayers(layers), s, 2);
  EXPECT_REL_NEAR(Activations(Estimate(few, H100Cluster(4), Plan(1, 4, 1))), whole / 2, 1e-12);
}

TEST(ActivationMemory, ScalesAsOneOverTensorParallelism) {
  for (Recompute r : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
    ParallelPlan plan = Plan(1, 1, 1);
    plan.recompute = r;
    const double one = Activations(Estimate(Job(Llama3_8B(), 4096, 1), H100Cluster(1), plan));
    ASSERT_GT(one, 0);
    for (int t : {2, 4, 8}) {  // up to the 8 KV heads of the model
      plan.tp = t;
      const double split = Activations(Estimate(Job(Llama3_8B(), 4096, 1), H100Cluster(t), plan));
      EXPECT_REL_NEAR(split * t, one, 1e-12) << RecomputeName(r) << ", t " << t;
    }
  }
}

TEST(ActivationMemory, KvHeadsReplicateBeyondTheirCount) {
  Model m = Llama3_8B();
  m.kv_heads = 4;  // tp 8 splits 32 query heads but must replicate the 4 KV heads
  const double one = Activations(Estimate(Job(m, 4096, 1), H100Cluster(1), Plan(1, 1, 1)));
  const double eight = Activations(Estimate(Job(m, 4096, 1), H100Cluster(8), Plan(8, 1, 1)));
  EXPECT_GT(eight, one / 8);
  EXPECT_LT(eight, one / 4);
}

TEST(ActivationMemory, LinearInMicroBatch) {
  for (Recompute r : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
    ParallelPlan plan = Plan(2, 1, 1, 1);
    plan.recompute = r;
    const double one = Activations(Estimate(Job(Llama3_8B(), 4096, 8), H100Cluster(2), plan));
    for (int b : {2, 4, 8}) {
      plan.micro_batch = b;
      const double many = Activations(Estimate(Job(Llama3_8B(), 4096, 8), H100Cluster(2), plan));
      EXPECT_REL_NEAR(many, b * one, 1e-12) << RecomputeName(r) << ", b " << b;
    }
  }
}

// Korthikanti et al. 2022 eq. for tensor + sequence parallelism with selective recompute:
// 34 sbh/t bytes per layer, which also counts dropout masks that a fused, dropout-free layer does
// not keep; the tensor-by-tensor count here must not exceed it.
TEST(ActivationMemory, GptLayerStaysWithinTheSelectiveRecomputeFigure) {
  const int s = 2048, h = 4096, t = 4, b = 1;
  ParallelPlan plan = Plan(t, 1, 1, b);
  plan.recompute = Recompute::kSelective;
  const StepEstimate e = Estimate(Job(GptLayers(1), s, b), H100Cluster(t), plan);
  EXPECT_LE(Activations(e), 34.0 * s * b * h / t);
  EXPECT_GT(Activations(e), 2.0 * s * b * h / t);
}

// ---------------------------------------------------------------- plan search

TEST(PlanSearch, BestPlanIsValidFitsAndIsTheFastestFeasible) {
  TrainingJob job = Job(Llama3_8B(), 8192, 256);
  Cluster cluster = H100Cluster(64);
  SearchOptions options;
  options.top = 1000000;
  Result<SearchResult> r = SearchPlans(job, cluster, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->best.empty());
  EXPECT_EQ(static_cast<long long>(r->best.size()), r->feasible);
  for (size_t i = 0; i < r->best.size(); ++i) {
    EXPECT_TRUE(ValidatePlan(job, cluster, r->best[i].plan).ok()) << r->best[i].plan.ToString();
    EXPECT_TRUE(r->best[i].estimate.fits_in_memory);
    if (i > 0) {
      EXPECT_LE(r->best[i - 1].estimate.step_time, r->best[i].estimate.step_time);
    }
  }
  // Every rejection has a reason; each feasible plan took at least one estimate.
  EXPECT_GE(r->evaluated, r->feasible);
  EXPECT_FALSE(r->rejected.empty());
  for (const auto& [why, n] : r->rejected) {
    EXPECT_FALSE(why.empty());
    EXPECT_GT(n, 0);
  }
}

TEST(PlanSearch, SameResultForAnyThreadCount) {
  TrainingJob job = Job(SmallMoe(), 4096, 512);
  Cluster cluster = H100Cluster(64);
  SearchOptions one;
  one.top = 50;
  SearchOptions four = one;
  four.threads = 4;
  Result<SearchResult> a = SearchPlans(job, cluster, one);
  Result<SearchResult> b = SearchPlans(job, cluster, four);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->evaluated, b->evaluated);
  EXPECT_EQ(a->feasible, b->feasible);
  EXPECT_EQ(a->rejected, b->rejected);
  ASSERT_EQ(a->best.size(), b->best.size());
  for (size_t i = 0; i < a->best.size(); ++i) {
    EXPECT_EQ(a->best[i].plan.ToString(), b->best[i].plan.ToString());
    EXPECT_EQ(a->best[i].estimate.step_time, b->best[i].estimate.step_time);
  }
}

TEST(PlanSearch, CountsTheFittingPlansFasterThanAGivenStep) {
  TrainingJob job = Job(SmallMoe(), 4096, 512);
  Cluster cluster = H100Cluster(64);
  SearchOptions all;
  all.top = 1000000;
  Result<SearchResult> every = SearchPlans(job, cluster, all);
  ASSERT_TRUE(every.ok());
  ASSERT_GT(every->feasible, 10);
  EXPECT_EQ(every->faster, 0);  // nothing asked, nothing counted
  // Take the tenth plan's step as the threshold: the plans strictly faster than it are counted.
  const double threshold = every->best[9].estimate.step_time.value();
  const long long expected = std::count_if(every->best.begin(), every->best.end(), [&](const RankedPlan& r) {
    return r.estimate.step_time.value() < threshold;
  });
  EXPECT_GT(expected, 0);
  EXPECT_LE(expected, 9);
  for (int threads : {1, 3}) {
    SearchOptions o;
    o.top = 1;  // the count covers every fitting plan, not only the ones kept
    o.threads = threads;
    o.count_faster_than_s = threshold;
    Result<SearchResult> r = SearchPlans(job, cluster, o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->faster, expected) << threads << " threads";
    EXPECT_EQ(r->feasible, every->feasible);
  }
}

TEST(PlanSearch, ScheduleRejectionNamesTheRuleAPlanBreaks) {
  const TrainingJob job = Job(Llama3_8B(), 8192, 48);
  EXPECT_EQ(ScheduleRejection(job, 8, 2, 1, 2), nullptr);  // 48 = 3 x (2 x 8)
  EXPECT_STREQ(ScheduleRejection(job, 8, 2, 1, 4), "global batch not divisible by micro_batch*dp");
  EXPECT_STREQ(ScheduleRejection(job, 8, 1, 2, 1), "interleaved schedule needs pp > 1");
  // 6 micro-batches on 4 stages cannot interleave; on 2 or 3 they can.
  EXPECT_STREQ(ScheduleRejection(job, 8, 4, 2, 1), "interleaved schedule needs micro-batches divisible by pp");
  EXPECT_EQ(ScheduleRejection(job, 8, 3, 2, 1), nullptr);
  EXPECT_STREQ(ScheduleRejection(job, 0, 2, 1, 1), "global batch not divisible by micro_batch*dp");
}

TEST(PlanSearch, FrameworkSettingsGoWhereThePlanAllowsThem) {
  TrainingJob job = Job(SmallMoe(), 4096, 512);
  Cluster cluster = H100Cluster(64);
  SearchOptions o;
  o.top = 1000000;
  o.ep_overlap = true;
  o.cuda_graphs = true;
  Result<SearchResult> r = SearchPlans(job, cluster, o);
  ASSERT_TRUE(r.ok());
  // Per-layer graphs go to every plan too, and no plan is slower for them.
  SearchOptions modules = o;
  modules.cuda_graphs = false;
  modules.cuda_graph_modules = kGraphAttn | kGraphMoeRouter;
  Result<SearchResult> per_layer = SearchPlans(job, cluster, modules);
  ASSERT_TRUE(per_layer.ok());
  for (const RankedPlan& p : per_layer->best) {
    EXPECT_EQ(p.plan.cuda_graph_modules, modules.cuda_graph_modules) << p.plan.ToString();
    EXPECT_TRUE(HasText(p.plan.ToString(), "graphs=attn+moe_router")) << p.plan.ToString();
  }
  int overlapped = 0;
  for (const RankedPlan& p : r->best) {
    EXPECT_TRUE(p.plan.cuda_graphs) << p.plan.ToString();
    const bool allowed = p.plan.ep > 1 && (p.plan.pp == 1 || p.plan.vp > 1) && p.plan.recompute != Recompute::kFull;
    EXPECT_EQ(EpOverlapAllowed(p.plan), allowed) << p.plan.ToString();
    EXPECT_EQ(p.plan.ep_overlap, allowed) << p.plan.ToString();
    EXPECT_EQ(p.plan.ep_overlap, p.estimate.ep_overlap) << p.plan.ToString();
    EXPECT_TRUE(ValidatePlan(job, cluster, p.plan).ok()) << p.plan.ToString();
    overlapped += p.plan.ep_overlap;
  }
  EXPECT_GT(overlapped, 0);
  // Without them no plan has either, and the best plan is no faster.
  Result<SearchResult> plain = SearchPlans(job, cluster, SearchOptions{});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->best.front().plan.ep_overlap || plain->best.front().plan.cuda_graphs);
  EXPECT_LE(r->best.front().estimate.step_time, plain->best.front().estimate.step_time);
}

TEST(PlanSearch, TensorParallelGroupsStayInsideTheirNvlinkDomain) {
  // A domain of 72 (an NVL72 rack): tp 16 would put the fifth group of every rack across two
  // racks (GPUs 64-79), so it is rejected; tp 8 divides 72 and stays.
  Cluster cluster = H100Cluster(144);
  cluster.system.nvlink_domain = 72;
  SearchOptions o;
  o.top = 1000;
  Result<SearchResult> r = SearchPlans(Job(Llama3_405B(), 8192, 144), cluster, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->best.empty());
  EXPECT_GT(r->rejected.at("tp groups would straddle NVLink domains"), 0);
  bool tp8 = false;
  for (const auto& p : r->best) {
    EXPECT_EQ(72 % p.plan.tp, 0) << p.plan.ToString();
    tp8 = tp8 || p.plan.tp == 8;
  }
  EXPECT_TRUE(tp8);
}

TEST(PlanSearch, ModelTooLargeForTheClusterHasNoFeasiblePlan) {
  // The hand-built cluster has no host link, so nothing is offloaded; with one, offload is tried too.
  Result<SearchResult> r = SearchPlans(Job(Llama3_405B(), 8192, 8), H100Cluster(8), SearchOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->best.empty());
  EXPECT_GT(r->rejected.at("out of memory (even with full recompute)"), 0);
  Cluster linked = H100Cluster(8);
  linked.system.host_link_bandwidth = BytesPerSecond(63e9);
  r = SearchPlans(Job(Llama3_405B(), 8192, 8), linked, SearchOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->best.empty());
  EXPECT_GT(r->rejected.at("out of memory (even with full recompute or activation offload)"), 0);
}

TEST(PlanSearch, CandidateSetsAndLimitsBoundEveryPlan) {
  TrainingJob job = Job(SmallMoe(), 4096, 512);
  Cluster cluster = H100Cluster(64);
  SearchOptions all;
  all.top = 1000000;
  SearchOptions narrow = all;
  narrow.micro_batches = {1, 2};
  narrow.virtual_stages = {1};
  narrow.context_parallel = {1};
  narrow.zero_stages = {1};
  narrow.max_tp = 2;
  narrow.max_pp = 2;
  narrow.max_ep = 4;
  Result<SearchResult> a = SearchPlans(job, cluster, all);
  Result<SearchResult> b = SearchPlans(job, cluster, narrow);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_FALSE(b->best.empty());
  EXPECT_LT(b->evaluated, a->evaluated);
  for (const auto& r : b->best) {
    const ParallelPlan& p = r.plan;
    EXPECT_LE(p.micro_batch, 2) << p.ToString();
    EXPECT_EQ(p.vp, 1) << p.ToString();
    EXPECT_EQ(p.cp, 1) << p.ToString();
    EXPECT_EQ(p.zero_stage, 1) << p.ToString();
    EXPECT_LE(p.tp, 2) << p.ToString();
    EXPECT_LE(p.pp, 2) << p.ToString();
    EXPECT_LE(p.ep, 4) << p.ToString();
  }
  // The narrow search's plans are among the full search's, so its best is no faster.
  EXPECT_GE(b->best.front().estimate.step_time, a->best.front().estimate.step_time);
}

TEST(PlanSearch, OffloadOnlyWhereAllowed) {
  // Llama 3 8B at 8K on one 8-GPU server without recompute: the larger micro-batches fit only by
  // sending activations to host memory.
  TrainingJob job = Job(Llama3_8B(), 8192, 64);
  Cluster cluster = H100Cluster(8);
  cluster.system.host_link_bandwidth = BytesPerSecond(63e9);
  SearchOptions o;
  o.top = 1000000;
  o.recompute = {Recompute::kNone};
  Result<SearchResult> with = SearchPlans(job, cluster, o);
  o.offload = false;
  Result<SearchResult> without = SearchPlans(job, cluster, o);
  ASSERT_TRUE(with.ok() && without.ok());
  auto offloads = [](const SearchResult& r) {
    return std::count_if(r.best.begin(), r.best.end(), [](const RankedPlan& p) { return p.plan.offload_layers > 0; });
  };
  EXPECT_GT(offloads(*with), 0);
  EXPECT_EQ(offloads(*without), 0);
  EXPECT_GT(without->rejected.at("out of memory (with the recompute modes allowed)"), 0);
  EXPECT_EQ(with->feasible, without->feasible + offloads(*with));
  for (const auto& p : with->best) EXPECT_EQ(p.plan.recompute, Recompute::kNone) << p.plan.ToString();
  // Every offloading plan keeps Megatron-Core's rules: one pipeline stage, no per-layer graphs.
  for (const auto& p : with->best) {
    if (p.plan.offload_layers > 0) {
      EXPECT_TRUE(OffloadAllowed(p.plan)) << p.plan.ToString();
    }
  }
  // Plans with pipeline stages that do not fit are not said to have tried offload.
  EXPECT_GT(with->rejected.count("out of memory (with the recompute modes allowed)"), 0u);
}

TEST(PlanSearch, MemoryReserveComesOffTheCapacity) {
  TrainingJob job = Job(Llama3_8B(), 8192, 64);
  Cluster cluster = H100Cluster(8);
  SearchOptions o;
  o.top = 1000000;
  Result<SearchResult> full = SearchPlans(job, cluster, o);
  cluster.memory_reserve = Bytes(20e9);
  Result<SearchResult> reserved = SearchPlans(job, cluster, o);
  ASSERT_TRUE(full.ok() && reserved.ok());
  ASSERT_FALSE(reserved->best.empty());
  for (const auto& p : reserved->best) {
    EXPECT_EQ(p.estimate.memory_capacity.value(), 60e9);
    EXPECT_EQ(p.estimate.memory_reserve.value(), 20e9);
    EXPECT_LE(p.estimate.memory_total.value(), 60e9) << p.plan.ToString();
  }
  // Some plan that fit in 80 GB needs more recompute, or does not fit, in 60.
  bool squeezed = false;
  for (const auto& p : full->best) squeezed = squeezed || p.estimate.memory_total.value() > 60e9;
  EXPECT_TRUE(squeezed);
  EXPECT_GE(reserved->best.front().estimate.step_time, full->best.front().estimate.step_time);
  // The explanation says what is held back.
  EXPECT_NE(ExplainStep(reserved->best.front().estimate).find("(20.0 GB of HBM held in reserve)"), std::string::npos);
}

}  // namespace
}  // namespace aif::train
