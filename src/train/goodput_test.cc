#include <gtest/gtest.h>

#include <cmath>

#include "aifactory/train/goodput.h"

namespace aif::train {
namespace {

TEST(Goodput, YoungAndDalyIntervals) {
  // delta = 60 s, M = 3 h: Young sqrt(2 * 60 * 10800) = 1138.4 s.
  EXPECT_NEAR(YoungInterval(Seconds(60), Seconds(10800)).value(), 1138.42, 0.01);
  // Daly adds the higher-order terms and subtracts delta; for delta << M it stays within 5%
  // of Young's.
  double daly = DalyInterval(Seconds(60), Seconds(10800)).value();
  double x = 60.0 / (2 * 10800);
  EXPECT_NEAR(daly, std::sqrt(2 * 60.0 * 10800) * (1 + std::sqrt(x) / 3 + x / 9) - 60, 1e-9);
  EXPECT_NEAR(daly / 1138.42, 1.0, 0.05);
  // delta >= 2M: checkpoint once per MTBF.
  EXPECT_EQ(DalyInterval(Seconds(100), Seconds(40)).value(), 40);
}

TEST(Goodput, NoFailuresMeansNoOverhead) {
  Goodput g = EstimateGoodput(Seconds(86400), 1024, ReliabilityInputs{0, Seconds(60), Seconds(600)});
  EXPECT_EQ(g.wall_time.value(), 86400);
  EXPECT_EQ(g.effective_fraction, 1);
  EXPECT_EQ(g.expected_interruptions, 0);
}

TEST(Goodput, FirstOrderOverheadMatchesTheClassicFormula) {
  // For delta, R << M the overhead is about delta/tau + (tau/2 + delta + R)/M (Young 1974).
  ReliabilityInputs in{1e-6, Seconds(10), Seconds(60)};
  int gpus = 1000;  // M = 1 / (1e-3 per hour) = 1000 h
  Goodput g = EstimateGoodput(Seconds(30 * 86400), gpus, in);
  double m = 3600.0 / (1e-6 * gpus);
  double tau = g.checkpoint_interval.value();
  double first_order = 10 / tau + (tau / 2 + 10 + 60) / m;
  EXPECT_NEAR(1 / g.effective_fraction - 1, first_order, 0.05 * first_order);
  EXPECT_NEAR(g.checkpoint_fraction + g.lost_work_fraction + g.restart_fraction + g.effective_fraction, 1, 1e-9);
}

TEST(Goodput, MoreGpusMeanMoreInterruptionsAndLowerGoodput) {
  ReliabilityInputs in{2e-5, Seconds(30), Seconds(600)};
  Goodput small = EstimateGoodput(Seconds(86400 * 30), 1024, in);
  Goodput large = EstimateGoodput(Seconds(86400 * 30), 16384, in);
  EXPECT_LT(large.effective_fraction, small.effective_fraction);
  EXPECT_GT(large.expected_interruptions, small.expected_interruptions);
  EXPECT_LT(large.checkpoint_interval, small.checkpoint_interval);
}

}  // namespace
}  // namespace aif::train
