// Every error path of the scenario and catalog readers (scenario.cc, catalog_loader.cc,
// yaml_reader.cc), one case each: the message must start `file:line:col: key.path: ` and say
// what is wrong. Document-level errors (syntax, limits, a document that is not a mapping) have a
// position but no key path; only an oversized file has no position (it is refused unread).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/scenario.h"
#include "aifactory_test/builtin_catalog.h"
#include "aifactory_test/text.h"

namespace aif::config {
namespace {

using ::aif::testing::HasText;

struct ErrorCase {
  std::string what;     // the error path exercised
  std::string text;     // the whole file
  std::string where;    // "line:col"
  std::string path;     // the key path; empty for document-level errors
  std::string message;  // a distinctive part of the message
};

void ExpectError(const Status& status, const std::string& file, const ErrorCase& c) {
  SCOPED_TRACE(c.what + ":\n" + c.text);
  ASSERT_FALSE(status.ok()) << "no error";
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  const std::string prefix = file + ":" + c.where + ": " + (c.path.empty() ? "" : c.path + ": ");
  const std::string& m = status.message();
  EXPECT_EQ(m.substr(0, prefix.size()), prefix) << m;
  EXPECT_TRUE(HasText(m.substr(std::min(prefix.size(), m.size())), c.message));
}

void ExpectScenarioErrors(const std::vector<ErrorCase>& cases,
                          const catalog::Catalog& cat = ::aif::testing::BuiltinCatalog()) {
  for (const ErrorCase& c : cases) {
    Result<Scenario> s = ParseScenario(c.text, "s.yaml", cat);
    ExpectError(s.status(), "s.yaml", c);
  }
}

void ExpectCatalogErrors(const std::vector<ErrorCase>& cases) {
  for (const ErrorCase& c : cases) {
    catalog::Catalog cat;
    ExpectError(LoadCatalogText(c.text, "c.yaml", &cat), "c.yaml", c);
  }
}

// A valid scenario, seven lines; sections added after it start on line 8.
const std::string kCluster = "cluster:\n  system: dgx-h100\n  gpus: 8\n";         // lines 1-3
const std::string kModel = "model: llama3-8b\n";                                  // line 4
const std::string kTraining = "training:\n  seq_len: 8192\n  global_batch: 8\n";  // lines 5-7
const std::string kBase = kCluster + kModel + kTraining;

// A valid reliability section on lines 8-15.
const std::string kReliability = R"(reliability:
  interruptions_per_gpu_hour: 1.0e-5
  restart: "150 s"
  checkpoint_write_bandwidth: "2 TB/s"
  sources:
    interruptions_per_gpu_hour: a
    restart: b
    checkpoint_write_bandwidth: c
)";

// kBase with one cost on line 9 (`  key: value`) and its source on line 10.
std::string Costs(const std::string& key, const std::string& value) {
  return kBase + "costs:\n  " + key + ": " + value + "\n  sources: {" + key + ": x}\n";
}

// A valid inline model: `model:` on line 4, then these lines (5-11) unless replaced.
const std::string kTinyModel = R"(  id: tiny
  layers: 2
  hidden: 64
  heads: 4
  ffn_hidden: 256
  vocab: 100
  sources: {architecture: t}
)";
std::string InlineModel(const std::string& lines) {
  return kCluster + "model:\n" + lines + kTraining;
}

// kBase with a plan on line 8 (`plan: {...}`; the map starts at column 7).
std::string Plan(const std::string& plan) { return kBase + "plan: " + plan + "\n"; }

// kBase with a search section on line 8 (`search: {...}`; the map starts at column 9).
std::string Search(const std::string& search) { return kBase + "search: " + search + "\n"; }

TEST(ConfigErrorPaths, BaseTextsAreValid) {
  const catalog::Catalog& cat = ::aif::testing::BuiltinCatalog();
  for (const std::string& text :
       {kBase, kBase + kReliability, Costs("pue", "1.2"), InlineModel(kTinyModel),
        Plan("{tp: 2, pp: 2}"), kBase + "scaling: [8, 16]\nfind_min_gpus: true\n",
        Search("{micro_batches: [1, 2], recompute: [none], offload: false, max_tp: 4}")}) {
    Result<Scenario> s = ParseScenario(text, "s.yaml", cat);
    EXPECT_TRUE(s.ok()) << text << "\n" << s.status().ToString();
  }
}

// ------------------------------------------------------------------ the YAML document itself

TEST(ConfigErrorPaths, Document) {
  ExpectScenarioErrors({
      {"syntax error", "name: a: b\n" + kBase, "1:8", "", "YAML syntax error: illegal map value"},
      {"syntax error at the end of the input", kBase + "scaling: [8, 16\n", "9:1", "",
       "YAML syntax error: end of sequence flow not found"},
      {"alias refused", "name: &n x\ndescription: *n\n" + kBase, "2:14", "",
       "YAML aliases are not allowed in input files"},
      {"nesting limit", "scaling: " + std::string(40, '[') + std::string(40, ']') + "\n", "1:41",
       "", "nesting deeper than 32 levels"},
      {"empty document", "", "1:1", "", "expected a mapping of keys to values"},
      {"comments only", "# nothing here\n", "1:1", "", "expected a mapping of keys to values"},
      {"document is a list", "- a\n", "1:1", "", "expected a mapping of keys to values"},
      {"key that is not a string", "? [a]\n: 1\n" + kBase, "1:3", "", "keys must be plain strings"},
      {"unknown top-level key", kBase + "scalin: [8]\n", "8:1", "scalin",
       "unknown key (did you mean 'scaling'?)"},
  });
}

TEST(ConfigErrorPaths, OversizedFileIsRefusedUnread) {
  // The one error without a position: the file is not parsed at all.
  const std::string text = "# " + std::string(16 << 20, 'x') + "\n";
  Result<Scenario> s = ParseScenario(text, "s.yaml", ::aif::testing::BuiltinCatalog());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasText(s.status().message(),
                      "s.yaml: file is 16777219 bytes, more than the limit of 16777216"));
}

// ------------------------------------------------------------------ scenario sections

TEST(ConfigErrorPaths, NameAndDescription) {
  ExpectScenarioErrors({
      {"name not a string", "name: [a]\n" + kBase, "1:7", "name", "expected a string"},
      {"description not a string", "description: {a: 1}\n" + kBase, "1:14", "description",
       "expected a string"},
  });
}

TEST(ConfigErrorPaths, Cluster) {
  ExpectScenarioErrors({
      {"cluster missing", kModel + kTraining, "1:1", "cluster", "missing required key"},
      {"cluster not a mapping", "cluster: dgx-h100\n" + kModel + kTraining, "1:10", "cluster",
       "expected a mapping of keys to values"},
      // An empty value is reported at its key, not at the next line where yaml-cpp puts it.
      {"cluster empty", "cluster:\n" + kModel + kTraining, "1:1", "cluster",
       "expected a mapping of keys to values"},
      {"misspelt cluster key", "cluster:\n  sytem: dgx-h100\n  gpus: 8\n" + kModel + kTraining,
       "2:3", "cluster.sytem", "unknown key (did you mean 'system'?)"},
      {"system missing", "cluster:\n  gpus: 8\n" + kModel + kTraining, "2:3", "cluster.system",
       "missing required key"},
      {"system not a string", "cluster:\n  system: [a]\n  gpus: 8\n" + kModel + kTraining, "2:11",
       "cluster.system", "expected a string"},
      {"misspelt system id", "cluster:\n  system: dgx-h10\n  gpus: 8\n" + kModel + kTraining,
       "2:11", "cluster.system", "unknown system 'dgx-h10' (did you mean 'dgx-h100'?)"},
      {"gpus missing", "cluster:\n  system: dgx-h100\n" + kModel + kTraining, "2:3", "cluster.gpus",
       "missing required key"},
      {"gpus not an integer", "cluster:\n  system: dgx-h100\n  gpus: eight\n" + kModel + kTraining,
       "3:9", "cluster.gpus", "expected an integer, got 'eight'"},
      {"gpus not a scalar", "cluster:\n  system: dgx-h100\n  gpus: [8]\n" + kModel + kTraining,
       "3:9", "cluster.gpus", "expected an integer"},
      {"gpus out of range", "cluster:\n  system: dgx-h100\n  gpus: 0\n" + kModel + kTraining, "3:9",
       "cluster.gpus", "0 is out of range [1, 100000000]"},
      {"gpus empty", "cluster:\n  system: dgx-h100\n  gpus:\n" + kModel + kTraining, "3:3",
       "cluster.gpus", "expected an integer"},
      {"oversubscription not a number",
       kCluster + "  oversubscription: lots\n" + kModel + kTraining, "4:21",
       "cluster.oversubscription", "expected a number, got 'lots'"},
      {"oversubscription not a scalar", kCluster + "  oversubscription: [2]\n" + kModel + kTraining,
       "4:21", "cluster.oversubscription", "expected a number"},
      {"oversubscription out of range", kCluster + "  oversubscription: 0.5\n" + kModel + kTraining,
       "4:21", "cluster.oversubscription", "expected a ratio between 1 (non-blocking) and 64"},
      {"routing unknown", kCluster + "  routing: random\n" + kModel + kTraining, "4:12",
       "cluster.routing", "expected 'adaptive' (by load, InfiniBand's default) or 'ecmp' (static hashing), got 'random'"},
      {"routing not a string", kCluster + "  routing: [ecmp]\n" + kModel + kTraining, "4:12",
       "cluster.routing", "expected a string"},
  });
}

// A system whose cluster cannot be built: its accelerator has no kernel calibration, or is not in
// the catalog at all.
TEST(ConfigErrorPaths, ClusterThatCannotBeBuilt) {
  const char kCatalog[] = R"(accelerators:
  - id: gpu
    tdp: "700 W"
    sources: {tdp: t}
fabrics:
  - id: ib
    kind: infiniband
    port_bandwidth: "400 Gb/s"
    sources: {port_bandwidth: t}
systems:
  - id: box
    accelerator: gpu
    scale_out_fabric: ib
    gpus_per_node: 8
    nvlink_domain: 8
    sources: {gpus_per_node: t, nvlink_domain: t, scale_out_fabric: t}
  - id: orphan
    accelerator: gpx
    scale_out_fabric: ib
    gpus_per_node: 8
    nvlink_domain: 8
    sources: {gpus_per_node: t, nvlink_domain: t, scale_out_fabric: t}
)";
  catalog::Catalog cat;
  Status loaded = LoadCatalogText(kCatalog, "c.yaml", &cat);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  ExpectScenarioErrors({{"no calibration", "cluster: {system: box, gpus: 8}\n", "1:19",
                         "cluster.system", "accelerator 'gpu' has no kernel calibration yet"},
                        {"unknown accelerator", "cluster: {system: orphan, gpus: 8}\n", "1:19",
                         "cluster.system", "unknown accelerator 'gpx' (did you mean 'gpu'?)"}},
                       cat);
}

TEST(ConfigErrorPaths, ModelById) {
  ExpectScenarioErrors({
      {"model missing", kCluster + kTraining, "1:1", "model", "missing required key"},
      {"model not a string", kCluster + "model: [a]\n" + kTraining, "4:8", "model",
       "expected a string"},
      {"model empty", kCluster + "model:\n" + kTraining, "4:1", "model", "expected a string"},
      {"misspelt model id", kCluster + "model: llama3-8bb\n" + kTraining, "4:8", "model",
       "unknown model 'llama3-8bb' (did you mean 'llama3-8b'?)"},
  });
}

// An inline model shape (catalog_loader.cc ParseModel), lines 5-11 under `model:` on line 4.
TEST(ConfigErrorPaths, InlineModel) {
  auto replace = [](const std::string& from, const std::string& to) {
    std::string lines = kTinyModel;
    lines.replace(lines.find(from), from.size(), to);
    return InlineModel(lines);
  };
  ExpectScenarioErrors({
      {"misspelt model key", replace("  hidden: 64\n", "  hiden: 64\n"), "7:3", "model.hiden",
       "unknown key (did you mean 'hidden'?)"},
      {"id missing", replace("  id: tiny\n", ""), "5:3", "model.id", "missing required key"},
      {"name not a string", replace("  id: tiny\n", "  id: tiny\n  name: [a]\n"), "6:9",
       "model.name", "expected a string"},
      {"required dimension missing", replace("  layers: 2\n", ""), "5:3", "model.layers",
       "missing required key"},
      {"dimension out of range", replace("  layers: 2\n", "  layers: -2\n"), "6:11", "model.layers",
       "-2 is out of range [0, 2147483648]"},
      {"dimension not an integer", replace("  layers: 2\n", "  layers: two\n"), "6:11",
       "model.layers", "expected an integer, got 'two'"},
      {"mlp unknown", replace("  vocab: 100\n", "  vocab: 100\n  mlp: gelu2\n"), "11:8",
       "model.mlp", "expected swiglu, gelu or relu2"},
      {"tied_embeddings not a bool",
       replace("  vocab: 100\n", "  vocab: 100\n  tied_embeddings: maybe\n"), "11:20",
       "model.tied_embeddings", "expected true or false"},
      {"params_b not a number", replace("  vocab: 100\n", "  vocab: 100\n  params_b: big\n"),
       "11:13", "model.params_b", "expected a number, got 'big'"},
      {"misspelt moe key",
       replace("  vocab: 100\n", "  vocab: 100\n  moe: {experts: 8, topk: 2}\n"), "11:21",
       "model.moe.topk", "unknown key (did you mean 'top_k'?)"},
      {"moe key missing",
       replace("  vocab: 100\n", "  vocab: 100\n  moe: {experts: 8, top_k: 2}\n"), "11:8",
       "model.moe.expert_ffn_hidden", "missing required key"},
      {"misspelt mla key", replace("  vocab: 100\n", "  vocab: 100\n  mla: {kv_lora_rnk: 8}\n"),
       "11:9", "model.mla.kv_lora_rnk", "unknown key (did you mean 'kv_lora_rank'?)"},
      {"mla key missing", replace("  vocab: 100\n", "  vocab: 100\n  mla: {kv_lora_rank: 8}\n"),
       "11:8", "model.mla.qk_nope_head_dim", "missing required key"},
      {"misspelt attention key",
       replace("  vocab: 100\n", "  vocab: 100\n  attention: {sliding_windw: 8}\n"), "11:15",
       "model.attention.sliding_windw", "unknown key (did you mean 'sliding_window'?)"},
      {"sources missing", replace("  sources: {architecture: t}\n", ""), "5:3", "model",
       "missing 'sources': every value needs a source"},
      {"sources not a mapping", replace("  sources: {architecture: t}\n", "  sources: t\n"),
       "11:12", "model.sources", "expected a mapping of keys to values"},
      {"source not a string", replace("{architecture: t}", "{architecture: [t]}"), "11:27",
       "model.sources.architecture", "expected a string"},
      {"source key not a string", replace("{architecture: t}", "{architecture: t, [a]: t}"),
       "11:30", "model.sources", "keys must be plain strings"},
      {"no source for a value", replace("  vocab: 100\n", "  vocab: 100\n  params_b: 1\n"), "12:12",
       "model.sources", "no source for 'params_b'"},
      {"inconsistent shape", replace("  heads: 4\n", "  heads: 6\n  kv_heads: 4\n"), "5:3", "model",
       "model 'tiny': heads (6) must be a multiple of kv_heads (4)"},
      {"expert groups that do not divide the experts",
       replace("  vocab: 100\n", "  vocab: 100\n  moe: {experts: 8, top_k: 2, expert_ffn_hidden: 4, groups: 3}\n"),
       "5:3", "model", "model 'tiny': moe.groups (3) must divide moe.experts (8)"},
      {"more groups per token than groups",
       replace("  vocab: 100\n",
               "  vocab: 100\n  moe: {experts: 8, top_k: 2, expert_ffn_hidden: 4, groups: 4, groups_per_token: 5}\n"),
       "5:3", "model", "model 'tiny': moe.groups_per_token (5) must be in [1, moe.groups = 4]"},
      {"top_k beyond the experts of the token's groups",
       replace("  vocab: 100\n",
               "  vocab: 100\n  moe: {experts: 8, top_k: 3, expert_ffn_hidden: 4, groups: 4, groups_per_token: 1}\n"),
       "5:3", "model", "model 'tiny': moe.top_k (3) exceeds the experts of moe.groups_per_token (1) groups"},
  });
}

TEST(ConfigErrorPaths, Training) {
  auto training = [](const std::string& extra) {
    return kBase + extra;
  };  // extra lines from 8, inside training
  ExpectScenarioErrors({
      {"training missing", kCluster + kModel, "1:1", "training", "missing required key"},
      {"training empty", kCluster + kModel + "training:\n", "5:1", "training",
       "expected a mapping of keys to values"},
      {"misspelt training key",
       kCluster + kModel + "training:\n  seqlen: 8192\n  global_batch: 8\n", "6:3",
       "training.seqlen", "unknown key (did you mean 'seq_len'?)"},
      {"seq_len missing", kCluster + kModel + "training:\n  global_batch: 8\n", "6:3",
       "training.seq_len", "missing required key"},
      {"seq_len out of range", kCluster + kModel + "training:\n  seq_len: 0\n  global_batch: 8\n",
       "6:12", "training.seq_len", "0 is out of range [1, 16777216]"},
      {"global_batch out of range",
       kCluster + kModel + "training:\n  seq_len: 8192\n  global_batch: 2147483648\n", "7:17",
       "training.global_batch", "2147483648 is out of range [1, 1073741824]"},
      {"tokens not a string", training("  tokens: [1]\n"), "8:11", "training.tokens",
       "expected a string"},
      {"tokens not a count", training("  tokens: lots\n"), "8:11", "training.tokens",
       "expected a count like '15T', got 'lots'"},
      {"tokens with an unknown suffix", training("  tokens: 15X\n"), "8:11", "training.tokens",
       "unknown count suffix 'X' in '15X', expected K, M, B or T"},
      {"tokens negative", training("  tokens: -3T\n"), "8:11", "training.tokens",
       "expected a non-negative count"},
      {"precision unknown", training("  precision: fp6\n"), "8:14", "training.precision",
       "unknown precision 'fp6'"},
      {"low_precision_weights not a boolean", training("  low_precision_weights: fp8\n"), "8:26",
       "training.low_precision_weights", "expected true or false"},
      {"moe_dispatcher unknown", training("  moe_dispatcher: deepep\n"), "8:19", "training.moe_dispatcher",
       "unknown MoE dispatcher 'deepep', expected flex (DeepEP, HybridEP) or alltoall (NCCL all-to-all)"},
      {"moe_capacity_factor out of range", training("  moe_capacity_factor: 20\n"), "8:24",
       "training.moe_capacity_factor", "expected 0 (dropless) or a capacity factor above 0 up to 16, got 20"},
      {"moe_capacity_factor on a dense model", training("  moe_capacity_factor: 1.25\n"), "8:24",
       "training.moe_capacity_factor", "token dropping needs a model with experts"},
      {"fp8_scaling unknown", training("  fp8_scaling: tensorwise\n"), "8:16", "training.fp8_scaling",
       "unknown FP8 scaling 'tensorwise', expected current (scales from each tensor) or delayed (from an amax history)"},
      {"task unknown", training("  task: pretraining\n"), "8:9", "training.task",
       "unknown task kind 'pretraining', expected pretrain, sft or lora"},
      {"nccl_max_ctas not a mapping", training("  nccl_max_ctas: 8\n"), "8:18", "training.nccl_max_ctas",
       "expected a mapping of keys to values"},
      {"nccl_max_ctas unknown communicator", training("  nccl_max_ctas: {cq: 1}\n"), "8:19",
       "training.nccl_max_ctas.cq", "unknown key (did you mean 'cp'?)"},
      {"nccl_max_ctas out of range", training("  nccl_max_ctas: {cp: 0}\n"), "8:23", "training.nccl_max_ctas.cp",
       "0 is out of range [1, 64]"},
  });
}

TEST(ConfigErrorPaths, Reliability) {
  auto replace = [](const std::string& from, const std::string& to) {
    std::string text = kReliability;
    text.replace(text.find(from), from.size(), to);
    return kBase + text;
  };
  const std::string rate = "  interruptions_per_gpu_hour: 1.0e-5\n";
  std::string many = "reliability:\n  components:\n";
  for (int i = 0; i < 257; ++i)
    many += "    - {name: a, interruptions_per_gpu_hour: 0, source: s}\n";
  ExpectScenarioErrors({
      {"reliability not a mapping", kBase + "reliability: 1\n", "8:14", "reliability",
       "expected a mapping of keys to values"},
      {"misspelt reliability key", replace("  restart:", "  restrat:"), "10:3",
       "reliability.restrat", "unknown key (did you mean 'restart'?)"},
      {"rate and components both", replace(rate, rate + "  components: []\n"), "10:15",
       "reliability.components", "give either interruptions_per_gpu_hour or components, not both"},
      {"rate missing", replace(rate, ""), "9:3", "reliability.interruptions_per_gpu_hour",
       "missing required key"},
      {"rate not a number", replace("1.0e-5", "often"), "9:31",
       "reliability.interruptions_per_gpu_hour", "expected a number, got 'often'"},
      {"rate out of range", replace("1.0e-5", "2"), "9:31",
       "reliability.interruptions_per_gpu_hour", "expected a rate in [0, 1] per GPU-hour"},
      {"components not a list", replace(rate, "  components: {gpu: 1}\n"), "9:15",
       "reliability.components", "expected a list"},
      {"too many components", kBase + many, "10:5", "reliability.components",
       "at most 256 components"},
      {"misspelt component key",
       replace(rate, "  components:\n    - {name: gpu, rate: 1.0e-5, source: s}\n"), "10:19",
       "reliability.components[0].rate", "unknown key"},
      {"component name missing",
       replace(rate, "  components:\n    - {interruptions_per_gpu_hour: 1.0e-5, source: s}\n"),
       "10:7", "reliability.components[0].name", "missing required key"},
      {"component rate missing", replace(rate, "  components:\n    - {name: gpu, source: s}\n"),
       "10:7", "reliability.components[0].interruptions_per_gpu_hour", "missing required key"},
      {"component rate out of range",
       replace(rate,
               "  components:\n    - {name: gpu, interruptions_per_gpu_hour: -1, source: s}\n"),
       "10:47", "reliability.components[0].interruptions_per_gpu_hour",
       "expected a rate in [0, 1] per GPU-hour"},
      {"component source missing",
       replace(rate, "  components:\n    - {name: gpu, interruptions_per_gpu_hour: 0}\n"), "10:7",
       "reliability.components[0].source", "missing required key"},
      {"restart missing", replace("  restart: \"150 s\"\n", ""), "9:3", "reliability.restart",
       "missing required key"},
      {"restart without unit", replace("\"150 s\"", "150"), "10:12", "reliability.restart",
       "expected a quantity with its unit, like '1.5 us', got '150' (the unit is missing)"},
      {"restart in the wrong unit", replace("\"150 s\"", "150 W"), "10:12", "reliability.restart",
       "(unknown unit 'W')"},
      {"restart not a number", replace("\"150 s\"", "soon"), "10:12", "reliability.restart",
       "expected a quantity with its unit, like '1.5 us', got 'soon'"},
      {"restart not finite", replace("\"150 s\"", "inf s"), "10:12", "reliability.restart",
       "(not a finite number)"},
      {"restart not a scalar", replace("\"150 s\"", "[150 s]"), "10:12", "reliability.restart",
       "expected a quantity like '1.5 us'"},
      {"restart negative", replace("\"150 s\"", "-1 s"), "10:12", "reliability.restart",
       "must not be negative"},
      {"checkpoint bandwidth zero", replace("\"2 TB/s\"", "0 TB/s"), "11:31",
       "reliability.checkpoint_write_bandwidth", "must be positive"},
      {"sources missing",
       replace("  sources:\n    interruptions_per_gpu_hour: a\n    restart: b\n    "
               "checkpoint_write_bandwidth: c\n",
               ""),
       "9:3", "reliability", "missing 'sources': every value needs a source"},
      {"no source for a value", replace("    restart: b\n", ""), "13:5", "reliability.sources",
       "no source for 'restart'"},
  });
}

TEST(ConfigErrorPaths, Costs) {
  ExpectScenarioErrors({
      {"misspelt cost key", Costs("pua", "1.2"), "9:3", "costs.pua",
       "unknown key (did you mean 'pue'?)"},
      {"capex in the wrong currency", Costs("gpu_capex", "25000 EUR"), "9:14", "costs.gpu_capex",
       "(unknown unit 'EUR')"},
      {"dollar sign and unit both", Costs("gpu_capex", "$25000 USD"), "9:14", "costs.gpu_capex",
       "expected a quantity with its unit, like '25000 USD', got '$25000 USD'"},
      {"capex negative", Costs("rack_capex", "-1 USD"), "9:15", "costs.rack_capex",
       "must not be negative"},
      {"amortization without unit", Costs("amortization", "4"), "9:17", "costs.amortization",
       "(the unit is missing)"},
      {"electricity in the wrong unit", Costs("electricity", "0.1 EUR/kWh"), "9:16",
       "costs.electricity",
       "expected a number with its unit, like '1.5 USD/kWh', got '0.1 EUR/kWh'"},
      {"electricity not a scalar", Costs("electricity", "[0.1]"), "9:16", "costs.electricity",
       "expected a number with its unit, like '1.5 USD/kWh'"},
      {"electricity negative", Costs("electricity", "-0.1 USD/kWh"), "9:16", "costs.electricity",
       "must not be negative"},
      {"pue not a number", Costs("pue", "good"), "9:8", "costs.pue",
       "expected a number, got 'good'"},
      {"pue out of range", Costs("pue", "0.9"), "9:8", "costs.pue",
       "expected a PUE between 1 and 5"},
      {"rack overhead in the wrong unit", Costs("rack_overhead", "20 kWh"), "9:18",
       "costs.rack_overhead", "(unknown unit 'kWh')"},
      {"grid CO2 in the wrong unit", Costs("grid_co2", "0.4 lb/kWh"), "9:13", "costs.grid_co2",
       "expected a number with its unit, like '1.5 kg/kWh'"},
      {"source missing",
       kBase + "costs:\n  pue: 1.2\n  electricity: 0.1 USD/kWh\n  sources: {pue: x}\n", "11:12",
       "costs.sources", "no source for 'electricity'"},
  });
}

TEST(ConfigErrorPaths, ScalingAndFindMinGpus) {
  std::string many = "scaling: [8";
  for (int i = 0; i < 64; ++i) many += ", 8";
  ExpectScenarioErrors({
      {"scaling not a list", kBase + "scaling: 8\n", "8:10", "scaling", "expected a list"},
      {"scaling too long", kBase + many + "]\n", "8:10", "scaling", "at most 64 GPU counts"},
      {"scaling entry out of range", kBase + "scaling: [8, 0]\n", "8:14", "scaling[1]",
       "0 is out of range"},
      {"scaling entry not an integer", kBase + "scaling: [8, many]\n", "8:14", "scaling[1]",
       "expected an integer, got 'many'"},
      {"find_min_gpus not a bool", kBase + "find_min_gpus: maybe\n", "8:16", "find_min_gpus",
       "expected true or false"},
  });
}

TEST(ConfigErrorPaths, Plan) {
  ExpectScenarioErrors({
      {"plan not a mapping", Plan("tp2"), "8:7", "plan", "expected a mapping of keys to values"},
      {"misspelt plan key", Plan("{tp: 2, micro_bach: 1}"), "8:15", "plan.micro_bach",
       "unknown key (did you mean 'micro_batch'?)"},
      {"degree not an integer", Plan("{tp: two}"), "8:12", "plan.tp",
       "expected an integer, got 'two'"},
      {"degree out of range", Plan("{pp: 0}"), "8:12", "plan.pp",
       "0 is out of range [1, 16777216]"},
      {"zero_stage out of range", Plan("{zero_stage: 4}"), "8:20", "plan.zero_stage",
       "4 is out of range [0, 3]"},
      {"recompute not a string", Plan("{recompute: [full]}"), "8:19", "plan.recompute",
       "expected a string"},
      {"recompute unknown", Plan("{recompute: sometimes}"), "8:19", "plan.recompute",
       "unknown recompute mode 'sometimes', expected none, selective or full"},
      {"recompute_layers out of range", Plan("{recompute: full, recompute_layers: -1}"), "8:43",
       "plan.recompute_layers", "-1 is out of range"},
      {"ep_overlap not a bool", Plan("{ep_overlap: often}"), "8:20", "plan.ep_overlap", "expected true or false"},
      {"cuda_graphs not a bool", Plan("{cuda_graphs: 2}"), "8:21", "plan.cuda_graphs", "expected true or false"},
      {"ep_overlap without experts", Plan("{ep_overlap: true}"), "8:7", "plan",
       "ep_overlap needs expert parallelism (ep > 1)"},
      {"cuda_graph_modules not a list", Plan("{cuda_graph_modules: attn}"), "8:28", "plan.cuda_graph_modules",
       "expected a list"},
      {"cuda_graph_modules unknown", Plan("{cuda_graph_modules: [attn, atn]}"), "8:35", "plan.cuda_graph_modules[1]",
       "unknown CUDA graph module 'atn' (expected attn, mlp, moe, moe_router, moe_preprocess or none)"},
      {"moe_router on a dense model", Plan("{cuda_graph_modules: [moe_router]}"), "8:29",
       "plan.cuda_graph_modules[0]", "the model has no experts"},
      {"cuda_graph_modules with cuda_graphs", Plan("{cuda_graphs: true, cuda_graph_modules: [attn]}"), "8:7", "plan",
       "cuda_graphs (the whole iteration) and cuda_graph_modules do not combine"},
  });
}

TEST(ConfigErrorPaths, Search) {
  std::string many = "{micro_batches: [1";
  for (int i = 2; i <= 65; ++i) many += ", " + std::to_string(i);
  ExpectScenarioErrors({
      {"search not a mapping", Search("fast"), "8:9", "search", "expected a mapping of keys to values"},
      {"misspelt search key", Search("{micro_batch: [1]}"), "8:10", "search.micro_batch",
       "unknown key (did you mean 'micro_batches'?)"},
      {"candidates not a list", Search("{micro_batches: 2}"), "8:25", "search.micro_batches", "expected a list"},
      {"candidates empty", Search("{micro_batches: []}"), "8:25", "search.micro_batches",
       "expected at least one value"},
      {"too many candidates", Search(many + "]}"), "8:25", "search.micro_batches", "at most 64 values"},
      {"candidate out of range", Search("{micro_batches: [1, 0]}"), "8:29", "search.micro_batches[1]",
       "0 is out of range"},
      {"candidate not an integer", Search("{virtual_stages: [1, two]}"), "8:30", "search.virtual_stages[1]",
       "expected an integer, got 'two'"},
      {"candidate listed twice", Search("{micro_batches: [2, 2]}"), "8:29", "search.micro_batches[1]",
       "2 is listed twice"},
      {"zero stage out of range", Search("{zero_stages: [4]}"), "8:24", "search.zero_stages[0]",
       "4 is out of range [0, 3]"},
      {"recompute not a list", Search("{recompute: full}"), "8:21", "search.recompute", "expected a list"},
      {"recompute empty", Search("{recompute: []}"), "8:21", "search.recompute",
       "expected at least one of none, selective, full"},
      {"recompute unknown", Search("{recompute: [none, sometimes]}"), "8:28", "search.recompute[1]",
       "unknown recompute mode 'sometimes', expected none, selective or full"},
      {"recompute listed twice", Search("{recompute: [full, full]}"), "8:28", "search.recompute[1]",
       "'full' is listed twice"},
      {"recompute not a string", Search("{recompute: [[full]]}"), "8:22", "search.recompute[0]",
       "expected a string"},
      {"offload not a bool", Search("{offload: maybe}"), "8:19", "search.offload", "expected true or false"},
      {"ep_overlap not a bool", Search("{ep_overlap: maybe}"), "8:22", "search.ep_overlap", "expected true or false"},
      {"cuda_graphs not a bool", Search("{cuda_graphs: []}"), "8:23", "search.cuda_graphs", "expected true or false"},
      {"ep_overlap on a dense model", Search("{ep_overlap: true}"), "8:22", "search.ep_overlap",
       "the model has no experts"},
      {"cuda_graph_modules of a whole MoE MLP on a dense model", Search("{cuda_graph_modules: [moe]}"), "8:31",
       "search.cuda_graph_modules[0]", "the model has no experts"},
      {"cuda_graph_modules of a whole MoE MLP without token dropping",
       kCluster + "model: qwen3-30b-a3b\n" + kTraining + "search: {cuda_graph_modules: [moe]}\n", "8:31",
       "search.cuda_graph_modules[0]", "needs token dropping and padding: set training.moe_capacity_factor"},
      {"cuda_graph_modules of a whole MoE MLP and its router",
       kCluster + "model: qwen3-30b-a3b\n" + kTraining + "  moe_capacity_factor: 1\n" +
           "search: {cuda_graph_modules: [moe, moe_router]}\n",
       "9:30", "search.cuda_graph_modules", "moe captures the router and the preprocess already"},
      {"cuda_graph_modules with cuda_graphs", Search("{cuda_graphs: true, cuda_graph_modules: [attn]}"), "8:49",
       "search.cuda_graph_modules", "do not combine"},
      {"max_tp out of range", Search("{max_tp: 0}"), "8:18", "search.max_tp", "0 is out of range"},
      {"max_ep on a dense model", Search("{max_ep: 8}"), "8:18", "search.max_ep", "the model has no experts"},
      {"memory_reserve without unit", kCluster + "  memory_reserve: 4\n" + kModel + kTraining, "4:19",
       "cluster.memory_reserve", "(the unit is missing)"},
      {"memory_reserve as large as the HBM", kCluster + "  memory_reserve: \"86 GB\"\n" + kModel + kTraining,
       "4:19", "cluster.memory_reserve", "expected 0 up to less than the accelerator's 86 GB of HBM"},
  });
}

// train::ValidatePlan: every check a scenario can reach, reported at the plan.
TEST(ConfigErrorPaths, PlanValidation) {
  auto with = [](const std::string& gpus, const std::string& model, const std::string& seq_len,
                 const std::string& batch, const std::string& plan) {
    return "cluster: {system: dgx-h100, gpus: " + gpus + "}\nmodel: " + model +
           "\ntraining: {seq_len: " + seq_len + ", global_batch: " + batch + "}\nplan: " + plan +
           "\n";
  };
  auto dense = [&](const std::string& plan) { return with("8", "llama3-8b", "8192", "8", plan); };
  ExpectScenarioErrors({
      {"degrees do not multiply to the GPUs", dense("{tp: 2, pp: 2, dp: 3}"), "4:7", "plan",
       "tp*pp*cp*dp = 2*2*1*3 = 12 does not equal gpus = 8"},
      {"heads not divisible by tp", with("24", "llama3-8b", "8192", "8", "{tp: 3}"), "4:7", "plan",
       "attention heads (32) not divisible by tp (3)"},
      {"kv heads and tp", with("24", "grok-1", "8192", "8", "{tp: 3}"), "4:7", "plan",
       "kv heads (8) and tp (3) do not divide one another"},
      {"more pipeline chunks than layers", dense("{pp: 8, vp: 5}"), "4:7", "plan",
       "layers (32) + embedding + loss fewer than pipeline chunks pp*vp = 40"},
      {"vp without pp", dense("{vp: 2}"), "4:7", "plan", "vp > 1 needs pp > 1"},
      {"recompute_layers without full", dense("{recompute_layers: 2}"), "4:7", "plan",
       "recompute_layers applies to full recompute only"},
      {"too many micro-batches", with("8", "llama3-8b", "8192", "1073741824", "{micro_batch: 1}"),
       "4:7", "plan", "more than 2^24 micro-batches per step"},
      {"experts not divisible by ep", with("8", "grok-1", "8192", "8", "{ep: 3}"), "4:7", "plan",
       "experts (8) not divisible by ep (3)"},
      {"ep does not divide tp*cp*dp", with("4", "grok-1", "8192", "8", "{ep: 8}"), "4:7", "plan",
       "ep (8) must divide tp*cp*dp = 4"},
      {"ep on a dense model", dense("{ep: 2}"), "4:7", "plan", "ep = 2 on a dense model"},
      {"batch not divisible", dense("{micro_batch: 3}"), "4:7", "plan",
       "global batch (8) not divisible by micro_batch*dp = 3*8"},
      {"sequence not divisible by 2*cp", with("8", "llama3-8b", "8190", "8", "{cp: 2}"), "4:7",
       "plan", "sequence length (8190) not divisible by 2*cp = 4"},
      // Megatron-Core's rules for activation offload (cpu_offloading).
      {"offload with pipeline stages", dense("{pp: 2, offload_layers: 4}"), "4:7", "plan",
       "activation offload does not support pipeline parallelism (pp > 1)"},
      {"offload with selective recompute", dense("{recompute: selective, offload_layers: 4}"), "4:7", "plan",
       "activation offload and selective recompute do not combine"},
      {"offload with full recompute", dense("{recompute: full, offload_layers: 4}"), "4:7", "plan",
       "activation offload and full recompute do not combine"},
      {"offload with per-layer graphs", dense("{cuda_graph_modules: [attn], offload_layers: 4}"), "4:7", "plan",
       "activation offload and per-layer CUDA graphs (cuda_graph_modules) do not combine"},
      {"full recompute with per-layer graphs", dense("{recompute: full, cuda_graph_modules: [attn]}"), "4:7", "plan",
       "full recompute and per-layer CUDA graphs (cuda_graph_modules) do not combine"},
      {"offload of every layer", dense("{offload_layers: 32}"), "4:7", "plan",
       "offload_layers (32) must be fewer than the model's layers (32)"},
      // Megatron-Core's rules for the overlapped expert all-to-all (without experts, and
      // whole-iteration with per-layer graphs: ConfigErrorPaths.Plan).
      {"ep_overlap with full recompute", with("8", "grok-1", "8192", "8", "{ep: 8, recompute: full, ep_overlap: true}"),
       "4:7", "plan", "ep_overlap and full recompute do not combine"},
      {"ep_overlap without interleaving", with("8", "grok-1", "8192", "8", "{pp: 2, ep: 4, ep_overlap: true}"),
       "4:7", "plan", "ep_overlap with pp > 1 needs the interleaved schedule (vp > 1)"},
  });
}

// ------------------------------------------------------------------ catalog files

TEST(ConfigErrorPaths, CatalogDocument) {
  ExpectCatalogErrors({
      {"misspelt top-level key", "acelerators: []\n", "1:1", "acelerators",
       "unknown key (did you mean 'accelerators'?)"},
      {"list not a list", "fabrics: {id: ib}\n", "1:10", "fabrics", "expected a list"},
      {"entry not a mapping", "systems: [box]\n", "1:11", "systems[0]",
       "expected a mapping of keys to values"},
  });
}

TEST(ConfigErrorPaths, CatalogAccelerators) {
  const std::string head = "accelerators:\n  - id: gpu\n";  // the entry's map starts at 2:5
  ExpectCatalogErrors({
      {"misspelt key", head + "    hbm_capcity: \"80 GB\"\n", "3:5", "accelerators[0].hbm_capcity",
       "unknown key (did you mean 'hbm_capacity'?)"},
      {"id missing", "accelerators:\n  - name: GPU\n", "2:5", "accelerators[0].id",
       "missing required key"},
      {"id empty", "accelerators:\n  - id: \"\"\n", "2:5", "accelerators[0]",
       "accelerator without an id"},
      {"name not a string", head + "    name: {a: 1}\n", "3:11", "accelerators[0].name",
       "expected a string"},
      {"vendor not a string", head + "    vendor: [a]\n", "3:13", "accelerators[0].vendor",
       "expected a string"},
      {"misspelt peak precision", head + "    peak: {bf17: \"989 TFLOP/s\"}\n", "3:12",
       "accelerators[0].peak.bf17", "unknown key (did you mean 'bf16'?)"},
      {"peak in the wrong dimension", head + "    peak:\n      bf16: 989 TB/s\n", "4:13",
       "accelerators[0].peak.bf16", "like '989 TFLOP/s', got '989 TB/s' (unknown unit 'TB/s')"},
      {"capacity not a scalar", head + "    hbm_capacity: [80 GB]\n", "3:19",
       "accelerators[0].hbm_capacity", "expected a quantity like '80 GB'"},
      {"bandwidth without unit", head + "    hbm_bandwidth: 900\n", "3:20",
       "accelerators[0].hbm_bandwidth", "(the unit is missing)"},
      {"tdp negative", head + "    tdp: -700 W\n", "3:10", "accelerators[0].tdp",
       "must not be negative"},
      {"fp8_gemm_tn_only not a boolean", head + "    fp8_gemm_tn_only: hopper\n", "3:23",
       "accelerators[0].fp8_gemm_tn_only", "expected true or false"},
      {"fp8_gemm_tn_only without a source", head + "    fp8_gemm_tn_only: true\n    sources: {a: b}\n", "4:14",
       "accelerators[0].sources", "no source for 'fp8_gemm_tn_only'"},
      {"precision unknown", head + "    usual_training_precision: fp6\n", "3:31",
       "accelerators[0].usual_training_precision", "unknown precision 'fp6'"},
      {"framework precision unknown", head + "    usual_training_precision_in:\n      Megatron: fp6\n", "4:17",
       "accelerators[0].usual_training_precision_in.Megatron", "unknown precision 'fp6'"},
      {"framework precisions not a map", head + "    usual_training_precision_in: [fp8]\n", "3:34",
       "accelerators[0].usual_training_precision_in", "expected a mapping"},
      {"framework precision without a source",
       head + "    usual_training_precision_in: {Megatron: fp8}\n    sources: {a: b}\n", "4:14",
       "accelerators[0].sources", "no source for 'usual_training_precision_in.Megatron'"},
      {"sources missing", head + "    tdp: 700 W\n", "2:5", "accelerators[0]",
       "missing 'sources': every value needs a source"},
      {"no source for a value",
       head + "    tdp: 700 W\n    hbm_capacity: 80 GB\n    sources: {tdp: t}\n", "5:14",
       "accelerators[0].sources", "no source for 'hbm_capacity'"},
      {"duplicate id", head + "  - id: gpu\n", "3:5", "accelerators[1]",
       "duplicate accelerator id 'gpu'"},
  });
}

TEST(ConfigErrorPaths, CatalogFabrics) {
  const std::string head = "fabrics:\n  - id: ib\n";
  const std::string valid =
      "    kind: infiniband\n    port_bandwidth: 400 Gb/s\n    sources: {port_bandwidth: t}\n";
  ExpectCatalogErrors({
      {"misspelt key", head + "    knd: infiniband\n", "3:5", "fabrics[0].knd",
       "unknown key (did you mean 'kind'?)"},
      {"kind missing", head + "    port_bandwidth: 400 Gb/s\n", "2:5", "fabrics[0].kind",
       "missing required key"},
      {"kind unknown", head + "    kind: nvlink\n", "3:11", "fabrics[0].kind",
       "expected infiniband, roce or ethernet"},
      {"port bandwidth missing", head + "    kind: roce\n", "2:5", "fabrics[0].port_bandwidth",
       "missing required key"},
      {"sources missing", head + "    kind: roce\n    port_bandwidth: 400 Gb/s\n", "2:5",
       "fabrics[0]", "missing 'sources': every value needs a source"},
      {"latency in the wrong dimension", head + valid + "    latency: 2 GB\n", "6:14",
       "fabrics[0].latency", "(unknown unit 'GB')"},
      {"in-network reduction not a bool", head + valid + "    in_network_reduction: sometimes\n",
       "6:27", "fabrics[0].in_network_reduction", "expected true or false"},
      {"duplicate id", head + valid + "  - id: ib\n" + valid, "6:5", "fabrics[1]",
       "duplicate fabric id 'ib'"},
  });
}

TEST(ConfigErrorPaths, CatalogSystems) {
  const std::string head =
      "systems:\n  - id: box\n    accelerator: gpu\n    scale_out_fabric: ib\n";  // lines 1-4
  const std::string sources =
      "    sources: {gpus_per_node: t, nvlink_domain: t, scale_out_fabric: t}\n";
  const std::string valid = "    gpus_per_node: 8\n    nvlink_domain: 8\n" + sources;
  ExpectCatalogErrors({
      {"misspelt key", head + "    gpus_per_nod: 8\n", "5:5", "systems[0].gpus_per_nod",
       "unknown key (did you mean 'gpus_per_node'?)"},
      {"accelerator missing", "systems:\n  - id: box\n", "2:5", "systems[0].accelerator",
       "missing required key"},
      {"scale_out_fabric missing", "systems:\n  - id: box\n    accelerator: gpu\n", "2:5",
       "systems[0].scale_out_fabric", "missing required key"},
      {"gpus_per_node out of range", head + "    gpus_per_node: 0\n", "5:20",
       "systems[0].gpus_per_node", "0 is out of range [1, 4096]"},
      {"nvlink_domain missing", head + "    gpus_per_node: 8\n", "2:5", "systems[0].nvlink_domain",
       "missing required key"},
      {"nics_per_gpu out of range", head + valid + "    nics_per_gpu: 65\n", "8:19",
       "systems[0].nics_per_gpu", "65 is out of range [1, 64]"},
      {"host_memory without unit", head + valid + "    host_memory: 2000\n", "8:18", "systems[0].host_memory",
       "got '2000' (the unit is missing)"},
      {"host_memory not positive", head + valid + "    host_memory: 0 GB\n", "8:18", "systems[0].host_memory",
       "must be positive"},
      {"no source for a value",
       head + "    gpus_per_node: 8\n    nvlink_domain: 8\n    sources: {gpus_per_node: t}\n",
       "7:14", "systems[0].sources", "no source for 'nvlink_domain'"},
      {"duplicate id",
       head + valid + "  - id: box\n    accelerator: gpu\n    scale_out_fabric: ib\n" + valid,
       "8:5", "systems[1]", "duplicate system id 'box'"},
  });
}

TEST(ConfigErrorPaths, CatalogModels) {
  const std::string tiny =
      "  - id: tiny\n    layers: 2\n    hidden: 64\n    heads: 4\n    ffn_hidden: 256\n    vocab: "
      "100\n"
      "    sources: {architecture: t}\n";  // seven lines
  ExpectCatalogErrors({
      {"misspelt key", "models:\n  - id: tiny\n    layer: 2\n", "3:5", "models[0].layer",
       "unknown key (did you mean 'layers'?)"},
      {"inconsistent shape",
       "models:\n  - id: tiny\n    layers: 2\n    hidden: 64\n    heads: 4\n    vocab: 100\n"
       "    sources: {architecture: t}\n",
       "2:5", "models[0]", "model 'tiny': ffn_hidden must be positive, got 0"},
      {"duplicate id", "models:\n" + tiny + tiny, "9:5", "models[1]", "duplicate model id 'tiny'"},
  });
}

TEST(ConfigErrorPaths, CatalogCalibration) {
  const std::string head = "calibration:\n  - accelerator: gpu\n";  // the entry's map starts at 2:5
  const std::string efficiencies =
      "    gemm_16bit: 0.7\n    gemm_8bit: 0.6\n    gemm_4bit: 0.5\n    grouped_gemm: 0.5\n    "
      "attention: 0.5\n"
      "    memory: 0.8\n    scale_up: 0.8\n    scale_out: 0.8\n";  // lines 3-10
  ExpectCatalogErrors({
      {"misspelt key", head + "    gemm_16bt: 0.7\n", "3:5", "calibration[0].gemm_16bt",
       "unknown key (did you mean 'gemm_16bit'?)"},
      {"accelerator missing", "calibration:\n  - gemm_16bit: 0.7\n", "2:5",
       "calibration[0].accelerator", "missing required key"},
      {"efficiency missing", head + "    gemm_16bit: 0.7\n", "2:5", "calibration[0].gemm_8bit",
       "missing required key"},
      {"efficiency not a number", head + "    gemm_16bit: high\n", "3:17",
       "calibration[0].gemm_16bit", "expected a number, got 'high'"},
      {"efficiency out of range", head + "    gemm_16bit: 1.2\n", "3:17",
       "calibration[0].gemm_16bit", "an efficiency must be in (0, 1]"},
      {"latency missing", head + efficiencies, "2:5", "calibration[0].scale_up_latency",
       "missing required key"},
  });
}

}  // namespace
}  // namespace aif::config
