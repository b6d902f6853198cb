// `aifactory timeline`, end to end through Main: what it prints, the trace it writes, its errors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "commands.h"

namespace aif::cli {
namespace {

namespace fs = std::filesystem;

// Llama 3 8B on 64 H100: tp 8, pp 2, dp 4, so the DP rings cross the fabric.
constexpr const char* kScenario = R"(name: timeline test
cluster: {system: dgx-h100, gpus: 64}
model: llama3-8b
training: {tokens: "20B", seq_len: 4096, global_batch: 32}
plan: {tp: 8, pp: 2, micro_batch: 1}
)";

class TimelineCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "aif_timeline_cli_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    scenario_ = (dir_ / "s.yaml").string();
    std::ofstream(scenario_) << kScenario;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string scenario_;
};

double SecondsAfter(const std::string& text, const std::string& label) {
  const auto at = text.find(label);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + label.size()));
}

TEST_F(TimelineCommand, PrintsBothRunsAgainstTheStepModelAndWritesATrace) {
  const std::string trace = (dir_ / "trace.json").string();
  Output o = Aifactory({"timeline", scenario_, "--trace", trace});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("plan: tp8 pp2"), std::string::npos) << o.out;
  const double analytic = SecondsAfter(o.out, "step model (analytic):");
  const double step_comm = SecondsAfter(o.out, "timeline, step-model comm:");
  const double network = SecondsAfter(o.out, "timeline, network:");
  ASSERT_GT(analytic, 0) << o.out;
  EXPECT_NEAR(step_comm, analytic, 0.03 * analytic);
  EXPECT_NEAR(network, analytic, 0.10 * analytic);
  EXPECT_NE(o.out.find("critical path:"), std::string::npos);
  EXPECT_NE(o.out.find("4 of 4 replicas simulated (the full factory)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("  nic "), std::string::npos);
  std::ifstream in(trace);
  const auto json = nlohmann::json::parse(in);
  ASSERT_TRUE(json["traceEvents"].is_array());
  EXPECT_GT(json["traceEvents"].size(), 10u);
  // Deterministic: the same command prints the same text.
  Output again = Aifactory({"timeline", scenario_});
  EXPECT_EQ(again.out.substr(0, again.out.find("trace:")), o.out.substr(0, o.out.find("trace:")));
}

TEST_F(TimelineCommand, ReplicateIsReported) {
  Output o = Aifactory({"timeline", scenario_, "--replicate"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("1 of 4 replicas simulated (--replicate"), std::string::npos) << o.out;
}

TEST_F(TimelineCommand, RoutingPolicyIsAnOptionAndReported) {
  Output adaptive = Aifactory({"timeline", scenario_, "--replicate"});
  Output ecmp = Aifactory({"timeline", scenario_, "--replicate", "--routing", "ecmp"});
  ASSERT_EQ(adaptive.code, 0) << adaptive.err;
  ASSERT_EQ(ecmp.code, 0) << ecmp.err;
  EXPECT_NE(adaptive.out.find("adaptive routing;"), std::string::npos) << adaptive.out;
  EXPECT_NE(ecmp.out.find("ecmp routing;"), std::string::npos) << ecmp.out;
  Output bad = Aifactory({"timeline", scenario_, "--routing", "random"});
  EXPECT_EQ(bad.code, 2);  // a usage error
  // The scenario's cluster.routing is the default; the option overrides it.
  std::string text = kScenario;
  text.replace(text.find("gpus: 64}"), 9, "gpus: 64, routing: ecmp}");
  const std::string ecmp_scenario = (dir_ / "ecmp.yaml").string();
  std::ofstream(ecmp_scenario) << text;
  Output from_scenario = Aifactory({"timeline", ecmp_scenario, "--replicate"});
  ASSERT_EQ(from_scenario.code, 0) << from_scenario.err;
  EXPECT_NE(from_scenario.out.find("ecmp routing;"), std::string::npos) << from_scenario.out;
  Output overridden = Aifactory({"timeline", ecmp_scenario, "--replicate", "--routing", "adaptive"});
  ASSERT_EQ(overridden.code, 0) << overridden.err;
  EXPECT_NE(overridden.out.find("adaptive routing;"), std::string::npos) << overridden.out;
  EXPECT_NE(bad.err.find("--routing"), std::string::npos) << bad.err;
}

TEST_F(TimelineCommand, StragglerSlowsTheIteration) {
  Output base = Aifactory({"timeline", scenario_, "--no-network"});
  Output slow = Aifactory({"timeline", scenario_, "--no-network", "--straggler", "1:1.5"});
  ASSERT_EQ(base.code, 0) << base.err;
  ASSERT_EQ(slow.code, 0) << slow.err;
  EXPECT_NE(slow.out.find("straggler: replica 0 stage 1 computes x1.5"), std::string::npos)
      << slow.out;
  EXPECT_GT(SecondsAfter(slow.out, "timeline, step-model comm:"),
            SecondsAfter(base.out, "timeline, step-model comm:"));
  EXPECT_EQ(base.out.find("timeline, network:"), std::string::npos);
}

TEST_F(TimelineCommand, Errors) {
  Output bad = Aifactory({"timeline", scenario_, "--straggler", "x"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("expected STAGE:FACTOR"), std::string::npos) << bad.err;
  Output stage = Aifactory({"timeline", scenario_, "--straggler", "5:1.2"});
  EXPECT_EQ(stage.code, 1);
  EXPECT_NE(stage.err.find("stage 5 is not in the plan's 2 pipeline stages"), std::string::npos)
      << stage.err;
  Output negative = Aifactory({"timeline", scenario_, "--straggler", "0:-1"});
  EXPECT_EQ(negative.code, 1);
  Output missing = Aifactory({"timeline", (dir_ / "none.yaml").string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("none.yaml"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace aif::cli
