// The command line's --rank-by option and the scenario's rank_by key, end to end through Main.
#include "commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "aifactory_test/text.h"
#include "cli_test_support.h"

namespace aif::cli {
namespace {

namespace fs = std::filesystem;
using ::aif::testing::HasText;

// Llama 3 8B on 32 H100 with prices, failures and two other cluster sizes; `extra` is appended.
constexpr const char* kScenario = R"(name: rank-by test
cluster: {system: dgx-h100, gpus: 32}
model: llama3-8b
training: {tokens: "20B", seq_len: 8192, global_batch: 128}
reliability:
  interruptions_per_gpu_hour: 2.0e-5
  restart: "600 s"
  checkpoint_write_bandwidth: "100 GB/s"
  sources: {interruptions_per_gpu_hour: "test", restart: "test", checkpoint_write_bandwidth: "test"}
costs:
  gpu_capex: "30000 USD"
  amortization: "4 years"
  electricity: "0.09 USD/kWh"
  sources: {gpu_capex: "test", amortization: "test", electricity: "test"}
scaling: [8, 128]
)";

class ScenarioFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "aif_cli_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& extra) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << kScenario << extra;
    return path;
  }

  fs::path dir_;
};

TEST(RankByFlag, RejectsAnUnknownRanking) {
  for (const char* command : {"plan", "run"}) {
    Output o = Aifactory({command, "--rank-by", "speed"});
    EXPECT_EQ(o.code, 2) << command;
    EXPECT_TRUE(HasText(o.err, "--rank-by: speed not in {time,cost}")) << command;
    EXPECT_EQ(o.out, "") << command;
  }
}

TEST(RankByFlag, HelpNamesBothChoices) {
  for (const char* command : {"plan", "run"}) {
    Output o = Aifactory({command, "--help"});
    EXPECT_EQ(o.code, 0) << command;
    EXPECT_TRUE(HasText(o.out, "--rank-by")) << command;
    EXPECT_TRUE(HasText(o.out, "time (default) or cost")) << command;
  }
}

TEST_F(ScenarioFiles, RankByTimeIsTheDefaultAndChangesNothing) {
  const std::string path = Write("s.yaml", "");
  for (const char* command : {"plan", "run"}) {
    Output plain = Aifactory({command, path});
    Output by_time = Aifactory({command, path, "--rank-by", "time"});
    ASSERT_EQ(plain.code, 0) << plain.err;
    EXPECT_EQ(plain.out, by_time.out) << command;
    EXPECT_EQ(plain.out.find("cheapest"), std::string::npos) << command;
    EXPECT_EQ(plain.out.find("cost ($M)"), std::string::npos) << command;
    EXPECT_EQ(plain.out.find("ranked by cost"), std::string::npos) << command;
  }
}

TEST_F(ScenarioFiles, RankByCostReportsTheCheapestClusterSize) {
  const std::string path = Write("s.yaml", "");
  Output run = Aifactory({"run", path, "--rank-by", "cost"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(HasText(run.out, "  cheapest cluster: "));
  EXPECT_TRUE(HasText(run.out, "note: ranked by cost: on 32 GPUs every plan keeps all of them"));
  // Each scaling line ends with its cost.
  std::istringstream lines(run.out);
  int scaling = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("scaling:") == std::string::npos) continue;
    ++scaling;
    EXPECT_TRUE(line.ends_with("M") && line.find("  $") != std::string::npos) << line;
  }
  EXPECT_EQ(scaling, 2);

  Output plan = Aifactory({"plan", path, "--rank-by", "cost", "--top", "3"});
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_TRUE(HasText(plan.out, "compute days  cost ($M)\n"));
  EXPECT_TRUE(HasText(plan.out, "cluster sizes, cheapest first"));
  EXPECT_TRUE(HasText(plan.out, "note: ranked by cost"));
}

TEST_F(ScenarioFiles, ScenarioKeyAndTheFlagOverridesIt) {
  const std::string path = Write("s.yaml", "rank_by: cost\n");
  Output from_key = Aifactory({"run", path});
  ASSERT_EQ(from_key.code, 0) << from_key.err;
  EXPECT_TRUE(HasText(from_key.out, "  cheapest cluster: "));
  Output by_flag = Aifactory({"run", Write("t.yaml", ""), "--rank-by", "cost"});
  EXPECT_EQ(from_key.out, by_flag.out);
  Output overridden = Aifactory({"run", path, "--rank-by", "time"});
  ASSERT_EQ(overridden.code, 0) << overridden.err;
  EXPECT_EQ(overridden.out.find("cheapest"), std::string::npos);
}

TEST_F(ScenarioFiles, ScenarioKeyTypoSuggestsTheNearestChoice) {
  const std::string path = Write("s.yaml", "rank_by: costs\n");
  Output o = Aifactory({"run", path});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(HasText(o.err, path + ":16:10: rank_by: unknown ranking 'costs', expected time or cost "
                                    "(did you mean 'cost'?)"));
}

TEST_F(ScenarioFiles, SearchSectionLimitsPlanAndRunAndSaysSo) {
  const std::string path = Write("s.yaml", "search: {micro_batches: [1], offload: false, max_tp: 2}\n");
  Output plan = Aifactory({"plan", path, "--top", "1000"});
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_TRUE(HasText(plan.out, "limited by the scenario: micro-batches 1; no activation offload; tp at most 2\n"));
  // Every listed plan keeps to the limits (plan text "tpT ... mbsM ...").
  std::istringstream lines(plan.out);
  int listed = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" mbs") == std::string::npos) continue;
    ++listed;
    EXPECT_TRUE(HasText(line, " mbs1 ")) << line;
    EXPECT_TRUE(HasText(line, "  tp1 ") || HasText(line, "  tp2 ")) << line;
    EXPECT_FALSE(HasText(line, "offload")) << line;
  }
  EXPECT_GT(listed, 0);
  Output run = Aifactory({"run", path});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(HasText(run.out, "note: plan searches were limited by the scenario: micro-batches 1; no activation offload; tp at most 2"));
  // Without the section neither says anything of limits.
  Output plain = Aifactory({"plan", Write("t.yaml", "")});
  EXPECT_FALSE(HasText(plain.out, "limited by the scenario"));
}

TEST_F(ScenarioFiles, MemoryReserveIsHeldBackAndReported) {
  const std::string path = Write("s.yaml", "");
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string reserved = (dir_ / "r.yaml").string();
  std::ofstream(reserved) << std::string(text).replace(text.find("gpus: 32}"), 9, "gpus: 32, memory_reserve: \"10 GB\"}");
  Output o = Aifactory({"plan", reserved, "--top", "1000"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "10.0 GB of each GPU's HBM held in reserve (cluster.memory_reserve)\n"));
  Output run = Aifactory({"run", reserved, "--explain"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(HasText(run.out, "of 75.5 GB (10.0 GB of HBM held in reserve)"));  // 81559 MiB = 85.5 GB
  EXPECT_TRUE(HasText(run.out, "note: plans leave 10.0 GB of each GPU's HBM free (cluster.memory_reserve)"));
}

TEST_F(ScenarioFiles, PlanRanksTheScenariosOwnPlan) {
  // A plan the search also tries: its rank is the number of faster fitting plans plus one.
  Output o = Aifactory({"plan", Write("s.yaml", "plan: {tp: 8, pp: 4, micro_batch: 1}\n"), "--top", "1000"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "\nthe scenario's plan: tp8 pp4 dp1 mbs1 zero1\n  step time ")) << o.out;
  const size_t at = o.out.find("% slower than the best searched plan; ");
  ASSERT_NE(at, std::string::npos) << o.out;
  // The listed ranking agrees: as many rows above the scenario's step time as the count says.
  const long long faster = std::stoll(o.out.substr(at + std::string("% slower than the best searched plan; ").size()));
  const size_t step_at = o.out.find("  step time ") + 12;
  const double step = std::stod(o.out.substr(step_at));
  std::istringstream lines(o.out.substr(0, o.out.find("\nthe scenario's plan")));
  long long listed_faster = 0;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::string rank, plan_word;
    if (!(cells >> rank) || rank.find_first_not_of("0123456789") != std::string::npos) continue;
    // After the rank: the plan's words, then the step time (the first number with a decimal point).
    for (std::string w; cells >> w;) {
      if (w.find('.') != std::string::npos) {
        if (std::stod(w) < step) ++listed_faster;
        break;
      }
    }
  }
  EXPECT_EQ(faster, listed_faster) << o.out;
  // No plan, no such section.
  Output none = Aifactory({"plan", Write("n.yaml", ""), "--top", "1"});
  ASSERT_EQ(none.code, 0);
  EXPECT_FALSE(HasText(none.out, "the scenario's plan"));
  // The best plan itself (Llama 3 8B fits on each GPU at micro-batch 1; four-way context
  // parallelism runs attention as unmasked ring blocks of 2,048 keys, measured faster per FLOP than
  // the causal 8,192-token kernel); then the same plan against a search limited to micro-batch 4,
  // which it beats.
  const std::string best_plan = "plan: {tp: 1, pp: 1, cp: 4, micro_batch: 1}\n";
  Output best = Aifactory({"plan", Write("b.yaml", best_plan), "--top", "1"});
  ASSERT_EQ(best.code, 0) << best.err;
  EXPECT_TRUE(HasText(best.out, "  as fast as the best searched plan\n")) << best.out;
  Output outside = Aifactory({"plan", Write("o.yaml", best_plan + "search: {micro_batches: [4], offload: false}\n")});
  ASSERT_EQ(outside.code, 0) << outside.err;
  EXPECT_TRUE(HasText(outside.out, "  faster than every searched plan, whose best is ")) << outside.out;
  EXPECT_TRUE(HasText(outside.out, "% slower (the scenario's plan lies outside the search's candidate sets or limits)\n"));
  // A plan that does not fit says so, and the search still ranks the rest.
  Output big = Aifactory({"plan", Write("f.yaml", "plan: {tp: 1, pp: 1, micro_batch: 4}\n")});
  ASSERT_EQ(big.code, 0) << big.err;
  EXPECT_TRUE(HasText(big.out, "the scenario's plan: tp1 pp1 dp32 mbs4 zero1\n")) << big.out;
  EXPECT_TRUE(HasText(big.out, " GB (does not fit in memory)\n")) << big.out;
}

TEST_F(ScenarioFiles, SearchTakesTheFrameworkSettingsTheScenarioGrants) {
  const std::string moe = "name: settings\ncluster: {system: dgx-h100, gpus: 16}\nmodel: qwen3-30b-a3b\n"
                          "training: {tokens: \"1B\", seq_len: 4096, global_batch: 256}\n";
  const std::string plain_path = (dir_ / "plain.yaml").string();
  const std::string granted_path = (dir_ / "granted.yaml").string();
  std::ofstream(plain_path) << moe;
  std::ofstream(granted_path) << moe << "search: {ep_overlap: true, cuda_graphs: true}\n";
  Output plain = Aifactory({"plan", plain_path, "--top", "1"});
  Output granted = Aifactory({"plan", granted_path, "--top", "1"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(granted.code, 0) << granted.err;
  EXPECT_FALSE(HasText(plain.out, "framework settings")) << plain.out;
  EXPECT_TRUE(HasText(granted.out, "framework settings from the scenario: EP all-to-all overlapped with compute "
                                   "(ep-overlap) where a plan allows it; full-iteration CUDA graphs (cuda-graphs)\n"))
      << granted.out;
  EXPECT_TRUE(HasText(granted.out, " cuda-graphs ")) << granted.out;  // the best plan carries the setting
  EXPECT_FALSE(HasText(plain.out, "cuda-graphs")) << plain.out;
  // A fixed plan may carry them too; the scenario's run evaluates it with them.
  const std::string fixed = (dir_ / "fixed.yaml").string();
  std::ofstream(fixed) << moe << "plan: {tp: 1, pp: 1, ep: 8, micro_batch: 1, ep_overlap: true, cuda_graphs: true}\n";
  Output run = Aifactory({"run", fixed});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(HasText(run.out, "plan: tp1 pp1 dp16 ep8 mbs1 zero1 ep-overlap cuda-graphs (from the scenario)")) << run.out;
}

// Two measured runs of Llama 3 8B on 8 H100: one gives its micro-batch, one does not.
constexpr const char* kRuns =
    "row_id,model_id,accelerator_id,gpus,seq_len,tp,pp,dp,global_batch,micro_batch,dtype,metric,measured\n"
    "a,llama3-8b,h100-sxm,8,8192,1,1,8,128,1,bf16,tokens_per_s_per_gpu,9000\n"
    "b,llama3-8b,h100-sxm,8,8192,1,1,8,128,,bf16,tokens_per_s_per_gpu,9000\n";

TEST_F(ScenarioFiles, ValidateTakesFrameworkSettingsFromAFeaturesFile) {
  const std::string csv = (dir_ / "runs.csv").string();
  std::ofstream(csv) << kRuns;
  const std::string features = (dir_ / "features.csv").string();
  std::ofstream(features) << "row_id,cuda_graphs,features_source\na,true,a recipe\n";
  Output plain = Aifactory({"validate", csv, "--quiet", "--json", (dir_ / "p.json").string()});
  Output with = Aifactory({"validate", csv, "--quiet", "--features", features, "--json", (dir_ / "f.json").string()});
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(with.code, 0) << with.err;
  EXPECT_TRUE(HasText(with.err, "1 row of " + csv + " takes columns from " + features)) << with.err;
  Output explained = Aifactory({"validate", csv, "--features", features, "--explain", "a"});
  ASSERT_EQ(explained.code, 0) << explained.err;
  EXPECT_TRUE(HasText(explained.out, " cuda-graphs ")) << explained.out;  // the published plan carries it
  // A features file naming a row the CSV lacks fails the run, naming the file and line.
  std::ofstream(features) << "row_id,cuda_graphs\nzz,true\n";
  Output bad = Aifactory({"validate", csv, "--features", features});
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(HasText(bad.err, "features.csv:2: column 'row_id': no row zz in ")) << bad.err;
  EXPECT_EQ(bad.out, "");
}

TEST_F(ScenarioFiles, ValidateTakesKernelShapesFromACalibrationFile) {
  const std::string csv = (dir_ / "runs.csv").string();
  std::ofstream(csv) << kRuns;
  // An H100 calibration naming `shapes`; the file may carry its own table.
  auto calibration = [](const std::string& shapes, const std::string& table) {
    std::string keys = "gemm_16bit gemm_8bit gemm_4bit grouped_gemm attention memory scale_up scale_out "
                       "scale_up_latency host_kernel overlap_slowdown";
    std::string text = table + "calibration:\n  - accelerator: h100-sxm\n    gemm_16bit: 0.45\n    gemm_8bit: 0.5\n"
                       "    gemm_4bit: 0.7\n    grouped_gemm: 0.6\n    attention: 0.55\n    memory: 0.88\n"
                       "    scale_up: 0.8\n    scale_out: 0.9\n    scale_up_latency: \"3 us\"\n"
                       "    host_kernel: \"12 us\"\n    overlap_slowdown: 0.2\n";
    if (!shapes.empty()) text += "    kernel_shapes: " + shapes + "\n", keys += " kernel_shapes";
    text += "    sources:\n";
    std::istringstream words(keys);
    for (std::string k; words >> k;) text += "      " + k + ": test\n";
    return text;
  };
  auto predicted = [&](const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    Output o = Aifactory({"validate", csv, "--quiet", "--calibration", path});
    EXPECT_EQ(o.code, 0) << o.err;
    return o.out;
  };
  // A flat measured grid: every shape as good as the best, so no shape pays beyond its roofline.
  const std::string flat =
      "kernel_shapes:\n  - id: mine\n    measured_on: {peak_bf16: \"989 TFLOP/s\", peak_fp8: \"1979 TFLOP/s\", "
      "bandwidth: \"4 TB/s\"}\n    gemm: {m: [128], n: [512], k: [512], bf16: [[0.5]], fp8: [[0.5]]}\n"
      "    sources: {measured_on.peak_bf16: test, measured_on.peak_fp8: test, measured_on.bandwidth: test, "
      "gemm.bf16: test, gemm.fp8: test}\n";
  const std::string none = predicted("none.yaml", calibration("", ""));
  EXPECT_EQ(predicted("flat.yaml", calibration("mine", flat)), none);
  EXPECT_NE(predicted("builtin.yaml", calibration("h200-2026-12-04", "")), none);
  // A name neither the file nor the catalog has.
  const std::string typo = (dir_ / "typo.yaml").string();
  std::ofstream(typo) << calibration("h200-2026-12-4", "");
  Output bad = Aifactory({"validate", csv, "--calibration", typo});
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(HasText(bad.err, "typo.yaml: unknown kernel shapes 'h200-2026-12-4' (did you mean 'h200-2026-12-04'?)"))
      << bad.err;
  EXPECT_EQ(bad.out, "");
}

TEST_F(ScenarioFiles, CompareSearchSkipsRowsWithoutAFullPlan) {
  const std::string csv = (dir_ / "runs.csv").string();
  std::ofstream(csv) << kRuns;
  Output o = Aifactory({"validate", csv, "--quiet", "--compare-search"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "b        h100-sxm       llama3-8b        not compared: the row states no micro-batch"));
  EXPECT_TRUE(HasText(o.out, "published plan within 15% of the searched best: 1 of 1 rows")) << o.out;
  // Row a's rank among the searched plans that fit: "K/M" with 1 <= K <= M, the line's last word.
  const size_t at = o.out.find("\na ");
  ASSERT_NE(at, std::string::npos) << o.out;
  const std::string line = o.out.substr(at + 1, o.out.find('\n', at + 1) - at - 1);
  const std::string rank = line.substr(line.find_last_of(' ') + 1);
  const size_t slash = rank.find('/');
  ASSERT_NE(slash, std::string::npos) << line;
  const long long k = std::stoll(rank.substr(0, slash)), m = std::stoll(rank.substr(slash + 1));
  EXPECT_GE(k, 1) << line;
  EXPECT_LE(k, m) << line;
}

TEST_F(ScenarioFiles, ValidateExplainsOneRow) {
  const std::string csv = (dir_ / "runs.csv").string();
  std::ofstream(csv) << kRuns;
  Output o = Aifactory({"validate", csv, "--explain", "a"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "row a: tokens_per_s_per_gpu measured 9000, predicted")) << o.out;
  EXPECT_TRUE(HasText(o.out, "\n  assumed: recompute=")) << o.out;  // what the row left unsaid
  EXPECT_TRUE(HasText(o.out, "published plan tp1 pp1 dp8 mbs1 zero1:\nstep time")) << o.out;
  EXPECT_TRUE(HasText(o.out, "searched best tp")) << o.out;
  EXPECT_TRUE(HasText(o.out, "memory per GPU")) << o.out;
  EXPECT_FALSE(HasText(o.out, "published plan within 15%")) << o.out;

  Output missing = Aifactory({"validate", csv, "--explain", "zz"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_TRUE(HasText(missing.err, "runs.csv: no row with row_id 'zz'")) << missing.err;
  EXPECT_EQ(missing.out, "");
}

// A plan whose offloaded activations overflow the node's host memory says so, not "does not fit"
// beside an HBM figure that fits (Llama 3 70B at micro-batch 2 on one GB300 stage: 218 GB of
// activations to host memory against the 202 GB a GB300 node gives each GPU).
TEST(EstimateCommand, SaysWhenOffloadOverflowsHostMemory) {
  Output o = Aifactory({"estimate", "--model", "llama3-70b", "--system", "gb300-nvl72", "--gpus", "64", "--seq",
                        "8192", "--global-batch", "256", "--precision", "nvfp4", "--micro-batch", "2",
                        "--offload-layers", "62"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "do not fit in the GPU's 202.0 GB of host memory)")) << o.out;
  Output explained = Aifactory({"estimate", "--model", "llama3-70b", "--system", "gb300-nvl72", "--gpus", "64",
                                "--seq", "8192", "--global-batch", "256", "--precision", "nvfp4", "--micro-batch",
                                "2", "--offload-layers", "62", "--explain"});
  ASSERT_EQ(explained.code, 0) << explained.err;
  EXPECT_TRUE(HasText(explained.out, "activations offloaded to host memory")) << explained.out;
  EXPECT_TRUE(HasText(explained.out, "GB of the GPU's 202.0 GB  (DOES NOT FIT)")) << explained.out;
  Output fits = Aifactory({"estimate", "--model", "llama3-70b", "--system", "gb300-nvl72", "--gpus", "64", "--seq",
                           "8192", "--global-batch", "256", "--precision", "nvfp4", "--micro-batch", "1",
                           "--offload-layers", "40"});
  ASSERT_EQ(fits.code, 0) << fits.err;
  EXPECT_FALSE(HasText(fits.out, "host memory")) << fits.out;
}

// `catalog show` of a system gives its host link and host memory with every value's source.
TEST(CatalogCommand, ShowsASystemWithItsHostMemoryAndSources) {
  Output o = Aifactory({"catalog", "show", "gb300-nvl72"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "host memory 808 GB per node (202 GB per GPU)\n")) << o.out;
  EXPECT_TRUE(HasText(o.out, "  sources:\n")) << o.out;
  EXPECT_TRUE(HasText(o.out, "    host_memory: MLPERF_V5_1")) << o.out;
}

// The header names the MoE dispatcher where the scenario chose the NCCL all-to-all.
TEST_F(ScenarioFiles, PlanHeaderNamesANonDefaultMoeDispatcher) {
  const std::string path = (dir_ / "moe.yaml").string();
  std::ofstream(path) << "cluster: {system: dgx-h100, gpus: 16}\nmodel: qwen3-30b-a3b\n"
                         "training: {seq_len: 4096, global_batch: 64, moe_dispatcher: alltoall}\n";
  Output o = Aifactory({"plan", path});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "seq 4096 gbs 64, alltoall dispatcher\n")) << o.out;
}

// NCCL CTA caps: the header names them, the JSON estimate carries them, and a plan whose context
// parallelism stays inside the NVLink domain runs slower with the ring on one CTA.
TEST_F(ScenarioFiles, NcclCtaCapsAreNamedAndSlowTheCappedCommunicator) {
  const std::string base = "cluster: {system: gb200-nvl72, gpus: 8}\nmodel: llama3-8b\n"
                           "plan: {tp: 1, pp: 1, dp: 4, cp: 2, micro_batch: 1}\n";
  const std::string free = (dir_ / "free.yaml").string();
  const std::string capped = (dir_ / "capped.yaml").string();
  std::ofstream(free) << base << "training: {seq_len: 8192, global_batch: 64}\n";
  std::ofstream(capped) << base << "training: {seq_len: 8192, global_batch: 64, nccl_max_ctas: {cp: 1, dp: 8}}\n";
  const std::string json = (dir_ / "capped.json").string();
  Output a = Aifactory({"run", free, "--explain"});
  Output b = Aifactory({"run", capped, "--explain", "--json", json});
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_TRUE(HasText(b.out, "seq 8192 gbs 64, NCCL CTAs capped (cp=1 dp=8)\n")) << b.out;
  EXPECT_FALSE(HasText(a.out, "NCCL CTAs")) << a.out;
  auto cp_seconds = [](const std::string& out) {
    const size_t at = out.find("CP comm (exposed)");
    return at == std::string::npos ? -1.0 : std::stod(out.substr(at + std::string("CP comm (exposed)").size()));
  };
  EXPECT_GT(cp_seconds(b.out), cp_seconds(a.out)) << a.out << b.out;
  std::ifstream in(json);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(HasText(text, "\"nccl_max_ctas\": {\n")) << text;
  EXPECT_TRUE(HasText(text, "\"cp\": 1")) << text;
}

// Token dropping: the header names the capacity factor, and the plans searched take a MoE layer
// captured whole as a CUDA graph, which a dropless job refuses at its key.
TEST_F(ScenarioFiles, TokenDroppingIsNamedAndLetsAMoeLayerBeOneGraph) {
  const std::string path = (dir_ / "drop.yaml").string();
  std::ofstream(path) << "cluster: {system: dgx-h100, gpus: 16}\nmodel: qwen3-30b-a3b\n"
                         "training: {seq_len: 4096, global_batch: 64, moe_capacity_factor: 1.25}\n"
                         "search: {cuda_graph_modules: [attn, moe]}\n";
  Output o = Aifactory({"plan", path});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, "seq 4096 gbs 64, tokens dropped beyond capacity factor 1.25\n")) << o.out;
  EXPECT_TRUE(HasText(o.out, "graphs=attn+moe")) << o.out;
  const std::string dropless = (dir_ / "dropless.yaml").string();
  std::ofstream(dropless) << "cluster: {system: dgx-h100, gpus: 16}\nmodel: qwen3-30b-a3b\n"
                             "training: {seq_len: 4096, global_batch: 64}\n"
                             "search: {cuda_graph_modules: [attn, moe]}\n";
  Output refused = Aifactory({"plan", dropless});
  EXPECT_NE(refused.code, 0);
  EXPECT_TRUE(HasText(refused.err, "dropless.yaml:4:37: search.cuda_graph_modules[1]: moe (a MoE layer's whole MLP) "
                                   "needs token dropping and padding"))
      << refused.err;
}

// The header names per-tensor FP8's scaling where the scenario chose delayed scaling.
TEST_F(ScenarioFiles, PlanHeaderNamesDelayedFp8Scaling) {
  const std::string path = (dir_ / "fp8.yaml").string();
  std::ofstream(path) << "cluster: {system: dgx-h100, gpus: 8}\nmodel: llama3-8b\n"
                         "training: {seq_len: 8192, global_batch: 64, precision: fp8, fp8_scaling: delayed}\n";
  Output o = Aifactory({"plan", path});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(HasText(o.out, ", fp8 (delayed scaling) seq 8192 gbs 64\n")) << o.out;
}

}  // namespace
}  // namespace aif::cli
