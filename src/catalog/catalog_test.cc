#include "aifactory/catalog/catalog.h"

#include <gtest/gtest.h>

#include <string>

#include "aifactory/catalog/hardware.h"
#include "aifactory/catalog/model.h"
#include "aifactory/catalog/precision.h"
#include "aifactory_test/text.h"

namespace aif::catalog {
namespace {

using ::aif::testing::HasText;

// A dense GQA shape that passes Validate(); tests change one field at a time.
Model DenseModel() {
  Model m;
  m.id = "dense";
  m.layers = 4;
  m.hidden = 256;
  m.heads = 8;
  m.kv_heads = 2;
  m.head_dim = 32;
  m.ffn_hidden = 1024;
  m.vocab = 1000;
  return m;
}

// DeepSeek-V3's layer layout: 61 layers, the first 3 with a dense MLP, every other one MoE.
Model DeepSeekLike() {
  Model m = DenseModel();
  m.id = "deepseek-like";
  m.layers = 61;
  MoeSpec e;
  e.experts = 256;
  e.top_k = 8;
  e.expert_ffn_hidden = 64;
  e.dense_layers = 3;
  e.layer_freq = 1;
  m.moe = e;
  return m;
}

// Llama 4 Maverick's layout: MoE and dense MLPs alternate, layer 0 dense, layer 1 MoE, ...
Model Llama4Like() {
  Model m = DenseModel();
  m.id = "llama4-like";
  m.layers = 48;
  MoeSpec e;
  e.experts = 128;
  e.top_k = 1;
  e.expert_ffn_hidden = 64;
  e.shared_experts = 1;
  e.shared_expert_ffn_hidden = 64;
  e.dense_layers = 0;
  e.layer_freq = 2;
  m.moe = e;
  return m;
}

Accelerator MakeAccelerator(const std::string& id) {
  Accelerator a;
  a.id = id;
  a.peak_bf16 = FlopsPerSecond(989e12);
  a.hbm_capacity = Bytes(80e9);
  a.hbm_bandwidth = BytesPerSecond(3.35e12);
  return a;
}

TEST(ModelLayout, DenseModelHasNoMoeLayers) {
  Model m = DenseModel();
  EXPECT_FALSE(m.is_moe());
  EXPECT_EQ(m.MoeLayerCount(), 0);
  for (int l = 0; l < m.layers; ++l) EXPECT_FALSE(m.IsMoeLayer(l)) << "layer " << l;
}

TEST(ModelLayout, LeadingDenseLayersThenEveryLayerMoe) {
  Model m = DeepSeekLike();
  ASSERT_TRUE(m.is_moe());
  EXPECT_EQ(m.MoeLayerCount(), 58);
  for (int l = 0; l < 3; ++l) EXPECT_FALSE(m.IsMoeLayer(l)) << "layer " << l;
  for (int l = 3; l < 61; ++l) EXPECT_TRUE(m.IsMoeLayer(l)) << "layer " << l;
}

TEST(ModelLayout, LayerFrequencyTwoPutsMoeOnOddLayers) {
  Model m = Llama4Like();
  EXPECT_EQ(m.MoeLayerCount(), 24);
  for (int l = 0; l < m.layers; ++l) EXPECT_EQ(m.IsMoeLayer(l), l % 2 == 1) << "layer " << l;
}

TEST(ModelLayout, ZeroExpertsIsNotMoe) {
  Model m = DenseModel();
  m.moe = MoeSpec{};  // present but empty
  EXPECT_FALSE(m.is_moe());
  EXPECT_EQ(m.MoeLayerCount(), 0);
}

TEST(ModelLayout, MlaHeadDims) {
  Model m = DenseModel();
  EXPECT_EQ(m.QkHeadDim(), 32);
  EXPECT_EQ(m.VHeadDim(), 32);
  MlaSpec a;
  a.kv_lora_rank = 512;
  a.qk_nope_head_dim = 128;
  a.qk_rope_head_dim = 64;
  a.v_head_dim = 128;
  m.mla = a;
  EXPECT_EQ(m.QkHeadDim(), 192);
  EXPECT_EQ(m.VHeadDim(), 128);
}

TEST(ModelValidate, ShapesFromTheTestsAreValid) {
  EXPECT_TRUE(DenseModel().Validate().ok()) << DenseModel().Validate().ToString();
  EXPECT_TRUE(DeepSeekLike().Validate().ok()) << DeepSeekLike().Validate().ToString();
  EXPECT_TRUE(Llama4Like().Validate().ok()) << Llama4Like().Validate().ToString();
}

TEST(ModelValidate, HeadsMustBeMultipleOfKvHeads) {
  Model m = DenseModel();
  m.heads = 8;
  m.kv_heads = 3;
  Status s = m.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(s.message(), "heads (8) must be a multiple of kv_heads (3)"));
  EXPECT_TRUE(HasText(s.message(), "'dense'"));
}

TEST(ModelValidate, TopKMustNotExceedExperts) {
  Model m = DeepSeekLike();
  m.moe->experts = 8;
  m.moe->top_k = 9;
  Status s = m.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(s.message(), "moe.top_k (9) exceeds moe.experts (8)"));
}

TEST(ModelValidate, NonPositiveFieldIsNamed) {
  Model m = DenseModel();
  m.hidden = 0;
  Status s = m.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasText(s.message(), "hidden must be positive, got 0"));

  m = DenseModel();
  m.vocab = -5;
  s = m.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasText(s.message(), "vocab must be positive, got -5"));
}

TEST(ModelValidate, DenseLayersBeyondLayerCountRejected) {
  Model m = DeepSeekLike();
  m.moe->dense_layers = 62;
  Status s = m.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasText(s.message(), "moe.dense_layers"));
}

TEST(ModelValidate, AllMoeModelNeedsNoDenseFfn) {
  Model m = Llama4Like();
  m.moe->layer_freq = 1;  // every layer MoE: the dense MLP width is unused
  m.ffn_hidden = 0;
  EXPECT_TRUE(m.Validate().ok()) << m.Validate().ToString();
}

// Regression: ffn_hidden is only required when
// moe.dense_layers > 0, but with moe.layer_freq > 1 the layers between MoE layers are dense too,
// so a zero-width dense MLP is accepted.
TEST(ModelValidate, InterleavedMoeNeedsDenseFfn) {
  Model m = Llama4Like();  // layer_freq 2: 24 dense layers
  m.ffn_hidden = 0;
  Status s = m.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasText(s.message(), "ffn_hidden"));
}

TEST(CatalogLookup, FindsById) {
  Catalog c;
  ASSERT_TRUE(c.Add(MakeAccelerator("h100-sxm")).ok());
  ASSERT_TRUE(c.Add(MakeAccelerator("h200")).ok());
  auto a = c.FindAccelerator("h200");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->id, "h200");
}

TEST(CatalogLookup, UnknownIdSuggestsNearest) {
  Catalog c;
  for (const char* id : {"h100-sxm", "h200", "b200", "gb200"}) {
    ASSERT_TRUE(c.Add(MakeAccelerator(id)).ok());
  }
  auto a = c.FindAccelerator("h100-sx");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(HasText(a.status().message(), "unknown accelerator 'h100-sx'"));
  EXPECT_TRUE(HasText(a.status().message(), "did you mean 'h100-sxm'"));
}

TEST(CatalogLookup, FarOffIdHasNoSuggestion) {
  Catalog c;
  ASSERT_TRUE(c.Add(MakeAccelerator("h100-sxm")).ok());
  auto a = c.FindAccelerator("tpu-v9-ultra");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(a.status().message().find("did you mean"), std::string::npos) << a.status().message();
}

TEST(CatalogLookup, ModelsSystemsFabricsSuggestToo) {
  Catalog c;
  Model m = DenseModel();
  m.id = "llama3-8b";
  ASSERT_TRUE(c.Add(m).ok());
  Fabric f;
  f.id = "ib-ndr";
  ASSERT_TRUE(c.Add(f).ok());
  System s;
  s.id = "dgx-h100";
  ASSERT_TRUE(c.Add(s).ok());

  auto model = c.FindModel("llama3-8bb");
  ASSERT_FALSE(model.ok());
  EXPECT_TRUE(HasText(model.status().message(), "did you mean 'llama3-8b'"));
  auto fabric = c.FindFabric("ib-nd");
  ASSERT_FALSE(fabric.ok());
  EXPECT_TRUE(HasText(fabric.status().message(), "did you mean 'ib-ndr'"));
  auto system = c.FindSystem("dgx-h10");
  ASSERT_FALSE(system.ok());
  EXPECT_TRUE(HasText(system.status().message(), "did you mean 'dgx-h100'"));
}

TEST(CatalogAdd, DuplicateAndEmptyIdsRejected) {
  Catalog c;
  ASSERT_TRUE(c.Add(MakeAccelerator("h100-sxm")).ok());
  Status dup = c.Add(MakeAccelerator("h100-sxm"));
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(HasText(dup.message(), "duplicate accelerator id 'h100-sxm'"));
  Status empty = c.Add(MakeAccelerator(""));
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(HasText(empty.message(), "without an id"));
}

TEST(CatalogAdd, InvalidModelRejected) {
  Catalog c;
  Model m = DenseModel();
  m.kv_heads = 3;
  EXPECT_FALSE(c.Add(m).ok());
  EXPECT_TRUE(c.models().empty());
}

TEST(CatalogLookup, MissingCalibrationIsUnsupported) {
  Catalog c;
  ASSERT_TRUE(c.Add(MakeAccelerator("h100-sxm")).ok());
  auto e = c.FindEfficiency("h100-sxm");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnsupported);
  EXPECT_TRUE(HasText(e.status().message(), "h100-sxm"));
}

TEST(CatalogLookup, DefaultSystemPrefersLargerNvlinkDomain) {
  Catalog c;
  ASSERT_TRUE(c.Add(MakeAccelerator("gb200")).ok());
  System hgx;
  hgx.id = "a-hgx";
  hgx.accelerator = "gb200";
  hgx.nvlink_domain = 8;
  System nvl;
  nvl.id = "b-nvl72";
  nvl.accelerator = "gb200";
  nvl.nvlink_domain = 72;
  ASSERT_TRUE(c.Add(hgx).ok());
  ASSERT_TRUE(c.Add(nvl).ok());
  auto s = c.DefaultSystemFor("gb200");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->id, "b-nvl72");

  ASSERT_TRUE(c.Add(MakeAccelerator("lonely")).ok());
  auto none = c.DefaultSystemFor("lonely");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(c.DefaultSystemFor("gb20").ok());
}

TEST(CatalogReferences, SystemNamingUnknownFabricFails) {
  Catalog c;
  ASSERT_TRUE(c.Add(MakeAccelerator("h100-sxm")).ok());
  System s;
  s.id = "dgx-h100";
  s.accelerator = "h100-sxm";
  s.scale_out_fabric = "ib-nd";
  ASSERT_TRUE(c.Add(s).ok());
  Fabric f;
  f.id = "ib-ndr";
  ASSERT_TRUE(c.Add(f).ok());
  Status st = c.CheckReferences();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(HasText(st.message(), "system 'dgx-h100'"));
  EXPECT_TRUE(HasText(st.message(), "did you mean 'ib-ndr'"));
}

KernelShapes SmallShapes() {
  KernelShapes k;
  k.id = "measured";
  k.m = {128, 256};
  k.n = {512};
  k.k = {512};
  k.gemm_16bit = {0.4, 0.8};
  k.peak_16bit = FlopsPerSecond(1e15);
  k.bandwidth = BytesPerSecond(4e12);
  return k;
}

TEST(KernelShapesAdd, GridsAreChecked) {
  Catalog c;
  KernelShapes unsorted = SmallShapes();
  unsorted.m = {256, 128};
  Status st = c.Add(unsorted);
  EXPECT_TRUE(HasText(st.message(), "kernel shapes 'measured': m, n, k and seq must be positive and ascending")) << st.message();
  KernelShapes short_grid = SmallShapes();
  short_grid.gemm_8bit = {0.5};
  st = c.Add(short_grid);
  EXPECT_TRUE(HasText(st.message(), "a GEMM grid needs m x n x k = 2 efficiencies, has 1")) << st.message();
  KernelShapes above_one = SmallShapes();
  above_one.gemm_16bit = {0.4, 1.2};
  EXPECT_TRUE(HasText(c.Add(above_one).message(), "efficiencies must be in (0, 1]"));
  KernelShapes no_roofline = SmallShapes();
  no_roofline.bandwidth = BytesPerSecond(0);
  EXPECT_TRUE(HasText(c.Add(no_roofline).message(), "needs the measured machine's peak of its format and bandwidth"));
  KernelShapes attention = SmallShapes();
  attention.full_seq = {2048, 4096};
  attention.full = {0.5};
  EXPECT_TRUE(HasText(c.Add(attention).message(), "attention needs one efficiency in (0, 1] per seq"));
  ASSERT_TRUE(c.Add(SmallShapes()).ok());
  EXPECT_DOUBLE_EQ(c.kernel_shapes().at("measured")->best_16bit, 0.8);
  EXPECT_TRUE(HasText(c.Add(SmallShapes()).message(), "duplicate kernel shapes id 'measured'"));
}

TEST(KernelShapesAdd, CalibrationsFindTheirTableInEitherOrder) {
  Catalog c;
  ASSERT_TRUE(c.Add(MakeAccelerator("h100-sxm")).ok());
  ASSERT_TRUE(c.Add(MakeAccelerator("h200")).ok());
  KernelEfficiency before;
  before.accelerator = "h100-sxm";
  before.kernel_shapes_id = "measured";
  ASSERT_TRUE(c.Add(before).ok());
  ASSERT_TRUE(c.Add(SmallShapes()).ok());
  KernelEfficiency after = before;
  after.accelerator = "h200";
  ASSERT_TRUE(c.Add(after).ok());
  for (const char* id : {"h100-sxm", "h200"}) {
    auto e = c.FindEfficiency(id);
    ASSERT_TRUE(e.ok());
    ASSERT_NE((*e)->kernel_shapes, nullptr) << id;
    EXPECT_EQ((*e)->kernel_shapes->id, "measured");
  }
  EXPECT_TRUE(c.CheckReferences().ok());
  // A calibration naming a table the catalog lacks: at the check, and when a user's file replaces one.
  KernelEfficiency typo = before;
  typo.kernel_shapes_id = "measure";
  Status st = c.SetEfficiency(typo);
  EXPECT_TRUE(HasText(st.message(), "unknown kernel shapes 'measure' (did you mean 'measured'?)")) << st.message();
  Catalog lacking;
  ASSERT_TRUE(lacking.Add(MakeAccelerator("h100-sxm")).ok());
  ASSERT_TRUE(lacking.Add(typo).ok());
  st = lacking.CheckReferences();
  EXPECT_TRUE(HasText(st.message(), "calibration of 'h100-sxm': unknown kernel shapes 'measure'")) << st.message();
  // Without a table the replaced calibration has none.
  KernelEfficiency plain = before;
  plain.kernel_shapes_id.clear();
  ASSERT_TRUE(c.SetEfficiency(plain).ok());
  EXPECT_EQ((*c.FindEfficiency("h100-sxm"))->kernel_shapes, nullptr);
}

TEST(AcceleratorPeak, PrecisionsMapToTheirPeaks) {
  Accelerator a = MakeAccelerator("x");
  a.peak_fp16 = FlopsPerSecond(900e12);
  a.peak_fp8 = FlopsPerSecond(1979e12);
  a.peak_fp4 = FlopsPerSecond(4000e12);
  EXPECT_DOUBLE_EQ(a.Peak(Precision::kBf16)->value(), 989e12);
  EXPECT_DOUBLE_EQ(a.Peak(Precision::kFp16)->value(), 900e12);
  EXPECT_DOUBLE_EQ(a.Peak(Precision::kFp8)->value(), 1979e12);
  EXPECT_DOUBLE_EQ(a.Peak(Precision::kMxfp8)->value(), 1979e12);
  EXPECT_DOUBLE_EQ(a.Peak(Precision::kNvfp4)->value(), 4000e12);
}

TEST(AcceleratorPeak, Fp16FallsBackToBf16) {
  Accelerator a = MakeAccelerator("x");  // no fp16 peak given
  auto p = a.Peak(Precision::kFp16);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_DOUBLE_EQ(p->value(), 989e12);
}

TEST(AcceleratorPeak, MissingPrecisionIsAnErrorNamingIt) {
  Accelerator a = MakeAccelerator("a100-like");  // bf16 only
  for (Precision p : {Precision::kFp8, Precision::kMxfp8, Precision::kNvfp4}) {
    auto r = a.Peak(p);
    ASSERT_FALSE(r.ok()) << PrecisionName(p);
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_TRUE(HasText(r.status().message(), "'a100-like'"));
    EXPECT_TRUE(HasText(r.status().message(), PrecisionName(p)));
  }
  Accelerator empty;
  empty.id = "blank";
  auto r = empty.Peak(Precision::kBf16);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasText(r.status().message(), "bf16"));
}

TEST(Precision, ParseRoundTripsAndRejectsUnknown) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kFp16, Precision::kFp8,
                      Precision::kMxfp8, Precision::kNvfp4}) {
    auto parsed = ParsePrecision(PrecisionName(p));
    ASSERT_TRUE(parsed.ok()) << PrecisionName(p);
    EXPECT_EQ(*parsed, p);
  }
  auto bad = ParsePrecision("int4");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasText(bad.status().message(), "'int4'"));
}

TEST(Precision, OperandBytesIncludeBlockScales) {
  EXPECT_DOUBLE_EQ(OperandBytes(Precision::kBf16), 2);
  EXPECT_DOUBLE_EQ(OperandBytes(Precision::kFp8), 1);
  EXPECT_DOUBLE_EQ(OperandBytes(Precision::kMxfp8), 1 + 1.0 / 32);
  EXPECT_DOUBLE_EQ(OperandBytes(Precision::kNvfp4), 0.5 + 1.0 / 16);
}

TEST(Precision, TrainingWeightBytesCountBothDirections) {
  // 16-bit weights are used as stored; no quantized copy.
  EXPECT_DOUBLE_EQ(TrainingWeightBytes(Precision::kBf16, true), 0);
  // Per-tensor FP8: one copy where GEMMs read either layout, a transposed second one on Hopper.
  EXPECT_DOUBLE_EQ(TrainingWeightBytes(Precision::kFp8, false), 1);
  EXPECT_DOUBLE_EQ(TrainingWeightBytes(Precision::kFp8, true), 2);
  // Block-scaled formats: a row-wise and a column-wise copy, each with its scales, anywhere.
  for (bool tn_only : {false, true}) {
    EXPECT_DOUBLE_EQ(TrainingWeightBytes(Precision::kMxfp8, tn_only), 2 * (1 + 1.0 / 32));
    EXPECT_DOUBLE_EQ(TrainingWeightBytes(Precision::kNvfp4, tn_only), 2 * (0.5 + 1.0 / 16));
  }
}

}  // namespace
}  // namespace aif::catalog
