#include "aifactory/timeline/iteration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "aifactory/perf/collective.h"
#include "aifactory/train/flops.h"
#include "aifactory/train/step_model.h"
#include "aifactory_test/train_fixtures.h"

namespace aif::timeline {
namespace {

using ::aif::testing::H100Cluster;
using ::aif::testing::Llama3_8B;

train::TrainingJob Job(int global_batch) {
  train::TrainingJob job;
  job.model = Llama3_8B();
  job.seq_len = 4096;
  job.global_batch = global_batch;
  return job;
}

// tp = 8 inside one DGX; pp stages; dp = 1; micro-batch 1, so m = global_batch.
train::ParallelPlan Plan(int pp) {
  train::ParallelPlan p;
  p.tp = 8;
  p.pp = pp;
  p.dp = 1;
  p.micro_batch = 1;
  return p;
}

// (1) One stage: the simulated iteration is m (f + b) + DP + optimizer, which is the analytic
// step time (every component of it) up to nanosecond rounding.
TEST(Timeline, SingleStageMatchesStepModel) {
  auto r = SimulateIteration(Job(8), H100Cluster(8), Plan(1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double analytic = r->estimate.step_time.value();
  std::printf("pp=1 m=%d: simulated %.6f s, analytic %.6f s\n", r->micro_batches,
              r->iteration_time.value(), analytic);
  EXPECT_EQ(r->micro_batches, 8);
  EXPECT_NEAR(r->iteration_time.value(), analytic, 0.03 * analytic);
  EXPECT_NEAR(r->iteration_time.value(), analytic, 1e-6 * analytic);  // in fact exact
}

// (2) pp = 4, m = 8. The step model charges (m + pp - 1)(f + b) for compute and bubble plus
// 2 (pp - 1) sends (the first forward and the last backward cross every boundary) and the
// sends the steady state exposes (a stage waits a send for its neighbour's gradient:
// 2 (m (pp - 1) / pp - 1) more). Without send time the simulated 1F1B pipeline is exactly
// (m + pp - 1)(f + b); with sends it matches the step model.
TEST(Timeline, OneFOneBMatchesStepModelFormula) {
  const auto job = Job(8);
  const auto cluster = H100Cluster(32);
  auto r = SimulateIteration(job, cluster, Plan(4));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int m = r->micro_batches, pp = r->stages;
  ASSERT_EQ(m, 8);
  ASSERT_EQ(pp, 4);
  const double fb = r->forward_time.value() + r->backward_time.value();
  const double analytic = r->estimate.step_time.value();
  std::printf("pp=4 m=8: f %.6f b %.6f send %.6f; simulated %.6f s, analytic %.6f s (%+.3f%%)\n",
              r->forward_time.value(), r->backward_time.value(), r->send_time.value(),
              r->iteration_time.value(), analytic,
              100 * (r->iteration_time.value() / analytic - 1));
  EXPECT_NEAR(r->iteration_time.value(), analytic, 0.03 * analytic);
  EXPECT_GE(r->iteration_time.value(), analytic * (1 - 1e-6));
  // The bubble the step model adds is the 1F1B one.
  EXPECT_NEAR(r->estimate.at(train::TimeComponent::kPipelineBubble).value(), (pp - 1) * fb,
              1e-6 * fb);

  IterationOptions no_send;
  no_send.send_time = Seconds(0);
  auto z = SimulateIteration(job, cluster, Plan(4), no_send);
  ASSERT_TRUE(z.ok());
  EXPECT_NEAR(z->pipeline_time.value(), (m + pp - 1) * fb, 1e-6 * fb);
}

// (3) Straggler: stage 2 of 4 computes sigma = 1.2 times slower, m = 8, no send time.
// 1F1B critical path (checked against the trace):
//  - F0 crosses stages 0, 1, 2, 3 (3f + sigma f); stage 3 runs B0 (b). Stage 2 has one warm-up
//    forward and finished F1 at 2f + 2 sigma f, before B0 arrives (f + b > sigma f): it waited.
//  - From B0 on, stage 2 is never idle in the steady state: after sending F(j) it runs B(j-1)
//    and F(j+1), sigma (f + b), while stage 3 turns F(j) round into B(j) in f + b; stage 1 runs
//    ahead. It runs B0..B(m-3) and F2..F(m-1): sigma (m - 2)(f + b).
//  - Cool-down: after F(m-1) stage 2 runs B(m-2) (sigma b) but B(m-1) comes back from stage 3
//    only f + b later (f + b > sigma b), so the path goes through stage 3's F(m-1), B(m-1)
//    (f + b), then stage 2's B(m-1) (sigma b), then B(m-1) on stages 1 and 0 (2b).
// Total 4 (f + b) + sigma (m - 1)(f + b), against (m + 3)(f + b) without the straggler:
//   delay = (sigma - 1)(m - 1)(f + b) = 1.4 (f + b) for m = 8,
// i.e. the straggler slows m - 1 of the m forward/backward pairs on the critical path, not the
// warm-up and cool-down of the other stages, and not the DP communication or optimizer.
TEST(Timeline, StragglerDelaysByCriticalPath) {
  const auto job = Job(8);
  const auto cluster = H100Cluster(32);
  IterationOptions base;
  base.send_time = Seconds(0);
  IterationOptions slow = base;
  slow.stage_compute_scale = {1, 1, 1.2, 1};
  auto a = SimulateIteration(job, cluster, Plan(4), base);
  auto s = SimulateIteration(job, cluster, Plan(4), slow);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(s.ok());
  const double f = a->forward_time.value(), b = a->backward_time.value(), sigma = 1.2;
  const int m = a->micro_batches;
  const double expected = (sigma - 1) * (m - 1) * (f + b);
  const double delay = s->iteration_time.value() - a->iteration_time.value();
  std::printf("straggler: delay %.6f s, critical path says %.6f s (%.2f%% of %.6f s)\n", delay,
              expected, 100 * delay / a->iteration_time.value(), a->iteration_time.value());
  EXPECT_NEAR(delay, expected, 1e-6 * a->iteration_time.value());
  // The conditions the derivation uses.
  EXPECT_GT(f + b, sigma * f);
  EXPECT_GT(f + b, sigma * b);
}

// (4) The Chrome trace parses and holds one complete ("X") event per task: 2 m pp compute
// tasks, 2 m (pp - 1) sends, and one DP-comm and one optimizer task per stage.
TEST(Timeline, ChromeTraceHasOneEventPerTask) {
  auto r = SimulateIteration(Job(8), H100Cluster(32), Plan(4));
  ASSERT_TRUE(r.ok());
  const int m = r->micro_batches, pp = r->stages;
  const std::string text = ChromeTraceJson(*r);
  const auto json = nlohmann::json::parse(text);
  ASSERT_TRUE(json.contains("traceEvents"));
  const auto& events = json["traceEvents"];
  ASSERT_TRUE(events.is_array());
  int expected = 2 * m * pp + 2 * m * (pp - 1);
  if (r->dp_time.value() > 0) expected += pp;
  if (r->optimizer_time.value() > 0) expected += pp;
  EXPECT_EQ(static_cast<int>(r->events.size()), expected);
  int compute = 0, complete = 0, metadata = 0;
  double last_end_us = 0;
  for (const auto& ev : events) {
    if (ev["ph"] == "M") {
      ++metadata;
      continue;
    }
    EXPECT_EQ(ev["ph"], "X");
    ++complete;
    EXPECT_GE(ev["dur"].get<double>(), 0);
    EXPECT_EQ(ev["pid"].get<int>(), 0);
    EXPECT_GE(ev["tid"].get<int>(), 0);
    EXPECT_LT(ev["tid"].get<int>(), 2 * pp);
    const std::string name = ev["name"].get<std::string>();
    if (ev["tid"].get<int>() % 2 == 0 && (name[0] == 'F' || name[0] == 'B')) ++compute;
    last_end_us = std::max(last_end_us, ev["ts"].get<double>() + ev["dur"].get<double>());
  }
  EXPECT_EQ(complete, expected);
  EXPECT_EQ(metadata, 1 + 2 * pp);  // process name, and a name per stage and lane
  EXPECT_EQ(compute, 2 * m * pp);
  EXPECT_NEAR(last_end_us, r->iteration_time.value() * 1e6, 0.01);
}

// (4b) The critical path is a chain of tasks from t = 0 to the end, each starting when its
// predecessor ends, so its durations add up to the iteration time.
TEST(Timeline, CriticalPathAddsUpToTheIteration) {
  for (int vp : {1, 2}) {
    auto p = Plan(4);
    p.vp = vp;
    auto r = SimulateIteration(Job(8), H100Cluster(32), p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const auto& path = r->critical_path.events;
    ASSERT_FALSE(path.empty());
    EXPECT_EQ(r->events[static_cast<std::size_t>(path.front())].start.value(), 0.0);
    double sum = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
      const TraceEvent& ev = r->events[static_cast<std::size_t>(path[i])];
      sum += ev.duration.value();
      if (i > 0) {
        const TraceEvent& prev = r->events[static_cast<std::size_t>(path[i - 1])];
        EXPECT_NEAR(prev.start.value() + prev.duration.value(), ev.start.value(), 2e-9);
      }
    }
    EXPECT_NEAR(sum, r->iteration_time.value(), 1e-9 * static_cast<double>(path.size()));
    double by_kind = 0;
    for (const auto& [kind, t] : r->critical_path.time_by_kind) by_kind += t.value();
    EXPECT_NEAR(by_kind, sum, 1e-9);
  }
}

// (5) Same inputs, same iteration, byte for byte.
TEST(Timeline, Deterministic) {
  IterationOptions o;
  o.stage_compute_scale = {1, 1.1, 1, 0.9};
  auto a = SimulateIteration(Job(8), H100Cluster(32), Plan(4), o);
  auto b = SimulateIteration(Job(8), H100Cluster(32), Plan(4), o);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->iteration_time.value(), b->iteration_time.value());
  EXPECT_EQ(ChromeTraceJson(*a), ChromeTraceJson(*b));
}

// (6) Interleaved 1F1B (vp = 2, m = 8 a multiple of pp = 4): without send time the pipeline
// takes m (f + b) + (pp - 1)(f + b) / vp (Narayanan et al. 2021, sec. 2.2), the bubble the step
// model charges; with sends it stays within 3% of the step model.
TEST(Timeline, InterleavedBubbleIsDividedByVirtualStages) {
  auto p = Plan(4);
  p.vp = 2;
  IterationOptions no_send;
  no_send.send_time = Seconds(0);
  auto z = SimulateIteration(Job(8), H100Cluster(32), p, no_send);
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  const double fb = z->forward_time.value() + z->backward_time.value();
  const int m = z->micro_batches, pp = z->stages;
  EXPECT_EQ(z->virtual_stages, 2);
  EXPECT_NEAR(z->pipeline_time.value(), m * fb + (pp - 1) * fb / 2, 1e-6 * fb);
  EXPECT_NEAR(z->estimate.at(train::TimeComponent::kPipelineBubble).value(), (pp - 1) * fb / 2,
              1e-6 * fb);
  auto r = SimulateIteration(Job(8), H100Cluster(32), p);
  ASSERT_TRUE(r.ok());
  const double analytic = r->estimate.step_time.value();
  std::printf("pp=4 vp=2 m=8: simulated %.6f s, analytic %.6f s (%+.3f%%)\n",
              r->iteration_time.value(), analytic,
              100 * (r->iteration_time.value() / analytic - 1));
  EXPECT_NEAR(r->iteration_time.value(), analytic, 0.03 * analytic);
  // m not a multiple of pp (m = 6): the last group is smaller; the schedule still completes.
  auto odd = SimulateIteration(Job(6), H100Cluster(32), p, no_send);
  ASSERT_TRUE(odd.ok()) << odd.status().ToString();
  EXPECT_GE(odd->pipeline_time.value(), 6 * fb);
}

// (7) Network mode, one replica (dp = 1): the sends run as 8 flows (one per GPU of the stage,
// each on its own rail) at the NIC's rate, which is what the step model's send time assumes, so
// without contention the two runs agree closely.
TEST(TimelineNetwork, OneReplicaAgreesWithTheStepModelTimes) {
  IterationOptions net;
  net.network = true;
  auto a = SimulateIteration(Job(8), H100Cluster(32), Plan(4));
  auto n = SimulateIteration(Job(8), H100Cluster(32), Plan(4), net);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_TRUE(n->network.has_value());
  std::printf("network pp=4: %.6f s, step-model comm %.6f s (%+.3f%%), %lld flows\n",
              n->iteration_time.value(), a->iteration_time.value(),
              100 * (n->iteration_time.value() / a->iteration_time.value() - 1),
              static_cast<long long>(n->network->flows));
  EXPECT_NEAR(n->iteration_time.value(), a->iteration_time.value(),
              0.01 * a->iteration_time.value());
  // 2 m (pp - 1) sends of 8 flows each.
  EXPECT_EQ(n->network->flows, 2LL * 8 * 3 * 8);
}

// (8) Invariants: bytes conserved (every byte started is delivered, and links carried exactly
// bytes x hops), no link above capacity (bytes carried <= capacity x busy time), same input same
// trace; with data parallelism over 4 nodes the DP rings cross the fabric.
TEST(TimelineNetwork, BytesConservedNoLinkAboveCapacityDeterministic) {
  auto p = Plan(2);
  p.dp = 4;  // 64 GPUs: tp 8 x pp 2 x dp 4
  IterationOptions net;
  net.network = true;
  auto a = SimulateIteration(Job(32), H100Cluster(64), p, net);
  auto b = SimulateIteration(Job(32), H100Cluster(64), p, net);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok());
  const NetworkSummary& ns = *a->network;
  EXPECT_GT(ns.flows, 0);
  EXPECT_EQ(ns.replicas_simulated, 4);
  EXPECT_NEAR(ns.bytes_delivered.value(), ns.bytes_started.value(),
              1e-9 * ns.bytes_started.value());
  EXPECT_LE(ns.max_link_load, 1 + 1e-9);
  EXPECT_GT(ns.max_link_load, 0.5);
  EXPECT_EQ(a->iteration_time.value(), b->iteration_time.value());
  EXPECT_EQ(ChromeTraceJson(*a, true), ChromeTraceJson(*b, true));
  double dp_exposed = 0;
  for (const TraceEvent& ev : a->events) {
    if (ev.kind == TaskKind::kDpReduceScatter || ev.kind == TaskKind::kDpAllGather)
      dp_exposed += ev.duration.value();
  }
  EXPECT_GT(dp_exposed, 0);
  double carried = 0;
  for (const LinkTierUsage& t : ns.tiers_usage) carried += t.carried.value();
  EXPECT_GT(carried, ns.bytes_started.value());  // every flow crosses at least two links
}

// (9) --replicate: one replica and one DP group per stage; on a symmetric factory it gives the
// same iteration as the full simulation, with a quarter of the pipeline flows.
TEST(TimelineNetwork, ReplicateMatchesTheFullSimulationOnASymmetricFactory) {
  auto p = Plan(2);
  p.dp = 4;
  IterationOptions full, one;
  full.network = one.network = true;
  one.replicate = true;
  auto f = SimulateIteration(Job(32), H100Cluster(64), p, full);
  auto r = SimulateIteration(Job(32), H100Cluster(64), p, one);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->network->replicas_simulated, 1);
  EXPECT_EQ(r->network->replicas, 4);
  EXPECT_LT(r->network->flows, f->network->flows / 3);
  std::printf("replicate: %.6f s, full %.6f s\n", r->iteration_time.value(),
              f->iteration_time.value());
  EXPECT_NEAR(r->iteration_time.value(), f->iteration_time.value(),
              0.01 * f->iteration_time.value());
}

// (10) A straggler in one replica of the full factory: the DP collectives wait for its stage, so
// the whole iteration is late by what the critical path through that replica says. Without
// contention the network's sends take the step model's time, so the delay is the one of the
// single-replica run with step-model sends (whose critical path (3) derives without sends).
TEST(TimelineNetwork, StragglerInOneReplicaDelaysTheFactory) {
  auto p = Plan(4);
  p.dp = 2;  // 64 GPUs
  IterationOptions base;
  IterationOptions slow = base;
  slow.stage_compute_scale = {1, 1, 1.2, 1};
  IterationOptions net_base = base, net_slow = slow;
  net_base.network = net_slow.network = true;
  net_slow.straggler_replica = 1;
  auto a = SimulateIteration(Job(16), H100Cluster(64), p, base);
  auto s = SimulateIteration(Job(16), H100Cluster(64), p, slow);
  auto na = SimulateIteration(Job(16), H100Cluster(64), p, net_base);
  auto ns = SimulateIteration(Job(16), H100Cluster(64), p, net_slow);
  ASSERT_TRUE(a.ok() && s.ok());
  ASSERT_TRUE(na.ok()) << na.status().ToString();
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(ns->straggler_replica, 1);
  EXPECT_EQ(ns->critical_path.replica, 1);
  const double expected = s->pipeline_time.value() - a->pipeline_time.value();
  const double delay = ns->pipeline_time.value() - na->pipeline_time.value();
  std::printf("network straggler: pipeline delay %.6f s, single-replica critical path %.6f s\n",
              delay, expected);
  EXPECT_GT(expected, 0);
  EXPECT_NEAR(delay, expected, 1e-3 * expected);
  // DP comm waits for the slow replica: the iteration is late by at least as much.
  EXPECT_GT(ns->iteration_time.value() - na->iteration_time.value(), 0.99 * expected);
}

// (11) Errors: a straggler outside the replicas or stages, bad factors.
TEST(TimelineNetwork, Errors) {
  IterationOptions o;
  o.straggler_replica = 3;
  EXPECT_FALSE(SimulateIteration(Job(8), H100Cluster(32), Plan(4), o).ok());
  IterationOptions too_many;
  too_many.stage_compute_scale = {1, 1, 1, 1, 1};
  EXPECT_FALSE(SimulateIteration(Job(8), H100Cluster(32), Plan(4), too_many).ok());
  IterationOptions zero;
  zero.stage_compute_scale = {0};
  EXPECT_FALSE(SimulateIteration(Job(8), H100Cluster(32), Plan(4), zero).ok());
}

// (12) Fault knobs: a failed leaf uplink is routed around (same bytes, no faster), a failed
// NIC cuts its GPU off (an error naming it).
TEST(TimelineNetwork, FailedLinksAreRoutedAroundOrReported) {
  auto p = Plan(2);
  p.dp = 4;
  IterationOptions base;
  base.network = true;
  auto a = SimulateIteration(Job(32), H100Cluster(64), p, base);
  ASSERT_TRUE(a.ok());
  train::Cluster c = H100Cluster(64);
  auto topo = BuildClusterTopology(c);
  ASSERT_TRUE(topo.ok());
  int uplink = -1, nic = -1;
  for (int l = 0; l < topo->link_count() && (uplink < 0 || nic < 0); ++l) {
    const auto from = topo->node(topo->link(l).from).kind, to = topo->node(topo->link(l).to).kind;
    if (from == net::NodeKind::kLeaf && to == net::NodeKind::kSpine && uplink < 0) uplink = l;
    if (from == net::NodeKind::kGpu && to == net::NodeKind::kLeaf && nic < 0) nic = l;
  }
  ASSERT_GE(uplink, 0);
  ASSERT_GE(nic, 0);
  IterationOptions up = base;
  up.failed_links = {uplink};
  auto f = SimulateIteration(Job(32), c, p, up);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->network->failed_links.size(), 1u);
  std::printf("failed %s: %.6f s vs %.6f s\n", f->network->failed_links[0].c_str(),
              f->iteration_time.value(), a->iteration_time.value());
  EXPECT_GE(f->iteration_time.value(), a->iteration_time.value() * (1 - 1e-9));
  EXPECT_NEAR(f->network->bytes_delivered.value(), a->network->bytes_delivered.value(),
              1e-9 * a->network->bytes_delivered.value());
  IterationOptions nic_down = base;
  nic_down.failed_links = {nic};  // a GPU's NIC: the GPU is cut off from the fabric
  auto n = SimulateIteration(Job(32), c, p, nic_down);
  EXPECT_FALSE(n.ok());
  IterationOptions wan = base;
  wan.wan_capacity_scale = 0;
  EXPECT_FALSE(SimulateIteration(Job(32), c, p, wan).ok());
}

// (13) Two sites joined by a WAN; pp = 2 puts one stage on each, so every send crosses it. Half
// the WAN's bandwidth makes the sends, and with them the iteration, slower.
TEST(TimelineNetwork, ADegradedWanSlowsCrossSiteSends) {
  auto p = Plan(2);
  p.dp = 4;
  train::Cluster c = H100Cluster(64);
  c.sites = 2;
  c.wan_bandwidth = BytesPerSecond(25e9);  // per site: a quarter of one NIC per GPU pair
  c.wan_latency = Seconds(1e-3);
  IterationOptions base;
  base.network = true;
  IterationOptions half = base;
  half.wan_capacity_scale = 0.5;
  auto a = SimulateIteration(Job(32), c, p, base);
  auto h = SimulateIteration(Job(32), c, p, half);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  double wan = 0;
  for (const LinkTierUsage& t : a->network->tiers_usage) {
    if (t.tier == "wan") wan = t.carried.value();
  }
  EXPECT_GT(wan, 0);
  double sends_a = 0, sends_h = 0;
  for (const TraceEvent& ev : a->events) {
    if (ev.kind == TaskKind::kSendForward) sends_a += ev.duration.value();
  }
  for (const TraceEvent& ev : h->events) {
    if (ev.kind == TaskKind::kSendForward) sends_h += ev.duration.value();
  }
  std::printf("WAN at half: iteration %.6f s vs %.6f s; forward sends %.6f s vs %.6f s\n",
              h->iteration_time.value(), a->iteration_time.value(), sends_h, sends_a);
  EXPECT_GT(sends_h, 1.5 * sends_a);  // bandwidth-bound sends: nearly twice as long
  EXPECT_GT(h->iteration_time.value(), a->iteration_time.value());
}


// (14) A DP group that spans two sites reduces hierarchically, as the step model prices it:
// inside each site, then across sites among GPUs of the same index on 1/per-site of the data.
// The WAN then carries each group's buffer once per collective (half each way), where a flat
// ring over the group would carry it 2 (n - 1) / n times.
TEST(TimelineNetwork, DataParallelAcrossSitesIsHierarchical) {
  auto p = Plan(1);
  p.dp = 8;  // tp 8: 8 DP groups of 8, one GPU per node, 4 nodes per site
  train::Cluster c = H100Cluster(64);
  c.sites = 2;
  c.wan_bandwidth = BytesPerSecond(400e9);
  c.wan_latency = Seconds(1e-3);
  IterationOptions o;
  o.network = true;
  const train::TrainingJob job = Job(64);
  auto r = SimulateIteration(job, c, p, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  double wan = 0;
  for (const LinkTierUsage& t : r->network->tiers_usage) {
    if (t.tier == "wan") wan = t.carried.value();
  }
  const train::ParameterCount pc = train::CountParameters(job.model);
  const double dense = pc.attention + pc.dense_mlp + pc.shared_experts + pc.router + pc.norms + pc.mtp;
  const double bytes = (dense / p.tp + 1.0 * job.model.vocab * job.model.hidden / p.tp) * 2;
  std::printf("WAN carried %.3f GB; one buffer per group and collective %.3f GB\n", wan / 1e9,
              8 * bytes / 1e9);
  // Two collectives: the gradients' reduce-scatter and the parameters' all-gather.
  EXPECT_NEAR(wan, 2 * 8 * bytes, 1e-6 * wan);
}

// (13) The DP reduce-scatter runs the algorithm perf picks for the step model's communicator:
// with a slow fabric step (1 ms) a ring over 1,024 ranks would pay 1,023 of them, so perf picks
// two levels (inside each 8-GPU node, then 8 rail rings over the 128 nodes on 1/8 of the data);
// the flows run that and take perf's time.
TEST(TimelineNetwork, DataParallelRunsTheAlgorithmPerfPicks) {
  train::ParallelPlan p;
  p.tp = 1;
  p.pp = 1;
  p.dp = 1024;
  p.micro_batch = 1;
  train::Cluster c = H100Cluster(1024);
  c.fabric.latency = Seconds(1e-3);
  const train::TrainingJob job = Job(1024);
  const train::ParameterCount pc = train::CountParameters(job.model);
  const double dense = pc.attention + pc.dense_mlp + pc.shared_experts + pc.router + pc.norms + pc.mtp;
  const Bytes bytes((dense + 1.0 * job.model.vocab * job.model.hidden) * 2);
  const perf::CommGroup group = train::CommGroupOf(c, 1024, 1);
  ASSERT_EQ(perf::ChooseScatterGather(group, bytes), perf::ScatterGatherScheme::kTwoLevel);
  const double expected = perf::ReduceScatterTime(group, bytes).value();
  IterationOptions o;
  o.network = true;
  auto r = SimulateIteration(job, c, p, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double simulated = r->network->dp_comm_simulated.value();
  std::printf("DP reduce-scatter over 1,024 ranks: flows %.4f s, perf (two levels) %.4f s\n",
              simulated, expected);
  EXPECT_NEAR(simulated, expected, 0.02 * expected);
  // Far below what a ring's 1,023 steps of 1 ms alone would take.
  EXPECT_LT(simulated, 0.5 * 1023 * 1e-3);
}

// (13b) The parameter all-gather carries the weights in the format they are kept in: FP8 weights
// kept in FP8 gather half the bytes of BF16 ones, on the network as in the step model, and the
// two agree either way (the timeline sends what train::GatheredBytesPerParameter says).
TEST(TimelineNetwork, ParameterGatherCarriesTheWeightsFormat) {
  train::ParallelPlan p = Plan(1);  // tp 8 inside each node
  p.dp = 16;
  const train::Cluster c = H100Cluster(128);
  IterationOptions o;
  o.network = true;
  double dp[2] = {0, 0};
  for (bool kept : {false, true}) {
    train::TrainingJob job = Job(16);
    job.precision = catalog::Precision::kFp8;
    job.low_precision_weights = kept;
    auto r = SimulateIteration(job, c, p, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const double analytic = r->estimate.step_time.value();
    std::printf("fp8 weights %s: network %.6f s, step model %.6f s (%+.3f%%), DP exposed %.6f s\n",
                kept ? "kept in FP8" : "in BF16", r->iteration_time.value(), analytic,
                100 * (r->iteration_time.value() / analytic - 1), r->dp_time.value());
    EXPECT_NEAR(r->iteration_time.value(), analytic, 0.02 * analytic) << kept;
    dp[kept] = r->dp_time.value();
  }
  EXPECT_GT(dp[0], 0);
  EXPECT_LT(dp[1], dp[0]);
}

// (14) A context-parallel pair two nodes apart (tp 8 x cp 2 on 8-GPU nodes): its exposed KV
// exchange runs as flows over the NICs at the end of every compute task, beside the PP sends.
// Alone they take the step model's time, so the iteration stays within 2% of it.
TEST(TimelineNetwork, CrossDomainContextParallelRunsAsFlows) {
  train::ParallelPlan p = Plan(2);
  p.cp = 2;
  const train::TrainingJob job = Job(8);  // m = 8
  const train::Cluster c = H100Cluster(32);
  auto a = SimulateIteration(job, c, p);
  IterationOptions o;
  o.network = true;
  auto n = SimulateIteration(job, c, p, o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  const double cp = train::EstimateStep(job, c, p)->at(train::TimeComponent::kCpComm).value();
  ASSERT_GT(cp, 0);
  std::printf("tp8 cp2 pp2 on the network: %.6f s, step-model comm %.6f s (%+.3f%%), %lld flows\n",
              n->iteration_time.value(), a->iteration_time.value(),
              100 * (n->iteration_time.value() / a->iteration_time.value() - 1),
              static_cast<long long>(n->network->flows));
  // PP: 2 m (pp - 1) sends of 16 flows; CP: 2 m tasks per stage, 16 flows each (every GPU sends
  // to its pair); DP (groups of dp x cp = 2, one per tp index): a reduce-scatter and an
  // all-gather ring of 2 flows per group and stage.
  EXPECT_EQ(n->network->flows, 2LL * 8 * 1 * 16 + 2LL * 8 * 2 * 16 + 2 * 2 * 8 * 2);
  EXPECT_NEAR(n->iteration_time.value(), a->iteration_time.value(), 0.02 * a->iteration_time.value());
}


// Without interleaving the simulated 1F1B exposes 2 (pp - 1) / pp sends per micro-batch in the
// steady state beyond the first forward's and the last backward's, and the step model charges
// exactly that (train::PipelineSteadyStateSends) whenever m >= pp.
TEST(Timeline, SteadyStateSendsOfOneFOneBMatchTheStepModel) {
  for (int pp : {2, 4, 8}) {
    for (int m : {8, 16, 64}) {
      auto r = SimulateIteration(Job(m), H100Cluster(8 * pp), Plan(pp));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_GT(r->send_time.value(), 0);
      EXPECT_NEAR(r->iteration_time.value(), r->estimate.step_time.value(), 1e-6 * r->iteration_time.value())
          << "pp " << pp << " m " << m;
      EXPECT_DOUBLE_EQ(train::PipelineSteadyStateSends(pp, 1, m), 2.0 * (1.0 * m * (pp - 1) / pp - 1));
    }
  }
  EXPECT_EQ(train::PipelineSteadyStateSends(4, 2, 64), 0);  // interleaved: covered by other chunks
  EXPECT_EQ(train::PipelineSteadyStateSends(1, 1, 64), 0);
}

}  // namespace
}  // namespace aif::timeline
