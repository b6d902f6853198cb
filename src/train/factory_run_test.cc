// RunFactory ranked by time and by cost: the cheapest cluster size, and each size's cost.
#include "aifactory/train/factory_run.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "aifactory/train/plan_search.h"
#include "aifactory_test/text.h"
#include "aifactory_test/train_fixtures.h"

namespace aif::train {
namespace {

using ::aif::testing::H100Cluster;
using ::aif::testing::HasText;
using ::aif::testing::Llama3_8B;



// Llama 3 8B on 32 H100 for 20B tokens, with failures, prices and four other cluster sizes.
FactoryRunInputs Inputs(RankBy rank_by) {
  FactoryRunInputs in;
  in.name = "rank by";
  in.job.model = Llama3_8B();
  in.job.seq_len = 8192;
  in.job.global_batch = 128;
  in.cluster = H100Cluster(32);
  in.tokens = 20e9;
  in.reliability.interruptions_per_gpu_hour = 2e-5;
  in.reliability.checkpoint_write = Seconds(30);
  in.reliability.restart = Seconds(600);
  in.costs.gpu_capex_usd = 30000;
  in.costs.rack_capex_usd = 100000;
  in.costs.amortization_years = 4;
  in.costs.electricity_usd_per_kwh = 0.09;
  in.costs.pue = 1.2;
  in.costs.rack_overhead_w = 4000;
  in.rank_by = rank_by;
  in.scaling_gpus = {8, 16, 64, 128};
  return in;
}

TEST(RankBy, NamesAndParsesBothWays) {
  EXPECT_STREQ(RankByName(RankBy::kTime), "time");
  EXPECT_STREQ(RankByName(RankBy::kCost), "cost");
  EXPECT_EQ(*ParseRankBy("time"), RankBy::kTime);
  EXPECT_EQ(*ParseRankBy("cost"), RankBy::kCost);
  Result<RankBy> bad = ParseRankBy("costs");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown ranking 'costs', expected time or cost (did you mean 'cost'?)");
}

// An 8- or 4-bit run says where its weights live; a 16-bit one says nothing about it.
TEST(FactoryRun, NotesWhereLowPrecisionWeightsLive) {
  FactoryRunInputs in = Inputs(RankBy::kTime);
  in.scaling_gpus.clear();
  auto notes_of = [&](catalog::Precision p, bool kept) {
    in.job.precision = p;
    in.job.low_precision_weights = kept;
    Result<FactoryRun> run = RunFactory(in);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    std::string all;
    if (run.ok()) {
      for (const auto& n : run->notes) all += n + "\n";
    }
    return all;
  };
  EXPECT_EQ(notes_of(catalog::Precision::kBf16, true).find("weights kept"), std::string::npos);
  EXPECT_TRUE(HasText(notes_of(catalog::Precision::kFp8, true), "weights kept in fp8 alone"));
  EXPECT_TRUE(HasText(notes_of(catalog::Precision::kFp8, false), "weights kept in BF16 beside their fp8 copies"));
}

TEST(FactoryRunRankBy, CheapestIsTheLeastCostOfTheScalingPoints) {
  Result<FactoryRun> run = RunFactory(Inputs(RankBy::kCost));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(run->cheapest.has_value());
  // The candidates: the run's own size and the scaling points, each with a plan that fits.
  double least = run->cost.total_usd;
  int least_gpus = run->inputs.cluster.gpus;
  for (const ScalingPoint& p : run->scaling) {
    ASSERT_TRUE(p.feasible) << p.gpus;
    EXPECT_GT(p.cost.total_usd, 0) << p.gpus;
    if (p.cost.total_usd < least) {
      least = p.cost.total_usd;
      least_gpus = p.gpus;
    }
  }
  EXPECT_EQ(run->cheapest->cost.total_usd, least);
  EXPECT_EQ(run->cheapest->gpus, least_gpus);
  // Failures grow with the GPU count, so the sizes do not all cost the same.
  EXPECT_NE(run->scaling.front().cost.total_usd, run->scaling.back().cost.total_usd);
}

TEST(FactoryRunRankBy, EachSizeCostsItsElapsedTimeWithFailuresOnItsOwnCluster) {
  Result<FactoryRun> run = RunFactory(Inputs(RankBy::kTime));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  for (const ScalingPoint& p : run->scaling) {
    Cluster c = run->inputs.cluster;
    c.gpus = p.gpus;
    const Goodput g = EstimateGoodput(Seconds(run->steps * p.step_time_s), p.gpus, run->inputs.reliability);
    EXPECT_GT(g.wall_time.value(), run->steps * p.step_time_s) << p.gpus;  // failures are counted
    const TrainingCost expected = CostOf(c, g.wall_time, run->inputs.costs);
    EXPECT_EQ(p.cost.total_usd, expected.total_usd) << p.gpus;
    EXPECT_EQ(p.cost.energy_kwh, expected.energy_kwh) << p.gpus;
    EXPECT_EQ(p.days_to_train, g.wall_time.value() / 86400) << p.gpus;
  }
  // The run's own size, priced the same way, is the main run's cost.
  const ScalingPoint own = EvaluatePlan(run->inputs, run->inputs.cluster, run->best, run->steps);
  EXPECT_EQ(own.cost.total_usd, run->cost.total_usd);
  EXPECT_EQ(own.days_to_train, run->goodput.wall_time.value() / 86400);
}

TEST(FactoryRunRankBy, TimeLeavesTheRunAsItWas) {
  Result<FactoryRun> by_time = RunFactory(Inputs(RankBy::kTime));
  Result<FactoryRun> by_cost = RunFactory(Inputs(RankBy::kCost));
  ASSERT_TRUE(by_time.ok() && by_cost.ok());
  EXPECT_FALSE(by_time->cheapest.has_value());
  // No note about cost ranking; the same plan, time, cost and scaling curve either way.
  EXPECT_TRUE(by_time->notes.empty());
  ASSERT_EQ(by_cost->notes.size(), 1u);
  EXPECT_TRUE(HasText(by_cost->notes[0], "on 32 GPUs every plan keeps all of them for the whole run, so the "
                                         "cheapest plan is the fastest"));
  EXPECT_EQ(by_time->best.plan.ToString(), by_cost->best.plan.ToString());
  EXPECT_EQ(by_time->goodput.wall_time, by_cost->goodput.wall_time);
  EXPECT_EQ(by_time->cost.total_usd, by_cost->cost.total_usd);
  ASSERT_EQ(by_time->scaling.size(), by_cost->scaling.size());
  for (size_t i = 0; i < by_time->scaling.size(); ++i) {
    EXPECT_EQ(by_time->scaling[i].plan.ToString(), by_cost->scaling[i].plan.ToString());
    EXPECT_EQ(by_time->scaling[i].cost.total_usd, by_cost->scaling[i].cost.total_usd);
  }
}

TEST(FactoryRunRankBy, OneClusterSizeHasNoCheapestAndSaysWhy) {
  FactoryRunInputs in = Inputs(RankBy::kCost);
  in.scaling_gpus.clear();
  Result<FactoryRun> run = RunFactory(in);
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->cheapest.has_value());
  ASSERT_EQ(run->notes.size(), 1u);
  EXPECT_TRUE(HasText(run->notes[0], "cost ranking chooses between cluster sizes (give `scaling` or "
                                     "`find_min_gpus: true`)"));
}

TEST(FactoryRunRankBy, NoPricesNoCheapest) {
  FactoryRunInputs in = Inputs(RankBy::kCost);
  in.costs = CostInputs{};
  Result<FactoryRun> run = RunFactory(in);
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->cheapest.has_value());
  EXPECT_TRUE(HasText(run->notes.back(), "no prices given"));
  // Energy is still counted at every size.
  for (const ScalingPoint& p : run->scaling) EXPECT_GT(p.cost.energy_kwh, 0) << p.gpus;
}

TEST(FactoryRunRankBy, SmallestClusterIsACandidate) {
  FactoryRunInputs in = Inputs(RankBy::kCost);
  in.scaling_gpus.clear();
  in.find_min_gpus = true;
  Result<FactoryRun> run = RunFactory(in);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(run->min_cluster.has_value());
  ASSERT_TRUE(run->cheapest.has_value());
  EXPECT_EQ(run->cheapest->cost.total_usd, std::min(run->cost.total_usd, run->min_cluster->cost.total_usd));
}

TEST(ClusterSizesByCost, CheapestFirstThenFewerGpusOnePerSizeOnlyThoseThatFit) {
  Result<FactoryRun> run = RunFactory(Inputs(RankBy::kTime));
  ASSERT_TRUE(run.ok());
  FactoryRun r = *run;
  ScalingPoint tie = r.scaling[0];  // 8 GPUs
  tie.gpus = 4;
  ScalingPoint infeasible;
  infeasible.gpus = 2;
  ScalingPoint own_again = r.scaling[1];
  own_again.gpus = r.inputs.cluster.gpus;  // a second entry for the run's own size
  own_again.cost.total_usd = 0;
  r.scaling.push_back(tie);
  r.scaling.push_back(infeasible);
  r.scaling.push_back(own_again);
  std::vector<ScalingPoint> sizes = ClusterSizesByCost(r);
  ASSERT_EQ(sizes.size(), 6u);  // 32 (the run's own), 8, 16, 64, 128, 4
  for (size_t i = 1; i < sizes.size(); ++i) {
    EXPECT_LE(sizes[i - 1].cost.total_usd, sizes[i].cost.total_usd);
    if (sizes[i - 1].cost.total_usd == sizes[i].cost.total_usd) {
      EXPECT_LT(sizes[i - 1].gpus, sizes[i].gpus);
    }
  }
  // The run's own size is priced from the run, not from the later duplicate.
  auto own = std::find_if(sizes.begin(), sizes.end(), [&](const ScalingPoint& p) { return p.gpus == 32; });
  ASSERT_NE(own, sizes.end());
  EXPECT_EQ(own->cost.total_usd, r.cost.total_usd);
  EXPECT_TRUE(std::none_of(sizes.begin(), sizes.end(), [](const ScalingPoint& p) { return p.gpus == 2; }));
}

}  // namespace
}  // namespace aif::train
