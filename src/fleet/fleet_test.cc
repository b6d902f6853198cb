#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "aifactory/core/random.h"
#include "aifactory/fleet/cluster_inventory.h"
#include "aifactory/fleet/replay.h"
#include "aifactory/fleet/trace.h"
#include "aifactory/fleet/trace_stats.h"

namespace aif::fleet {
namespace {

JobRecord Job(double start, double duration, int gpus, int gpu_milli = 1000) {
  JobRecord j;
  j.id = "j" + std::to_string(static_cast<long long>(start * 1000)) + "_" + std::to_string(gpus);
  j.submit_time = Seconds(start);
  j.start_time = Seconds(start);
  j.duration = Seconds(duration);
  j.end_time = Seconds(start + duration);
  j.gpus = gpus;
  j.gpu_milli = gpu_milli;
  return j;
}

Trace Started(std::vector<JobRecord> jobs) {
  Trace t;
  t.source = "hand";
  t.jobs = std::move(jobs);
  t.records_start_times = true;
  return t;
}

// ---------------------------------------------------------------- statistics (compute_stats.py)

TEST(fleetStats, PercentileInterpolatesLikeNumpy) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 2.5);  // numpy.percentile([1,2,3,4], 50)
  EXPECT_DOUBLE_EQ(Percentile(v, 10), 1.3);
  EXPECT_DOUBLE_EQ(Percentile(v, 99), 3.97);
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(Percentile({7}, 90), 7);
  EXPECT_TRUE(std::isnan(Percentile({}, 50)));
}

TEST(fleetStats, ExactSumIsCorrectlyRounded) {
  EXPECT_EQ(ExactSum({1e16, 1.0, -1e16}), 1.0);
  EXPECT_EQ(ExactSum(std::vector<double>(10, 0.1)), 1.0);          // math.fsum([0.1]*10) == 1.0
  EXPECT_EQ(ExactSum({1e-16, 1.0, 1e16}), 1.0000000000000002e16);  // the half-even fix-up
  EXPECT_EQ(ExactSum({}), 0.0);
}

TEST(fleetStats, SummaryIsPopulationStd) {
  Summary s = Summarize({9, 2, 4, 4, 5, 4, 5, 7});
  EXPECT_EQ(s.n, 8);
  EXPECT_EQ(s.min, 2);
  EXPECT_EQ(s.max, 9);
  EXPECT_DOUBLE_EQ(s.mean, 5);
  EXPECT_DOUBLE_EQ(s.std, 2);  // statistics.pstdev
  EXPECT_DOUBLE_EQ(s.median(), 4.5);
  EXPECT_EQ(Summarize({3}).std, 0);
  EXPECT_EQ(Summarize({}).n, 0);
}

TEST(fleetStats, TraceStatsCountLikeTheScript) {
  Trace t = Started({Job(0, 10, 1), Job(5, 20, 8), Job(5, 30, 1, 500)});
  t.jobs[0].status = "Failed";
  t.jobs[1].status = "Running";
  t.jobs[2].status = "Running";
  t.jobs[1].job_type = "ResNet-50 (batch size 64)";
  t.jobs[2].job_type = "ResNet-50 (batch size 128)";
  JobRecord pending;
  pending.submit_time = Seconds(3);
  pending.end_time = Seconds(4);
  pending.status = "Pending";
  t.jobs.push_back(pending);
  TraceStats st = ComputeTraceStats(t);
  EXPECT_EQ(st.jobs, 4);
  EXPECT_EQ(st.gpu_jobs, 3);
  EXPECT_EQ(st.gpus_per_job, (std::map<int, std::int64_t>{{0, 1}, {1, 2}, {8, 1}}));
  EXPECT_EQ(st.total_gpus, 10);
  EXPECT_DOUBLE_EQ(st.total_gpu_share, 9.5);
  EXPECT_EQ(st.status_counts, (CountList{{"Running", 2}, {"Failed", 1}, {"Pending", 1}}));
  EXPECT_EQ(st.job_families, (CountList{{"ResNet-50", 2}}));
  ASSERT_TRUE(st.runtime && st.lifetime && st.wait);
  EXPECT_EQ(st.runtime->n, 3);
  EXPECT_EQ(st.lifetime->n, 4);
  EXPECT_EQ(st.jobs_without_start, 1);
  EXPECT_FALSE(st.submit_sorted);  // 0, 5, 5, 3
  EXPECT_EQ(*st.span, 5);
  EXPECT_EQ(*st.last_end, 35);
  EXPECT_DOUBLE_EQ(*st.arrival_rate_per_hour, 4 / (5.0 / 3600));
}

// ---------------------------------------------------------------- replay

TEST(fleetReplay, TwoOverlappingJobs) {
  // 4 GPUs: [0,10) holds 2, [5,15) holds 2 -> busy 2,4,2 over 5 s each = 40 GPU-s of 60.
  auto r = ReplayTrace(Started({Job(0, 10, 2), Job(5, 10, 2)}), 4);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->jobs_replayed, 2);
  EXPECT_EQ(r->peak_busy_gpus, 4);
  EXPECT_EQ(r->peak_whole_gpus, 4);
  EXPECT_EQ(r->peak_time.value(), 5);
  EXPECT_DOUBLE_EQ(r->busy_gpu_seconds, 40);
  EXPECT_EQ(r->window_begin.value(), 0);
  EXPECT_EQ(r->window_end.value(), 15);
  EXPECT_DOUBLE_EQ(r->mean_utilization, 40.0 / 60.0);
  EXPECT_TRUE(r->WithinCapacity());
  ASSERT_EQ(r->series.size(), 4u);
  EXPECT_EQ(r->series[1].time.value(), 5);
  EXPECT_EQ(r->series[1].busy_gpus, 4);
  EXPECT_EQ(r->series[3].busy_gpus, 0);
  EXPECT_EQ(r->events_run, 4u);
}

TEST(fleetReplay, EndsReleaseBeforeStartsAtTheSameInstant) {
  // The second job starts exactly when the first ends: never 8 GPUs at once on a 4-GPU cluster.
  auto r = ReplayTrace(Started({Job(10, 10, 4), Job(0, 10, 4)}), 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->peak_busy_gpus, 4);
  EXPECT_TRUE(r->WithinCapacity());
  EXPECT_DOUBLE_EQ(r->mean_utilization, 1.0);
  ASSERT_EQ(r->series.size(), 3u);  // one point per instant: 0, 10, 20
}

TEST(fleetReplay, OverCapacityJobsAreCountedNotDropped) {
  auto r = ReplayTrace(Started({Job(0, 10, 3), Job(2, 4, 2), Job(3, 1, 1)}), 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs_replayed, 3);
  EXPECT_EQ(r->jobs_over_capacity, 2);  // the 2-GPU job (5 > 4) and the 1-GPU job (6 > 4)
  EXPECT_FALSE(r->WithinCapacity());
  EXPECT_EQ(r->peak_busy_gpus, 6);
  EXPECT_DOUBLE_EQ(r->time_over_capacity.value(), 4);  // [2, 6)
  EXPECT_DOUBLE_EQ(r->busy_gpu_seconds, 30 + 8 + 1);
}

TEST(fleetReplay, GpuSharesAndJobsThatHoldNothing) {
  Trace t = Started({Job(0, 10, 1, 460), Job(0, 10, 1, 540), Job(0, 0, 2), Job(1, 5, 0)});
  JobRecord never;  // a pending pod: the trace records starts and this one has none
  never.submit_time = Seconds(2);
  never.end_time = Seconds(9);
  never.gpus = 8;
  t.jobs.push_back(never);
  auto r = ReplayTrace(t, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs_replayed, 2);
  EXPECT_EQ(r->zero_length_jobs, 1);
  EXPECT_EQ(r->jobs_without_gpus, 1);
  EXPECT_EQ(r->jobs_never_started, 1);
  EXPECT_DOUBLE_EQ(r->peak_busy_gpus, 1.0);  // two shares of one GPU
  EXPECT_EQ(r->peak_whole_gpus, 2);
  EXPECT_DOUBLE_EQ(r->mean_utilization, 0.5);
}

TEST(fleetReplay, SubmitTimeWhenTheTraceHasNoStarts) {
  Trace t;
  JobRecord j;
  j.submit_time = Seconds(100);
  j.duration = Seconds(50);
  j.gpus = 1;
  t.jobs = {j};
  JobRecord untimed;  // a run time with no arrival (philly_runtime)
  untimed.duration = Seconds(5);
  untimed.gpus = 1;
  t.jobs.push_back(untimed);
  JobRecord no_duration;  // an arrival with no duration (Gavel)
  no_duration.submit_time = Seconds(1);
  no_duration.gpus = 1;
  t.jobs.push_back(no_duration);
  auto r = ReplayTrace(t, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs_replayed, 1);
  EXPECT_EQ(r->jobs_without_time, 1);
  EXPECT_EQ(r->jobs_without_duration, 1);
  EXPECT_EQ(r->window_begin.value(), 100);
  EXPECT_DOUBLE_EQ(r->mean_utilization, 1.0);
}

TEST(fleetReplay, WindowAndBins) {
  ReplayOptions o;
  o.window_begin = Seconds(0);
  o.window_end = Seconds(40);
  auto r = ReplayTrace(Started({Job(5, 10, 2), Job(20, 10, 4)}), 4, o);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->busy_gpu_seconds, 20 + 40);
  EXPECT_DOUBLE_EQ(r->mean_utilization, 60.0 / 160.0);
  std::vector<double> bins = UtilizationByBin(*r, Seconds(10));
  ASSERT_EQ(bins.size(), 4u);
  EXPECT_DOUBLE_EQ(bins[0], 10.0 / 40.0);  // 2 GPUs over [5,10)
  EXPECT_DOUBLE_EQ(bins[1], 10.0 / 40.0);  // 2 GPUs over [10,15)
  EXPECT_DOUBLE_EQ(bins[2], 1.0);
  EXPECT_DOUBLE_EQ(bins[3], 0.0);
  // A window that cuts jobs counts only their part inside.
  o.window_begin = Seconds(10);
  o.window_end = Seconds(25);
  auto cut = ReplayTrace(Started({Job(5, 10, 2), Job(20, 10, 4)}), 4, o);
  ASSERT_TRUE(cut.ok());
  EXPECT_DOUBLE_EQ(cut->busy_gpu_seconds, 10 + 20);
}

TEST(fleetReplay, RefusesBadInput) {
  EXPECT_FALSE(ReplayTrace(Started({Job(0, 1, 1)}), 0).ok());
  EXPECT_FALSE(ReplayTrace(Started({Job(0, -1, 1)}), 4).ok());
  ReplayOptions empty;
  empty.window_begin = Seconds(5);
  empty.window_end = Seconds(5);
  EXPECT_FALSE(ReplayTrace(Started({Job(0, 1, 1)}), 4, empty).ok());
  auto none = ReplayTrace(Started({}), 4);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->jobs_replayed, 0);
  EXPECT_EQ(none->mean_utilization, 0);
}

// Random traces: GPU-seconds are conserved, the peak equals a brute-force sweep, and two runs
// are identical.
TEST(fleetReplay, PropertiesOnRandomTraces) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    std::vector<JobRecord> jobs;
    double gpu_seconds = 0;
    for (int i = 0; i < 300; ++i) {
      const double start = static_cast<double>(rng.Below(1000));
      const double duration = static_cast<double>(rng.Below(100));
      const int gpus = 1 << rng.Below(4);
      jobs.push_back(Job(start, duration, gpus));
      gpu_seconds += gpus * duration;
    }
    Trace t = Started(jobs);
    auto a = ReplayTrace(t, 64);
    auto b = ReplayTrace(t, 64);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NEAR(a->busy_gpu_seconds, gpu_seconds, 1e-6 * gpu_seconds) << "seed " << seed;
    // Brute force: busy GPUs on [t, t+1) for every integer second.
    std::vector<int> busy(1200, 0);
    for (const JobRecord& j : jobs) {
      for (int s = static_cast<int>(j.start_time->value());
           s < static_cast<int>(j.start_time->value() + j.duration->value()); ++s) {
        busy[static_cast<size_t>(s)] += j.gpus;
      }
    }
    const int peak = *std::max_element(busy.begin(), busy.end());
    EXPECT_EQ(a->peak_busy_gpus, peak) << "seed " << seed;
    EXPECT_EQ(a->jobs_over_capacity == 0, peak <= 64);
    EXPECT_EQ(a->busy_gpu_seconds, b->busy_gpu_seconds);
    EXPECT_EQ(a->series.size(), b->series.size());
    EXPECT_EQ(a->peak_time.value(), b->peak_time.value());
    EXPECT_EQ(a->jobs_over_capacity, b->jobs_over_capacity);
  }
}

// ---------------------------------------------------------------- cluster inventory

TEST(fleetCluster, InventoryAndImpliedUtilization) {
  ClusterInventory c;
  c.nodes = {{"a", 1000, 1024, 8, "G2"},
             {"b", 1000, 1024, 0, ""},
             {"c", 1000, 1024, 2, "T4"},
             {"d", 1, 1, 8, "G2"}};
  EXPECT_EQ(c.TotalGpus(), 18);
  EXPECT_EQ(c.GpusByModel(), (std::map<std::string, int>{{"G2", 16}, {"T4", 2}}));
  GpuCapacityHistory h;
  h.days = {{"d1", {}, 10}, {"d2", {}, 20}};
  EXPECT_EQ(h.CapacityGpuSeconds(), 30 * 86400.0);
  PublishedClusterSummary s;
  s.complete_gpu_time = 30 * 86400.0 * 0.5;
  s.fail_gpu_time = 30 * 86400.0 * 0.25;
  EXPECT_DOUBLE_EQ(ImpliedUtilization(s, h.CapacityGpuSeconds()), 0.75);
  EXPECT_EQ(ImpliedUtilization(s, 0), 0);
}

}  // namespace
}  // namespace aif::fleet
