#include "aifactory/fleet/fleet_sim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "aifactory/fleet/scheduler.h"
#include "aifactory/train/goodput.h"

namespace aif::fleet {
namespace {

FleetSpec OneSite(int gpus, int per_domain = 8, int per_leaf = 16) {
  FleetSpec spec;
  SiteSpec site;
  site.name = "s";
  PoolSpec pool;
  pool.gpu_type = "H100";
  pool.gpus = gpus;
  pool.gpus_per_domain = per_domain;
  pool.domains_per_leaf = per_leaf;
  pool.gpu_busy_w = 1000;
  pool.gpu_idle_w = 100;
  site.pools.push_back(pool);
  spec.sites.push_back(site);
  return spec;
}

FleetJob J(const std::string& id, double submit, double work, int gpus) {
  FleetJob j;
  j.id = id;
  j.submit = j.release = Seconds(submit);
  j.work = Seconds(work);
  j.gpus = gpus;
  return j;
}

FleetResult Sim(const FleetSpec& spec, const std::vector<FleetJob>& jobs, const std::string& policy,
                std::uint64_t seed = 1) {
  FleetOptions o;
  o.scheduler = policy;
  o.seed = seed;
  o.bin = Seconds(10);
  auto r = RunFleet(spec, jobs, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : FleetResult{};
}

TEST(fleetSim, OneJobRunsForItsWork) {
  FleetResult r = Sim(OneSite(8), {J("a", 0, 100, 8)}, "fifo");
  EXPECT_EQ(r.jobs_finished, 1);
  EXPECT_DOUBLE_EQ(r.completion_time.mean, 100);
  EXPECT_DOUBLE_EQ(r.queueing_delay.mean, 0);
  EXPECT_NEAR(r.utilization, 1.0, 1e-12);
  EXPECT_NEAR(r.busy_gpu_hours, 800.0 / 3600, 1e-12);
  EXPECT_NEAR(r.goodput_gpu_hours, 800.0 / 3600, 1e-12);
  // 8 busy GPUs at 1,000 W, PUE 1, over every 10 s bin.
  ASSERT_EQ(r.sites.size(), 1u);
  ASSERT_EQ(r.sites[0].power_w.size(), 10u);
  EXPECT_NEAR(r.sites[0].power_w[3], 8000, 1e-9);
}

// A waits for nothing; B (whole cluster) waits for A; C is short and fits beside A.
std::vector<FleetJob> BackfillCase() {
  return {J("a", 0, 100, 4), J("b", 1, 100, 8), J("c", 2, 50, 4)};
}

TEST(fleetSim, FifoHoldsBackAndEasyBackfills) {
  FleetResult fifo = Sim(OneSite(8), BackfillCase(), "fifo");
  FleetResult easy = Sim(OneSite(8), BackfillCase(), "easy");
  ASSERT_EQ(fifo.jobs_out.size(), 3u);
  EXPECT_DOUBLE_EQ(fifo.jobs_out[1].first_start, 100);
  EXPECT_DOUBLE_EQ(fifo.jobs_out[2].first_start, 200);
  EXPECT_DOUBLE_EQ(easy.jobs_out[2].first_start, 2);    // backfilled: ends at 52 < 100
  EXPECT_DOUBLE_EQ(easy.jobs_out[1].first_start, 100);  // the reservation holds
  EXPECT_GT(easy.utilization, fifo.utilization);
  EXPECT_LT(easy.completion_time.mean, fifo.completion_time.mean);
}

TEST(fleetSim, BackfillDoesNotDelayTheReservedJob) {
  // C would run past the shadow time (100) and needs GPUs B needs: it must wait.
  std::vector<FleetJob> jobs = {J("a", 0, 100, 4), J("b", 1, 100, 8), J("c", 2, 500, 4)};
  FleetResult easy = Sim(OneSite(8), jobs, "easy");
  EXPECT_DOUBLE_EQ(easy.jobs_out[1].first_start, 100);
  EXPECT_DOUBLE_EQ(easy.jobs_out[2].first_start, 200);
}

TEST(fleetSim, ShortestJobFirstLowersMeanCompletion) {
  std::vector<FleetJob> jobs = {J("long1", 0, 100, 8), J("long2", 1, 100, 8), J("short", 2, 10, 8)};
  FleetResult fifo = Sim(OneSite(8), jobs, "fifo");
  FleetResult sjf = Sim(OneSite(8), jobs, "sjf");
  EXPECT_DOUBLE_EQ(sjf.jobs_out[2].first_start, 100);
  EXPECT_DOUBLE_EQ(sjf.jobs_out[1].first_start, 110);
  EXPECT_DOUBLE_EQ(fifo.jobs_out[2].first_start, 200);
  // FIFO: (100 + 199 + 208) / 3; SJF: (100 + 209 + 108) / 3.
  EXPECT_NEAR(fifo.completion_time.mean, 507.0 / 3, 1e-9);
  EXPECT_NEAR(sjf.completion_time.mean, 417.0 / 3, 1e-9);
}

TEST(fleetSim, GangJobTakesOneLeafWhenOneHasRoom) {
  // 4 leaves of 2 domains (8 GPUs each). Small jobs on leaves 0 and 1 (best fit packs them into
  // one domain each), then a 16-GPU job: it must get both domains of one free leaf.
  FleetSpec spec = OneSite(64, 8, 2);
  std::vector<FleetJob> jobs = {J("s1", 0, 1000, 1), J("s2", 0, 1000, 8), J("big", 1, 10, 16)};
  FleetResult r = Sim(spec, jobs, "fifo");
  ASSERT_EQ(r.jobs_out.size(), 3u);
  EXPECT_DOUBLE_EQ(r.jobs_out[2].first_start, 1);
  EXPECT_TRUE(r.jobs_out[2].single_leaf);
  EXPECT_FALSE(r.jobs_out[2].single_domain);
  EXPECT_TRUE(r.jobs_out[0].single_domain);
  EXPECT_EQ(r.multi_domain_jobs, 1);
  EXPECT_EQ(r.single_leaf_jobs, 1);
}

TEST(fleetSim, GangJobWaitsForAllItsGpus) {
  std::vector<FleetJob> jobs = {J("a", 0, 100, 7), J("b", 1, 10, 2)};
  FleetResult r = Sim(OneSite(8), jobs, "fifo");
  EXPECT_DOUBLE_EQ(r.jobs_out[1].first_start, 100);  // 1 GPU free is not enough
}

TEST(fleetSim, AcrossSitesOnlyWhenAllowedAndLinked) {
  FleetSpec spec = OneSite(16);
  spec.sites.push_back(spec.sites[0]);
  spec.sites[1].name = "t";
  FleetJob big = J("big", 0, 10, 32);
  FleetResult refused = Sim(spec, {big}, "fifo");
  EXPECT_EQ(refused.jobs_refused, 1);
  big.multi_site = true;
  FleetResult unlinked = Sim(spec, {big}, "fifo");
  EXPECT_EQ(unlinked.jobs_finished, 0);
  EXPECT_EQ(unlinked.jobs_never_started, 1);
  spec.wan.push_back({0, 1, 400});
  FleetResult linked = Sim(spec, {big}, "fifo");
  EXPECT_EQ(linked.jobs_finished, 1);
  EXPECT_EQ(linked.cross_site_jobs, 1);
  EXPECT_DOUBLE_EQ(linked.completion_time.mean, 10);
  // The WAN's cost: 25 % more compute across sites, counted apart from goodput.
  big.cross_site_slowdown = 1.25;
  FleetResult slow = Sim(spec, {big}, "fifo");
  EXPECT_DOUBLE_EQ(slow.completion_time.mean, 12.5);
  EXPECT_NEAR(slow.goodput_gpu_hours, 32 * 10 / 3600.0, 1e-12);
  EXPECT_NEAR(slow.wan_slowdown_gpu_hours, 32 * 2.5 / 3600.0, 1e-12);
}

TEST(fleetSim, RefusesJobsThatCanNeverFitAndSaysWhy) {
  FleetJob wrong_type = J("v", 0, 10, 1);
  wrong_type.gpu_type = "V100";
  FleetResult r = Sim(OneSite(8), {J("huge", 0, 10, 16), wrong_type, J("ok", 0, 10, 1)}, "fifo");
  EXPECT_EQ(r.jobs_refused, 2);
  EXPECT_EQ(r.jobs_finished, 1);
  ASSERT_EQ(r.refused.size(), 2u);
  EXPECT_NE(r.refused[0].find("huge: asks for 16 GPUs, more than the fleet's 8"),
            std::string::npos);
}

TEST(fleetSim, PowerCapSerializesJobs) {
  // 16 GPUs at 100 W idle, 1,000 W busy, PUE 1.25: the cap leaves room for 8 busy GPUs.
  FleetSpec spec = OneSite(16);
  spec.sites[0].pue = 1.25;
  spec.sites[0].power_cap_w = 1.25 * (16 * 100 + 8 * 900);
  FleetResult capped = Sim(spec, {J("a", 0, 100, 8), J("b", 0, 100, 8)}, "fifo");
  EXPECT_DOUBLE_EQ(capped.jobs_out[1].first_start, 100);
  double peak = 0;
  for (double w : capped.sites[0].power_w) peak = std::max(peak, w);
  EXPECT_LE(peak, spec.sites[0].power_cap_w + 1e-6);
  spec.sites[0].power_cap_w = 0;
  FleetResult free = Sim(spec, {J("a", 0, 100, 8), J("b", 0, 100, 8)}, "fifo");
  EXPECT_DOUBLE_EQ(free.jobs_out[1].first_start, 0);
}

TEST(fleetSim, LasPreemptsTheMostServedJobForANewOne) {
  // Threshold 800 GPU-seconds: the 8-GPU long job is demoted after 100 s; a short job arriving at
  // 150 s preempts it, runs, and the long job resumes after paying its restart.
  FleetJob long_job = J("long", 0, 1000, 8);
  long_job.restart = Seconds(5);
  long_job.checkpoint_interval = Seconds(50);
  FleetOptions o;
  o.scheduler = "las";
  o.las_threshold_gpu_seconds = 800;
  o.bin = Seconds(10);
  auto r = RunFleet(OneSite(8), {long_job, J("short", 150, 20, 8)}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(r->jobs_out[1].first_start, 150);
  EXPECT_EQ(r->interruptions_by_cause.at("preemption"), 1);
  // Long: 150 s before (saved on preemption, no write yet past 50+... all compute kept) then the
  // rest after the short job, plus its restart and the checkpoint writes (0 s here).
  EXPECT_NEAR(r->jobs_out[0].end, 170 + 5 + 850, 1e-6);
}

TEST(fleetSim, FailuresLoseWorkSinceTheLastCheckpointAndBalance) {
  FleetSpec spec = OneSite(1024);
  spec.failures.push_back({"gpu", 2e-4, FailureScope::kGpu, Seconds(3600)});
  spec.failures.push_back({"software", 1e-4, FailureScope::kSoftware, Seconds(0)});
  FleetJob job = J("train", 0, 30 * 86400.0, 960);
  job.checkpoint_interval = Seconds(-1);  // Young/Daly
  job.checkpoint_write = Seconds(60);
  job.restart = Seconds(300);
  FleetResult a = Sim(spec, {job}, "fifo", 7);
  FleetResult b = Sim(spec, {job}, "fifo", 7);
  FleetResult c = Sim(spec, {job}, "fifo", 8);
  EXPECT_EQ(a.jobs_finished, 1);
  const std::int64_t interrupts =
      a.interruptions_by_cause["gpu"] + a.interruptions_by_cause["software"];
  // Expected about 30 d x 24 h x 960 GPUs x 3e-4 = 207 (more: the run is longer than 30 d).
  EXPECT_GT(interrupts, 150);
  EXPECT_LT(interrupts, 300);
  EXPECT_NEAR(a.busy_gpu_hours, a.goodput_gpu_hours + a.lost_gpu_hours + a.checkpoint_gpu_hours,
              1e-6 * a.busy_gpu_hours);
  EXPECT_NEAR(a.goodput_gpu_hours, 960 * 30 * 24.0, 1e-6);
  EXPECT_EQ(a.completion_time.mean, b.completion_time.mean);  // same seed, same run
  EXPECT_NE(a.completion_time.mean, c.completion_time.mean);
  // Spares: 64 GPUs (8 domains) beyond the job, so repairs rarely hold it up; the elapsed time
  // agrees with Daly's expectation (train::EstimateGoodput) within 5 %.
  train::ReliabilityInputs in{3e-4, Seconds(60), Seconds(300)};
  const train::Goodput g = train::EstimateGoodput(Seconds(30 * 86400.0), 960, in);
  EXPECT_NEAR(a.completion_time.mean / g.wall_time.value(), 1.0, 0.05);
}

TEST(fleetSim, AutoCheckpointIntervalIsDaly) {
  std::vector<FailureComponent> f = {{"gpu", 1.262e-5, FailureScope::kGpu, Seconds(0)},
                                     {"sw", 2.637e-6, FailureScope::kSoftware, Seconds(0)}};
  FleetJob job = J("j", 0, 1, 16384);
  job.checkpoint_write = Seconds(120);
  const Seconds mtbf = JobMtbf(f, 16384);
  EXPECT_NEAR(mtbf.value(), 3600.0 / ((1.262e-5 + 2.637e-6) * 16384), 1e-9);
  EXPECT_DOUBLE_EQ(AutoCheckpointInterval(job, f).value(),
                   train::DalyInterval(Seconds(120), mtbf).value());
}

TEST(fleetSim, MaintenanceSavesWorkAndCountsAsPlanned) {
  FleetSpec spec = OneSite(64, 8, 2);
  spec.maintenance.interval = Seconds(1000);
  spec.maintenance.duration = Seconds(100);
  FleetJob job = J("j", 0, 5000, 48);
  job.checkpoint_interval = Seconds(100000);  // no checkpoint would be reached: only saves
  job.restart = Seconds(10);
  FleetResult r = Sim(spec, {job}, "fifo");
  EXPECT_EQ(r.jobs_finished, 1);
  EXPECT_GT(r.interruptions_by_cause["planned maintenance"], 0);
  EXPECT_NEAR(r.goodput_gpu_hours, 48 * 5000 / 3600.0, 1e-9);
  EXPECT_NEAR(r.lost_gpu_hours, r.interruptions_by_cause["planned maintenance"] * 10 * 48 / 3600.0,
              1e-9);
}

TEST(fleetSim, BadSpecAndUnknownSchedulerAreErrors) {
  FleetSpec spec = OneSite(12);  // not a whole number of 8-GPU domains
  FleetOptions o;
  EXPECT_FALSE(RunFleet(spec, {}, o).ok());
  o.scheduler = "fifp";
  auto r = RunFleet(OneSite(8), {}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("did you mean 'fifo'"), std::string::npos);
}

// The policies are the src/fleet/sched_*.cc files, by name, each made by its own factory.
TEST(fleetSim, EveryPolicyFileIsRegisteredByName) {
  EXPECT_EQ(PolicyNames(), (std::vector<std::string>{"easy", "fifo", "las", "replay", "sjf"}));
  PolicyOptions o;
  o.las_threshold_gpu_seconds = 3600;
  for (const std::string& name : PolicyNames()) {
    auto p = MakePolicy(name, o);
    EXPECT_TRUE(p.ok() && *p != nullptr) << name;
  }
  EXPECT_FALSE(MakePolicy("las", {}).ok());  // LAS needs its threshold
  auto unknown = MakePolicy("lifo", o);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("known: easy, fifo, las, replay, sjf"), std::string::npos)
      << unknown.status().message();
}

}  // namespace
}  // namespace aif::fleet
