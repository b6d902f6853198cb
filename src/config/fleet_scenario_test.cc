// Fleet scenarios and the fleet simulator on the real traces: replay reproduces the trace's
// statistics, the policies move the numbers the way they should, the Llama 3 54-day window, and
// scenario / trace errors with file and line.
#include "aifactory/config/fleet_scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/traces.h"
#include "aifactory/fleet/fleet_sim.h"
#include "aifactory/fleet/trace_stats.h"
#include "aifactory/train/goodput.h"

namespace aif::config {
namespace {

const std::string kOpenb = std::string(AIF_SHARED_DIR) + "/traces/alibaba_gpu_v2023";
const std::string kScenarios = std::string(AIF_SOURCE_DIR) + "/data/scenarios";

const catalog::Catalog& Cat() {
  static const catalog::Catalog cat = [] {
    auto c = LoadBuiltinCatalog();
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : catalog::Catalog{};
  }();
  return cat;
}

// The openb cluster as pools: one per (GPU model, GPUs per node), each node an NVLink domain.
fleet::FleetSpec OpenbCluster() {
  auto inv = ReadOpenbNodeList(kOpenb + "/openb_node_list_gpu_node.csv");
  EXPECT_TRUE(inv.ok());
  std::map<std::pair<std::string, int>, int> groups;
  for (const fleet::ClusterNode& n : inv->nodes)
    if (n.gpus > 0) groups[{n.gpu_model, n.gpus}] += n.gpus;
  fleet::FleetSpec spec;
  fleet::SiteSpec site;
  site.name = "openb";
  for (const auto& [key, gpus] : groups) {
    fleet::PoolSpec p;
    p.gpu_type = key.first;
    p.gpus = gpus;
    p.gpus_per_domain = key.second;
    site.pools.push_back(p);
  }
  spec.sites.push_back(site);
  return spec;
}

TEST(FleetTrace, ReplayOnOwnClusterReproducesTheTraceStatistics) {
  auto trace = ReadOpenbTrace(kOpenb + "/openb_pod_list_default.csv",
                              kOpenb + "/openb_node_list_gpu_node.csv");
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  std::map<std::string, std::int64_t> left_out;
  std::vector<std::size_t> kept;
  const std::vector<fleet::FleetJob> jobs =
      JobsFromTrace(*trace, /*replay=*/true, &left_out, /*cpu_only_jobs=*/true, &kept);
  fleet::FleetOptions o;
  o.scheduler = "replay";
  o.failures = false;
  auto r = fleet::RunFleet(OpenbCluster(), jobs, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->total_gpus, 6212);
  EXPECT_EQ(r->jobs_refused, 0);
  EXPECT_EQ(r->jobs_finished, 7255);  // every scheduled pod, GPU or CPU-only
  EXPECT_EQ(left_out["never started"], 897);
  // The trace as simulated: each simulated pod with the start and run time the simulator gave it,
  // the 897 pods that never ran as the trace has them.
  fleet::Trace out = *trace;
  for (std::size_t k = 0; k < kept.size(); ++k) {
    fleet::JobRecord& rec = out.jobs[kept[k]];
    const fleet::JobOutcome& jo = r->jobs_out[k];
    rec.start_time = Seconds(jo.first_start);
    rec.duration = Seconds(jo.end - jo.first_start);
    rec.end_time = Seconds(jo.end);
  }
  const fleet::TraceStats si = fleet::ComputeTraceStats(*trace);
  const fleet::TraceStats so = fleet::ComputeTraceStats(out);
  EXPECT_EQ(so.jobs, 8152);  // README: 8,152 pods
  EXPECT_EQ(si.gpus_per_job, so.gpus_per_job);
  EXPECT_EQ(so.gpus_per_job.at(1), 6989);  // README: 1 GPU: 6,989
  ASSERT_TRUE(si.runtime && so.runtime);
  EXPECT_EQ(so.runtime->n, 7255);
  EXPECT_EQ(so.runtime->p50, 616);              // README: p50 616
  EXPECT_EQ(so.runtime->p90, si.runtime->p90);  // README: p90 7,763.6
  EXPECT_EQ(so.runtime->mean, si.runtime->mean);
  EXPECT_EQ(so.runtime->std, si.runtime->std);
  EXPECT_EQ(so.runtime->max, si.runtime->max);
  ASSERT_TRUE(si.wait && so.wait);
  EXPECT_EQ(so.wait->mean, si.wait->mean);
  EXPECT_EQ(so.wait->p99, si.wait->p99);
  // Simulated utilization: GPU shares held over the span, as the des replay measured (0.231 %).
  EXPECT_NEAR(r->utilization, 0.00231, 0.0001);
  std::printf("openb replay: %lld pods, utilization %.4f %%, runtime p50 %g p90 %g\n",
              static_cast<long long>(r->jobs_finished), r->utilization * 100, so.runtime->p50,
              so.runtime->p90);
}

// The openb pods (their own arrival times and durations) on 16 GPUs (2 servers of 8), where they
// ask for about 90 % of the GPUs and queues form.
struct PolicyRun {
  double mean_jct_h, mean_wait_h, utilization;
};
PolicyRun RunOpenbSmall(const std::string& policy) {
  auto trace = ReadOpenbPodList(kOpenb + "/openb_pod_list_default.csv");
  EXPECT_TRUE(trace.ok());
  std::map<std::string, std::int64_t> left_out;
  const std::vector<fleet::FleetJob> jobs = JobsFromTrace(*trace, /*replay=*/false, &left_out);
  fleet::FleetSpec spec;
  fleet::SiteSpec site;
  site.name = "small";
  fleet::PoolSpec p;
  p.gpu_type = "GPU";
  p.gpus = 16;
  site.pools.push_back(p);
  spec.sites.push_back(site);
  fleet::FleetOptions o;
  o.scheduler = policy;
  o.failures = false;
  o.keep_jobs = false;
  auto r = fleet::RunFleet(spec, jobs, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::printf("openb on 16 GPUs, %s: mean JCT %.3f h, mean wait %.3f h, utilization %.4f\n",
              policy.c_str(), r->completion_time.mean / 3600, r->queueing_delay.mean / 3600,
              r->utilization);
  return {r->completion_time.mean / 3600, r->queueing_delay.mean / 3600, r->utilization};
}

TEST(FleetTrace, PolicySanityOnOpenb) {
  const PolicyRun fifo = RunOpenbSmall("fifo");
  const PolicyRun sjf = RunOpenbSmall("sjf");
  const PolicyRun easy = RunOpenbSmall("easy");
  const PolicyRun las = RunOpenbSmall("las");
  EXPECT_LT(sjf.mean_jct_h, fifo.mean_jct_h);
  EXPECT_GT(easy.utilization, fifo.utilization);
  EXPECT_LT(easy.mean_wait_h, fifo.mean_wait_h);
  EXPECT_LT(las.mean_jct_h, fifo.mean_jct_h);
}

TEST(FleetScenario, Llama3FiftyFourDays) {
  auto sc = LoadFleetScenarioFile(kScenarios + "/fleet-llama3-54d.yaml", Cat());
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  ASSERT_EQ(sc->jobs.size(), 1u);
  const fleet::FleetJob& job = sc->jobs[0];
  EXPECT_EQ(job.gpus, 16384);
  // The interval the simulator picks: Daly's, within 5 % of Young's.
  const Seconds mtbf = fleet::JobMtbf(sc->spec.failures, job.gpus);
  const double picked = fleet::AutoCheckpointInterval(job, sc->spec.failures).value();
  EXPECT_NEAR(picked / train::YoungInterval(job.checkpoint_write, mtbf).value(), 1.0, 0.05);
  // Ten seeds (the CLI runs the hundred of docs/fleet.md).
  double unexpected = 0, effective = 0;
  const int seeds = 10;
  for (int s = 0; s < seeds; ++s) {
    fleet::FleetOptions o = sc->options;
    o.seed = static_cast<std::uint64_t>(s + 1);
    auto r = fleet::RunFleet(sc->spec, sc->jobs, o);
    ASSERT_TRUE(r.ok());
    for (const auto& [cause, n] : r->interruptions_by_cause)
      if (cause != "planned maintenance") unexpected += static_cast<double>(n);
    effective += r->jobs_out[0].goodput_gpu_seconds / (16384 * o.horizon.value());
  }
  unexpected /= seeds;
  effective /= seeds;
  // The rates were derived from the 419 of Table 5, so this checks the simulator carries them
  // through: the job holds its GPUs ~99 % of the window (restarts included).
  EXPECT_NEAR(unexpected, 419, 25);
  EXPECT_GT(effective, 0.90);
}

// The simulated optimum of the checkpoint interval sits at Daly's: effective training time over
// the 54 days with the interval scaled by 0.5 ... 2, the same seeds for every interval.
TEST(FleetScenario, Llama3CheckpointSweepPeaksAtDaly) {
  auto sc = LoadFleetScenarioFile(kScenarios + "/fleet-llama3-54d.yaml", Cat());
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  const double daly = fleet::AutoCheckpointInterval(sc->jobs[0], sc->spec.failures).value();
  const std::vector<double> scales = {0.25, 0.5, 1.0, 2.0, 4.0};
  std::vector<double> effective;
  const int seeds = 6;
  for (double scale : scales) {
    std::vector<fleet::FleetJob> jobs = sc->jobs;
    jobs[0].checkpoint_interval = Seconds(daly * scale);
    double sum = 0;
    for (int s = 0; s < seeds; ++s) {
      fleet::FleetOptions o = sc->options;
      o.seed = static_cast<std::uint64_t>(s + 1);
      auto r = fleet::RunFleet(sc->spec, jobs, o);
      ASSERT_TRUE(r.ok());
      sum += r->jobs_out[0].goodput_gpu_seconds / (16384 * o.horizon.value());
    }
    effective.push_back(sum / seeds);
    std::printf("checkpoint interval %.0f s (%.2f x Daly): effective training time %.3f %%\n",
                daly * scale, scale, effective.back() * 100);
  }
  // Daly's interval is the best of the sweep, and the curve falls off on both sides.
  const std::size_t best = static_cast<std::size_t>(
      std::max_element(effective.begin(), effective.end()) - effective.begin());
  EXPECT_EQ(scales[best], 1.0);
  EXPECT_LT(effective[0], effective[2]);
  EXPECT_LT(effective[4], effective[2]);
}

TEST(FleetScenario, ErrorsPointAtFileLineAndColumn) {
  const std::string base =
      "sites:\n  - name: a\n    pools:\n      - gpu: H100\n        gpus: 16\n"
      "        busy_power: \"700 W\"\n        idle_power: \"100 W\"\n";
  auto bad_key = ParseFleetScenario(base + "workload: {}\nschedular: fifo\n", "f.yaml", Cat());
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("f.yaml:9:1"), std::string::npos)
      << bad_key.status().message();
  EXPECT_NE(bad_key.status().message().find("did you mean 'scheduler'"), std::string::npos);
  auto bad_sched = ParseFleetScenario(base + "workload: {}\nscheduler: fifp\n", "f.yaml", Cat());
  ASSERT_FALSE(bad_sched.ok());
  EXPECT_NE(bad_sched.status().message().find("did you mean 'fifo'"), std::string::npos);
  auto bad_pool = ParseFleetScenario(
      "sites:\n  - name: a\n    pools:\n      - gpu: H100\n        gpus: 12\n"
      "        busy_power: \"700 W\"\n        idle_power: \"100 W\"\nworkload: {}\n",
      "f.yaml", Cat());
  ASSERT_FALSE(bad_pool.ok());
  EXPECT_NE(bad_pool.status().message().find("f.yaml:5:15: sites[0].pools[0].gpus: 12 GPUs is "
                                             "not a whole number of 8-GPU domains"),
            std::string::npos)
      << bad_pool.status().message();
  auto bad_wan = ParseFleetScenario(base +
                                        "wan:\n  - between: [a, b]\n    bandwidth: \"400 Gb/s\"\n"
                                        "workload: {}\n",
                                    "f.yaml", Cat());
  ASSERT_FALSE(bad_wan.ok());
  EXPECT_NE(bad_wan.status().message().find("no site 'b'"), std::string::npos);
}

TEST(FleetScenario, BadTraceRowsAreCountedOrRefused) {
  const auto dir = std::filesystem::temp_directory_path() / "aif_fleet_scenario_test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream pods(dir / "pods.csv");
    pods << "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
            "deletion_time,scheduled_time\n"
            "p0,1000,1024,1,1000,,LS,Running,0,100,0\n"
            "p1,1000,1024,1,1000,,LS,Running,10,5,20\n"  // deleted before it was scheduled
            "p2,1000,1024,,1000,,LS,Running,0,100,0\n"   // missing num_gpu
            "p3,1000,1024,2,1000,,LS,Running,5,50,5\n";
    std::ofstream yaml(dir / "fleet.yaml");
    yaml << "sites:\n  - name: a\n    pools:\n      - gpu: H100\n        gpus: 8\n"
            "        busy_power: \"700 W\"\n        idle_power: \"100 W\"\n"
            "workload:\n  trace:\n    format: openb\n    path: pods.csv\n";
  }
  auto skip = LoadFleetScenarioFile((dir / "fleet.yaml").string(), Cat());
  ASSERT_TRUE(skip.ok()) << skip.status().ToString();
  ASSERT_EQ(skip->skipped_rows.size(), 2u);
  EXPECT_NE(skip->skipped_rows[0].find("pods.csv:3:"), std::string::npos) << skip->skipped_rows[0];
  EXPECT_NE(skip->skipped_rows[1].find("pods.csv:4:"), std::string::npos) << skip->skipped_rows[1];
  EXPECT_EQ(skip->jobs.size(), 2u);
  FleetLoadOptions refuse;
  refuse.skip_bad_rows = false;
  auto refused = LoadFleetScenarioFile((dir / "fleet.yaml").string(), Cat(), refuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("pods.csv:3:"), std::string::npos)
      << refused.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aif::config
