#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "aifactory/core/check.h"
#include "aifactory/core/random.h"
#include "aifactory/des/simulator.h"
#include "aifactory/net/network.h"
#include "aifactory/net/routing.h"
#include "aifactory/net/topology.h"
#include "aifactory/net/topology_builders.h"
#include "aifactory_test/text.h"

namespace aif::net {
namespace {

using aif::testing::HasText;
using des::SimTime;

constexpr double kGB = 1e9;

#define EXPECT_REL_NEAR(actual, expected, rel) \
  EXPECT_NEAR((actual), (expected), (rel)*std::fabs(expected))

BytesPerSecond GBps(double x) { return BytesPerSecond(x * kGB); }

// Checks that a path is a chain of links from src to dst.
::testing::AssertionResult IsPath(const Topology& t, const Path& p, NodeId src, NodeId dst) {
  if (p.empty()) return ::testing::AssertionFailure() << "empty path";
  if (t.link(p.front()).from != src) return ::testing::AssertionFailure() << "does not start at src";
  if (t.link(p.back()).to != dst) return ::testing::AssertionFailure() << "does not end at dst";
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (t.link(p[i - 1]).to != t.link(p[i]).from) {
      return ::testing::AssertionFailure() << "hop " << i << " is not joined to the previous one";
    }
  }
  return ::testing::AssertionSuccess();
}

FatTreeSpec SmallFatTree(int gpus, int rails, int tiers, int radix, double oversub = 1) {
  FatTreeSpec s;
  s.gpus = gpus;
  s.gpus_per_server = rails;
  s.tiers = tiers;
  s.radix = radix;
  s.nic_bandwidth = GBps(50);
  s.oversubscription = oversub;
  s.link_latency = Seconds(1e-6);
  return s;
}

// ---------------------------------------------------------------- builders

TEST(netBuilders, NvlinkDomainIsAStarThroughOneNvswitch) {
  auto t = BuildNvlinkDomain({72, GBps(900), Seconds(0.5e-6)});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->gpu_count(), 72);
  EXPECT_EQ(t->node_count(), 73);
  EXPECT_EQ(t->link_count(), 144);
  Router router(&*t);
  auto p = router.Route(3, 70, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->size(), 2u);
  EXPECT_TRUE(IsPath(*t, *p, 3, 70));
  EXPECT_EQ(t->node(t->link((*p)[0]).to).kind, NodeKind::kNvSwitch);
}

TEST(netBuilders, TwoTierRailFatTreeShape) {
  // radix 8: 4 hosts and 4 uplinks per leaf; 16 GPUs in 8 servers of 2 -> 2 groups x 2 rails.
  auto t = BuildRailFatTree(SmallFatTree(16, 2, 2, 8));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const SiteLayout& s = t->sites().at(0);
  EXPECT_EQ(s.leaves, 4);
  EXPECT_EQ(s.spines, 4);
  EXPECT_EQ(s.cores, 0);
  EXPECT_EQ(t->node_count(), 16 + 4 + 4);
  EXPECT_EQ(t->link_count(), 2 * 16 + 2 * 4 * 4);
  // GPU 0 and 2 are rail 0 of servers 0 and 1: same leaf. GPU 1 is rail 1: another leaf.
  EXPECT_EQ(s.LeafOfGpu(0), s.LeafOfGpu(2));
  EXPECT_NE(s.LeafOfGpu(0), s.LeafOfGpu(1));
  // Server 4 starts the second group of 4 servers.
  EXPECT_NE(s.LeafOfGpu(0), s.LeafOfGpu(8));
  // Each GPU's NIC link goes to its rail leaf.
  for (int g = 0; g < 16; ++g) {
    EXPECT_EQ(t->link(s.first_nic + 2 * g).to, s.first_leaf + s.LeafOfGpu(g));
  }
}

TEST(netBuilders, ThreeTierRailFatTreeShapeAndCapacity) {
  // radix 8, 2 rails: at most floor(8 * 4 / 2) = 16 groups of 4 servers x 2 GPUs = 128 GPUs.
  EXPECT_EQ(FatTreeMaxGpus(8, 3, 2), 128);
  EXPECT_EQ(FatTreeMaxGpus(64, 3, 8), 65536);
  EXPECT_EQ(FatTreeMaxGpus(64, 2, 8), 2048);
  auto t = BuildRailFatTree(SmallFatTree(128, 2, 3, 8, 2));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const SiteLayout& s = t->sites().at(0);
  EXPECT_EQ(s.leaves, 32);
  EXPECT_EQ(s.pods, 8);
  EXPECT_EQ(s.spines, 32);
  EXPECT_EQ(s.cores, 16);
  // 2:1 at the leaf: uplinks carry half the NIC; spine-core links the full NIC.
  EXPECT_DOUBLE_EQ(t->link(s.first_leaf_spine).capacity.value(), 25 * kGB);
  EXPECT_DOUBLE_EQ(t->link(s.first_leaf_spine + 1).capacity.value(), 25 * kGB);
  EXPECT_DOUBLE_EQ(t->link(s.first_spine_core).capacity.value(), 50 * kGB);
  EXPECT_DOUBLE_EQ(t->link(s.first_nic).capacity.value(), 50 * kGB);
}

TEST(netBuilders, ErrorsNameTheFieldAndTheLimit) {
  auto too_many = BuildRailFatTree(SmallFatTree(100000, 8, 3, 64));
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasText(too_many.status().message(),
                      "radix 64 is too small for 100000 GPUs: 3 tiers of radix-64 switches with 8 GPUs "
                      "per server hold at most 65536 GPUs"));
  auto two_tier = BuildRailFatTree(SmallFatTree(4096, 8, 2, 64));
  ASSERT_FALSE(two_tier.ok());
  EXPECT_TRUE(HasText(two_tier.status().message(), "at most 2048 GPUs; use a larger radix or three tiers"));
  EXPECT_TRUE(HasText(BuildRailFatTree(SmallFatTree(12, 8, 2, 64)).status().message(),
                      "gpus (12) must be a multiple of gpus_per_server (8)"));
  EXPECT_TRUE(HasText(BuildRailFatTree(SmallFatTree(16, 8, 4, 64)).status().message(),
                      "tiers must be 2 or 3 (got 4)"));
  EXPECT_TRUE(HasText(BuildRailFatTree(SmallFatTree(16, 8, 2, 63)).status().message(),
                      "radix must be an even number"));
  EXPECT_TRUE(HasText(BuildRailFatTree(SmallFatTree(16, 8, 2, 64, 0.5)).status().message(),
                      "oversubscription is downlink:uplink capacity and must be >= 1 (got 0.5)"));
  FatTreeSpec no_nic = SmallFatTree(16, 8, 2, 64);
  no_nic.nic_bandwidth = BytesPerSecond(0);
  EXPECT_TRUE(HasText(BuildRailFatTree(no_nic).status().message(), "nic_bandwidth must be positive"));
  FatTreeSpec no_nvlink = SmallFatTree(16, 8, 2, 64);
  no_nvlink.nvlink_domain = 8;
  EXPECT_TRUE(HasText(BuildRailFatTree(no_nvlink).status().message(),
                      "nvlink_bandwidth must be positive with nvlink_domain 8"));
  EXPECT_TRUE(HasText(BuildNvlinkDomain({0, GBps(900), Seconds(0)}).status().message(),
                      "nvlink domain: gpus must be positive (got 0)"));

  MultiSiteSpec sites;
  sites.sites = {SmallFatTree(16, 8, 2, 64), SmallFatTree(16, 8, 2, 64), SmallFatTree(16, 8, 2, 64)};
  sites.wan = {WanLinkSpec{0, 1, GBps(10), Seconds(1e-3), 1}};
  EXPECT_TRUE(HasText(BuildMultiSite(sites).status().message(),
                      "multi-site: site 2 is not connected to site 0 by any chain of WAN links"));
  sites.wan.push_back(WanLinkSpec{2, 2, GBps(10), Seconds(1e-3), 1});
  EXPECT_TRUE(HasText(BuildMultiSite(sites).status().message(),
                      "wan[1] (site 2 - site 2): a WAN link joins two different sites"));
  sites.wan.back() = WanLinkSpec{1, 3, GBps(10), Seconds(1e-3), 1};
  EXPECT_TRUE(HasText(BuildMultiSite(sites).status().message(), "site index out of range [0, 3)"));
  sites.sites[1].radix = 3;
  EXPECT_TRUE(HasText(BuildMultiSite(sites).status().message(), "site 1: fat-tree: radix must be"));

  Topology hand;
  NodeId a = hand.AddNode(NodeKind::kGpu);
  EXPECT_TRUE(HasText(hand.AddLink(a, 7, GBps(1), Seconds(0)).status().message(), "unknown node"));
  NodeId b = hand.AddNode(NodeKind::kSwitch);
  EXPECT_TRUE(HasText(hand.AddLink(a, b, GBps(0), Seconds(0)).status().message(),
                      "link gpu 0 -> switch 0: capacity must be positive"));
}

// ---------------------------------------------------------------- routing

TEST(netRouting, FatTreeRoutesGoUpOnlyAsFarAsNeeded) {
  auto t = BuildRailFatTree(SmallFatTree(128, 2, 3, 8));
  ASSERT_TRUE(t.ok());
  const SiteLayout& s = t->sites()[0];
  Router router(&*t);
  // Same leaf (rail 0 of servers 0 and 1), same pod (leaf 0 and 2), other pods.
  ASSERT_EQ(s.LeafOfGpu(0), s.LeafOfGpu(2));
  ASSERT_EQ(s.PodOfLeaf(s.LeafOfGpu(0)), s.PodOfLeaf(s.LeafOfGpu(8)));
  ASSERT_NE(s.PodOfLeaf(s.LeafOfGpu(0)), s.PodOfLeaf(s.LeafOfGpu(100)));
  struct Case { NodeId dst; std::size_t hops; };
  for (Case c : {Case{2, 2}, Case{8, 4}, Case{1, 4}, Case{100, 6}}) {
    auto p = router.Route(0, c.dst, 7);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->size(), c.hops) << "to gpu " << c.dst;
    EXPECT_TRUE(IsPath(*t, *p, 0, c.dst));
  }
}

TEST(netRouting, EcmpIsDeterministicAndSpreadsOverSpines) {
  auto t = BuildRailFatTree(SmallFatTree(128, 2, 3, 8));
  ASSERT_TRUE(t.ok());
  Router router(&*t);
  std::set<LinkId> first_uplinks;
  std::set<LinkId> core_links;
  for (std::uint64_t e = 0; e < 200; ++e) {
    Path p = *router.Route(0, 100, e);
    EXPECT_EQ(p, *router.Route(0, 100, e));
    first_uplinks.insert(p[1]);
    core_links.insert(p[2]);
  }
  EXPECT_EQ(first_uplinks.size(), 4u);  // every spine of the pod
  EXPECT_EQ(core_links.size(), 16u);    // every core
}

TEST(netRouting, EveryPairHasAValidPathInEveryBuilder) {
  MultiSiteSpec spec;
  spec.sites = {SmallFatTree(32, 2, 2, 8), SmallFatTree(64, 2, 3, 8), SmallFatTree(16, 4, 2, 8)};
  spec.sites[0].nvlink_domain = 4;
  spec.sites[0].nvlink_bandwidth = GBps(450);
  spec.wan = FullMeshWan(3, GBps(10), Seconds(2e-3));
  auto t = BuildMultiSite(spec);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->gpu_count(), 112);
  Router router(&*t);
  for (NodeId a = 0; a < t->gpu_count(); a += 3) {
    for (NodeId b = 0; b < t->gpu_count(); b += 5) {
      if (a == b) continue;
      auto p = router.Route(a, b, static_cast<std::uint64_t>(a * 1000 + b));
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      ASSERT_TRUE(IsPath(*t, *p, a, b)) << a << " -> " << b;
      int wan_hops = 0;
      for (LinkId l : *p) {
        wan_hops += t->node(t->link(l).from).kind == NodeKind::kGateway &&
                    t->node(t->link(l).to).kind == NodeKind::kGateway;
      }
      EXPECT_EQ(wan_hops, t->node(a).site == t->node(b).site ? 0 : 1);
    }
  }
  // GPUs 0..3 share an NVLink domain in site 0: two hops through the NVSwitch.
  Path nvl = *router.Route(0, 3, 0);
  EXPECT_EQ(nvl.size(), 2u);
  EXPECT_EQ(t->node(t->link(nvl[0]).to).kind, NodeKind::kNvSwitch);
}

TEST(netRouting, HandBuiltGraphUsesShortestPaths) {
  // a -> {s1, s2} -> b, and a long detour a -> x -> y -> b.
  Topology t;
  NodeId a = t.AddNode(NodeKind::kGpu), b = t.AddNode(NodeKind::kGpu);
  NodeId s1 = t.AddNode(NodeKind::kSwitch), s2 = t.AddNode(NodeKind::kSwitch);
  NodeId x = t.AddNode(NodeKind::kSwitch), y = t.AddNode(NodeKind::kSwitch);
  for (NodeId s : {s1, s2}) {
    ASSERT_TRUE(t.AddDuplexLink(a, s, GBps(1), Seconds(0)).ok());
    ASSERT_TRUE(t.AddDuplexLink(s, b, GBps(1), Seconds(0)).ok());
  }
  ASSERT_TRUE(t.AddLink(a, x, GBps(1), Seconds(0)).ok());
  ASSERT_TRUE(t.AddLink(x, y, GBps(1), Seconds(0)).ok());
  ASSERT_TRUE(t.AddLink(y, b, GBps(1), Seconds(0)).ok());
  NodeId island = t.AddNode(NodeKind::kSwitch);
  Router router(&t);
  std::set<NodeId> middles;
  for (std::uint64_t e = 0; e < 64; ++e) {
    Path p = *router.Route(a, b, e);
    ASSERT_EQ(p.size(), 2u);
    middles.insert(t.link(p[0]).to);
  }
  EXPECT_EQ(middles, (std::set<NodeId>{s1, s2}));
  EXPECT_TRUE(HasText(router.Route(b, island, 0).status().message(), "no path from gpu 1 to switch 4"));
  EXPECT_TRUE(HasText(router.Route(a, a, 0).status().message(), "source and destination are the same"));
}

// ---------------------------------------------------------------- flows

// Two sources a, b feeding one switch s that forwards to c: the s -> c link is the shared one.
struct Dumbbell {
  Topology t;
  NodeId a, b, c, s;
  LinkId a_s, b_s, s_c;
  Dumbbell(double a_cap, double b_cap, double s_cap, double latency = 0) {
    a = t.AddNode(NodeKind::kGpu);
    b = t.AddNode(NodeKind::kGpu);
    c = t.AddNode(NodeKind::kGpu);
    s = t.AddNode(NodeKind::kSwitch);
    a_s = *t.AddLink(a, s, GBps(a_cap), Seconds(latency));
    b_s = *t.AddLink(b, s, GBps(b_cap), Seconds(latency));
    s_c = *t.AddLink(s, c, GBps(s_cap), Seconds(latency));
  }
};

TEST(netFlows, OneFlowTakesBytesOverCapacityPlusLatency) {
  Dumbbell d(100, 100, 100, 1e-6);
  des::Simulator sim;
  Network net(&sim, std::move(d.t));
  int completions = 0;
  auto id = net.StartFlow(d.a, d.c, Bytes(1 * kGB), [&](const FlowRecord& r) {
    ++completions;
    EXPECT_EQ(r.finish, sim.Now());
  });
  ASSERT_TRUE(id.ok());
  net.RunUntilIdle();
  EXPECT_EQ(completions, 1);
  const FlowRecord& r = net.flow(*id);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.transfer_end.ns(), 10'000'000);        // 1 GB / 100 GB/s = 10 ms
  EXPECT_EQ(r.finish.ns(), 10'000'000 + 2'000);      // + two 1 us hops
  EXPECT_REL_NEAR(net.link_usage(d.s_c).carried.value(), 1 * kGB, 1e-12);
  EXPECT_DOUBLE_EQ(net.link_usage(d.s_c).busy.value(), 10e-3);
}

TEST(netFlows, TwoFlowsOnOneBottleneckGetHalfEach) {
  Dumbbell d(100, 100, 100);
  des::Simulator sim;
  Network net(&sim, std::move(d.t));
  FlowId f1 = *net.StartFlow(d.a, d.c, Bytes(1 * kGB), nullptr);
  FlowId f2 = *net.StartFlow(d.b, d.c, Bytes(1 * kGB), nullptr);
  sim.Run(SimTime::Nanoseconds(1));
  EXPECT_DOUBLE_EQ(net.FlowRate(f1).value(), 50 * kGB);
  EXPECT_DOUBLE_EQ(net.FlowRate(f2).value(), 50 * kGB);
  net.RunUntilIdle();
  EXPECT_EQ(net.flow(f1).finish.ns(), 20'000'000);
  EXPECT_EQ(net.flow(f2).finish.ns(), 20'000'000);
}

TEST(netFlows, AFlowBottleneckedElsewhereReleasesCapacity) {
  // a -> s is 30 GB/s: flow 1 is held at 30 there, so flow 2 gets the other 70 of s -> c.
  Dumbbell d(30, 100, 100);
  des::Simulator sim;
  Network net(&sim, std::move(d.t));
  FlowId f1 = *net.StartFlow(d.a, d.c, Bytes(3 * kGB), nullptr);
  FlowId f2 = *net.StartFlow(d.b, d.c, Bytes(7 * kGB), nullptr);
  sim.Run(SimTime::Nanoseconds(1));
  EXPECT_DOUBLE_EQ(net.FlowRate(f1).value(), 30 * kGB);
  EXPECT_DOUBLE_EQ(net.FlowRate(f2).value(), 70 * kGB);
  net.RunUntilIdle();
  EXPECT_EQ(net.flow(f1).finish.ns(), 100'000'000);  // 3 GB / 30 GB/s
  EXPECT_EQ(net.flow(f2).finish.ns(), 100'000'000);  // 7 GB / 70 GB/s
}

TEST(netFlows, TheSurvivorSpeedsUpWhenAFlowFinishes) {
  Dumbbell d(100, 100, 100);
  des::Simulator sim;
  Network net(&sim, std::move(d.t));
  FlowId small = *net.StartFlow(d.a, d.c, Bytes(0.5 * kGB), nullptr);
  FlowId large = *net.StartFlow(d.b, d.c, Bytes(1 * kGB), nullptr);
  net.RunUntilIdle();
  // Both at 50 until the small one is done at 10 ms; the other 0.5 GB at 100 GB/s: 5 ms more.
  EXPECT_EQ(net.flow(small).finish.ns(), 10'000'000);
  EXPECT_EQ(net.flow(large).finish.ns(), 15'000'000);
  EXPECT_REL_NEAR(net.link_usage(d.s_c).carried.value(), 1.5 * kGB, 1e-12);
  EXPECT_DOUBLE_EQ(net.link_usage(d.s_c).busy.value(), 15e-3);
}

TEST(netFlows, LateFlowSlowsTheRunningOne) {
  Dumbbell d(100, 100, 100);
  des::Simulator sim;
  Network net(&sim, std::move(d.t));
  FlowId first = *net.StartFlow(d.a, d.c, Bytes(1 * kGB), nullptr);
  FlowId second = -1;
  sim.Schedule(SimTime::Nanoseconds(5'000'000), [&] {
    second = *net.StartFlow(d.b, d.c, Bytes(1 * kGB), nullptr);
  });
  net.RunUntilIdle();
  // 0.5 GB alone by 5 ms; then 50/50: first has 0.5 GB left -> 10 ms more -> 15 ms; the second
  // has 0.5 GB left at 15 ms and runs alone: 5 ms -> 20 ms.
  EXPECT_EQ(net.flow(first).finish.ns(), 15'000'000);
  EXPECT_EQ(net.flow(second).finish.ns(), 20'000'000);
}

TEST(netFlows, OversubscribedLeafHalvesCrossLeafFlows) {
  // Radix 8, one GPU per server: four leaves of 4 GPUs, 4 uplinks each. NIC 50 GB/s; with 2:1
  // the uplinks are 25 GB/s, so the 4 GPUs of leaf 0 sending to leaf 1 share 4 x 25 = 100 GB/s:
  // 25 GB/s each, half their NIC, when ECMP puts them on different uplinks. A flow inside leaf 2
  // keeps its 50.
  for (double oversub : {1.0, 2.0}) {
    auto t = BuildRailFatTree(SmallFatTree(16, 1, 2, 8, oversub));
    ASSERT_TRUE(t.ok());
    des::Simulator sim;
    Network net(&sim, std::move(t).value());
    std::set<LinkId> used_uplinks;
    std::vector<FlowId> cross;
    for (NodeId g = 0; g < 4; ++g) {
      // Entropy (a queue pair, say) that puts this flow on an uplink no other flow uses.
      for (std::uint64_t e = 0;; ++e) {
        Path p = *net.router().Route(g, 4 + g, e);
        if (used_uplinks.insert(p[1]).second) {
          FlowOptions options;
          options.ecmp_entropy = e;
          cross.push_back(*net.StartFlow(g, 4 + g, Bytes(1 * kGB), nullptr, options));
          break;
        }
      }
    }
    FlowId local = *net.StartFlow(8, 9, Bytes(1 * kGB), nullptr);  // inside leaf 2
    sim.Run(SimTime::Nanoseconds(1));
    for (FlowId f : cross) EXPECT_DOUBLE_EQ(net.FlowRate(f).value(), 50 * kGB / oversub) << oversub;
    EXPECT_DOUBLE_EQ(net.FlowRate(local).value(), 50 * kGB);
    ASSERT_TRUE(net.CheckCapacity().ok());
    net.RunUntilIdle();
    // 1 GB at 25 GB/s = 40 ms (+ 4 hops of 1 us); at 50 GB/s = 20 ms.
    for (FlowId f : cross) EXPECT_EQ(net.flow(f).transfer_end.ns(), oversub == 2 ? 40'000'000 : 20'000'000);
  }
}

TEST(netFlows, EcmpCollisionsShareAnUplink) {
  // Without chosen entropies, flows that hash onto the same uplink share it: each flow's rate is
  // the uplink capacity over the number of flows on it.
  auto t = BuildRailFatTree(SmallFatTree(8, 1, 2, 8, 2));
  ASSERT_TRUE(t.ok());
  des::Simulator sim;
  Network net(&sim, std::move(t).value());
  std::vector<FlowId> flows;
  for (NodeId g = 0; g < 4; ++g) flows.push_back(*net.StartFlow(g, 4 + g, Bytes(1 * kGB), nullptr));
  sim.Run(SimTime::Nanoseconds(1));
  for (FlowId f : flows) {
    int sharing = 0;
    for (FlowId o : flows) sharing += net.FlowPath(o)[1] == net.FlowPath(f)[1];
    EXPECT_DOUBLE_EQ(net.FlowRate(f).value(), 25 * kGB / sharing);
  }
}

// Every GPU of pod 0 sends 1 GB to the GPU of the same rail and slot 64 GPUs on (another pod):
// 16 flows up through the 4 spines of the pod and the 16 cores. Returns the most flows any
// leaf-spine or spine-core link carried and the time of the last completion.
std::pair<int, double> CrossPodRun(RoutingPolicy routing) {
  auto t = BuildRailFatTree(SmallFatTree(128, 2, 3, 8));
  AIF_CHECK(t.ok());
  const SiteLayout s = t->sites()[0];
  des::Simulator sim;
  Network net(&sim, std::move(t).value(), NetworkOptions{.routing = routing});
  std::vector<FlowId> flows;
  for (NodeId g = 0; g < 16; ++g) flows.push_back(*net.StartFlow(g, g + 64, Bytes(1 * kGB), nullptr));
  std::map<LinkId, int> on_link;
  for (FlowId f : flows) {
    for (LinkId l : net.FlowPath(f)) on_link[l] += l >= s.first_leaf_spine;
  }
  int most = 0;
  for (const auto& [l, n] : on_link) most = std::max(most, n);
  net.RunUntilIdle();
  double last = 0;
  for (FlowId f : flows) last = std::max(last, net.flow(f).finish.ToSeconds().value());
  return {most, last};
}

TEST(netRouting, AdaptiveRoutingTakesTheLeastLoadedAlternative) {
  auto t = BuildRailFatTree(SmallFatTree(8, 1, 2, 8));
  ASSERT_TRUE(t.ok());
  const SiteLayout& s = t->sites()[0];
  // Every uplink of leaf 0 carries 5 flows but spine 2's, which carries 1; every downlink to
  // leaf 1 carries 1 but spine 3's, which carries 9.
  struct Fake : LinkLoad {
    LinkId quiet_up, busy_down;
    std::int64_t FlowsOn(LinkId l) const override {
      if (l == quiet_up) return 1;
      if (l == busy_down) return 9;
      return l % 2 == 0 ? 5 : 1;
    }
  } load;
  load.quiet_up = s.first_leaf_spine + 2 * 2;
  load.busy_down = s.first_leaf_spine + 2 * (1 * s.half_radix + 3) + 1;
  Router router(&*t);
  router.SetAdaptive(&load);
  for (std::uint64_t e = 0; e < 20; ++e) {
    Path p = *router.Route(0, 4, e);
    EXPECT_TRUE(IsPath(*t, p, 0, 4));
    EXPECT_EQ(p[1], load.quiet_up) << "entropy " << e;
  }
  // Failed links are skipped even when idle.
  t->SetLinkUp(load.quiet_up, false);
  for (std::uint64_t e = 0; e < 20; ++e) {
    Path p = *router.Route(0, 4, e);
    EXPECT_TRUE(IsPath(*t, p, 0, 4));
    EXPECT_NE(p[1], load.quiet_up);
    EXPECT_NE(p[2], load.busy_down);
  }
}

TEST(netFlows, AdaptiveRoutingSpreadsFlowsThatEcmpCollides) {
  // Full bisection: with one flow per link every flow runs at its NIC's 50 GB/s (1 GB in 20 ms
  // plus 6 hops of 1 us). Static hashing puts two or more on some uplink or core link.
  auto [adaptive_most, adaptive_last] = CrossPodRun(RoutingPolicy::kAdaptive);
  auto [ecmp_most, ecmp_last] = CrossPodRun(RoutingPolicy::kEcmp);
  EXPECT_EQ(adaptive_most, 1);
  EXPECT_NEAR(adaptive_last, 0.020 + 6e-6, 1e-9);
  EXPECT_GE(ecmp_most, 2);
  EXPECT_GE(ecmp_last, 2 * 0.020);
  // Deterministic.
  EXPECT_EQ(CrossPodRun(RoutingPolicy::kAdaptive), std::make_pair(adaptive_most, adaptive_last));
}

TEST(netRouting, AdaptiveRoutingFindsTheOnlyLiveCoreAcrossPods) {
  // Every spine-core link of pod 0 is down but those of spine 3 to core group 3: the leaf's
  // first pick of spine reaches no core, and the route falls back to every (spine, core) pair.
  auto t = BuildRailFatTree(SmallFatTree(128, 2, 3, 8));
  ASSERT_TRUE(t.ok());
  const SiteLayout& s = t->sites()[0];
  const std::int64_t h = s.half_radix;
  for (std::int64_t j = 0; j < h; ++j) {
    for (std::int64_t c = 0; c < h; ++c) {
      if (j != 3) t->SetLinkUp(static_cast<LinkId>(s.first_spine_core + 2 * (j * h + c)), false);
    }
  }
  struct Idle : LinkLoad {
    std::int64_t FlowsOn(LinkId) const override { return 0; }
  } idle;
  Router router(&*t);
  router.SetAdaptive(&idle);
  for (std::uint64_t e = 0; e < 20; ++e) {
    auto p = router.Route(0, 100, e);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_TRUE(IsPath(*t, *p, 0, 100));
    for (LinkId l : *p) EXPECT_TRUE(t->link(l).up) << t->LinkName(l);
  }
}

TEST(netFlows, FailedLinkReroutesRunningFlows) {
  auto t = BuildRailFatTree(SmallFatTree(8, 1, 2, 8));
  ASSERT_TRUE(t.ok());
  des::Simulator sim;
  Network net(&sim, std::move(t).value());
  FlowId f = *net.StartFlow(0, 4, Bytes(1 * kGB), nullptr);
  const LinkId uplink = net.FlowPath(f)[1];
  sim.Schedule(SimTime::Nanoseconds(5'000'000), [&] {
    ASSERT_TRUE(net.FailLink(uplink).ok());
    EXPECT_EQ(std::ranges::count(net.FlowPath(f), uplink), 0);
  });
  net.RunUntilIdle();
  EXPECT_EQ(net.flow(f).reroutes, 1);
  EXPECT_EQ(net.stats().reroutes, 1u);
  // 0.25 GB at 50 GB/s before the failure, the rest over another spine: still 20 ms.
  EXPECT_EQ(net.flow(f).transfer_end.ns(), 20'000'000);
  EXPECT_REL_NEAR(net.link_usage(uplink).carried.value(), 0.25 * kGB, 1e-12);
  EXPECT_REL_NEAR(net.link_usage(net.FlowPath(f)[1]).carried.value(), 0.75 * kGB, 1e-12);
  // New flows avoid the failed link whatever their hash.
  for (int i = 0; i < 32; ++i) {
    FlowId g = *net.StartFlow(1, 4, Bytes(1), nullptr);
    (void)g;
    Path p = *net.router().Route(0, 5, static_cast<std::uint64_t>(i));
    EXPECT_EQ(std::count(p.begin(), p.end(), uplink), 0);
  }
  net.RunUntilIdle();
  EXPECT_TRUE(net.RestoreLink(uplink).ok());
}

TEST(netFlows, FailingALinkWithNoAlternativeIsAnErrorAndChangesNothing) {
  auto t = BuildRailFatTree(SmallFatTree(8, 1, 2, 8));
  ASSERT_TRUE(t.ok());
  des::Simulator sim;
  Network net(&sim, std::move(t).value());
  FlowId f = *net.StartFlow(0, 4, Bytes(1 * kGB), nullptr);
  const LinkId nic = net.FlowPath(f)[0];
  Status s = net.FailLink(nic);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasText(s.message(), "cannot fail link 0 (gpu 0 -> leaf 0): flow 0 has no other path"));
  EXPECT_TRUE(HasText(s.message(), "NIC link is down"));
  EXPECT_TRUE(net.topology().link(nic).up);
  net.RunUntilIdle();
  EXPECT_EQ(net.flow(f).finish.ns(), 20'000'000 + 4'000);
  // With no flow on it the NIC link can fail; then flows from that GPU have no path.
  ASSERT_TRUE(net.FailLink(nic).ok());
  EXPECT_TRUE(HasText(net.StartFlow(0, 4, Bytes(1), nullptr).status().message(),
                      "flow 1: no path from gpu 0 to gpu 4"));
  EXPECT_TRUE(HasText(net.FailLink(99999).message(), "no such link"));
}

TEST(netFlows, DegradedWanSlowsCrossSiteFlows) {
  MultiSiteSpec spec;
  spec.sites = {SmallFatTree(8, 1, 2, 8), SmallFatTree(8, 1, 2, 8)};
  spec.wan = {WanLinkSpec{0, 1, GBps(10), Seconds(5e-3), 1}};
  auto t = BuildMultiSite(spec);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  des::Simulator sim;
  Network net(&sim, std::move(t).value());
  FlowId f = *net.StartFlow(0, 8, Bytes(1 * kGB), nullptr);
  LinkId wan = kNoLink;
  for (LinkId l : net.FlowPath(f)) {
    if (net.topology().node(net.topology().link(l).from).kind == NodeKind::kGateway &&
        net.topology().node(net.topology().link(l).to).kind == NodeKind::kGateway) {
      wan = l;
    }
  }
  ASSERT_NE(wan, kNoLink);
  sim.Run(SimTime::Nanoseconds(1));
  EXPECT_DOUBLE_EQ(net.FlowRate(f).value(), 10 * kGB);
  sim.Schedule(SimTime::Nanoseconds(50'000'000), [&] { ASSERT_TRUE(net.ScaleLinkCapacity(wan, 0.5).ok()); });
  net.RunUntilIdle();
  // 0.5 GB in 50 ms at 10 GB/s, the other 0.5 GB at 5 GB/s: 100 ms more. Latency: the WAN hop
  // (5 ms) and six 1 us fabric hops.
  EXPECT_EQ(net.flow(f).transfer_end.ns(), 150'000'000);
  EXPECT_EQ(net.flow(f).finish.ns(), 150'000'000 + 5'000'000 + 6'000);
  EXPECT_TRUE(HasText(net.ScaleLinkCapacity(wan, 0).message(), "factor must be positive"));
}

TEST(netFlows, NvlinkCarriesTrafficInsideADomainAndTheFabricAcrossDomains) {
  FatTreeSpec spec = SmallFatTree(16, 4, 2, 8);
  spec.nvlink_domain = 8;
  spec.nvlink_bandwidth = GBps(400);
  spec.nvlink_latency = Seconds(0.5e-6);
  auto t = BuildRailFatTree(spec);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  des::Simulator sim;
  Network net(&sim, std::move(t).value());
  FlowId inside = *net.StartFlow(0, 5, Bytes(4 * kGB), nullptr);  // one NVLink domain
  FlowId across = *net.StartFlow(1, 9, Bytes(1 * kGB), nullptr);  // another domain
  net.RunUntilIdle();
  EXPECT_EQ(net.flow(inside).transfer_end.ns(), 10'000'000);  // 4 GB / 400 GB/s
  EXPECT_EQ(net.flow(inside).finish.ns(), 10'001'000);
  EXPECT_EQ(net.flow(across).transfer_end.ns(), 20'000'000);  // 1 GB / 50 GB/s NIC
  // Rail 1 of servers 0 and 2 share a leaf: two hops through it.
  ASSERT_EQ(net.FlowPath(across).size(), 2u);
  EXPECT_EQ(net.topology().node(net.topology().link(net.FlowPath(across)[0]).to).kind, NodeKind::kLeaf);
}

TEST(netFlows, ZeroByteFlowsTakeThePathLatency) {
  Dumbbell d(100, 100, 100, 3e-6);
  des::Simulator sim;
  Network net(&sim, std::move(d.t));
  FlowId f = *net.StartFlow(d.a, d.c, Bytes(0), nullptr);
  net.RunUntilIdle();
  EXPECT_EQ(net.flow(f).finish.ns(), 6'000);
  EXPECT_EQ(net.stats().recomputations, 0u);
}

TEST(netFlows, StartFlowErrors) {
  Dumbbell d(100, 100, 100);
  des::Simulator sim;
  Network net(&sim, std::move(d.t));
  EXPECT_TRUE(HasText(net.StartFlow(d.a, d.a, Bytes(1), nullptr).status().message(),
                      "source and destination are the same node"));
  EXPECT_TRUE(HasText(net.StartFlow(d.a, 42, Bytes(1), nullptr).status().message(), "unknown node"));
  EXPECT_TRUE(HasText(net.StartFlow(d.a, d.c, Bytes(-1), nullptr).status().message(),
                      "bytes must be non-negative"));
  EXPECT_TRUE(HasText(net.StartFlow(d.c, d.a, Bytes(1), nullptr).status().message(), "no path"));
  EXPECT_EQ(net.flow_count(), 0);
}

TEST(netFlows, RecomputationIsLimitedToTheChangedComponent) {
  // Two flows share a -> c; a third runs alone on b -> d. The first and the third take their
  // link's capacity at once (alone when they start); the second makes a -> c shared, and the
  // recomputation covers that pair only. When a flow of the pair finishes, its partner is left
  // alone and takes the link's capacity without a recomputation.
  Topology t;
  NodeId a = t.AddNode(NodeKind::kGpu), b = t.AddNode(NodeKind::kGpu);
  NodeId c = t.AddNode(NodeKind::kGpu), d = t.AddNode(NodeKind::kGpu);
  ASSERT_TRUE(t.AddLink(a, c, GBps(100), Seconds(0)).ok());
  ASSERT_TRUE(t.AddLink(b, d, GBps(100), Seconds(0)).ok());
  des::Simulator sim;
  Network net(&sim, std::move(t));
  ASSERT_TRUE(net.StartFlow(a, c, Bytes(1 * kGB), nullptr).ok());
  ASSERT_TRUE(net.StartFlow(a, c, Bytes(2 * kGB), nullptr).ok());
  ASSERT_TRUE(net.StartFlow(b, d, Bytes(9 * kGB), nullptr).ok());
  sim.Run(SimTime::Nanoseconds(1));
  EXPECT_EQ(net.stats().recomputations, 1u);  // the starts at t = 0 are batched
  EXPECT_EQ(net.stats().direct_rates, 2u);
  EXPECT_EQ(net.stats().flow_rate_updates, 2u);
  sim.Run(SimTime::Nanoseconds(20'000'000));   // the 1 GB flow ends at 20 ms
  EXPECT_EQ(net.stats().recomputations, 1u);
  EXPECT_EQ(net.stats().flow_rate_updates, 2u);
  EXPECT_EQ(net.stats().direct_rates, 3u);  // its partner
  net.RunUntilIdle();
  EXPECT_EQ(net.flow(1).finish.ns(), 30'000'000);
  EXPECT_EQ(net.flow(2).finish.ns(), 90'000'000);
}

// ---------------------------------------------------------------- properties

struct RandomRun {
  std::vector<std::int64_t> finish_ns;
  NetworkStats stats;
  double link_bytes = 0;
  double path_bytes = 0;
  int capacity_violations = 0;
  std::string first_violation;
  std::size_t memory = 0;  // Network::MemoryBytes at the end
};

// Random flows on a 3-tier 2:1 fat-tree with NVLink domains, started at random times, some
// started by completions, and a spine uplink failing mid-run.
// With keep_completed_flows off, everything is read through the completion callbacks.
RandomRun RunRandom(std::uint64_t seed, bool keep_completed_flows = true,
                    RoutingPolicy routing = RoutingPolicy::kEcmp) {
  FatTreeSpec spec = SmallFatTree(128, 2, 3, 8, 2);
  spec.nvlink_domain = 4;
  spec.nvlink_bandwidth = GBps(200);
  spec.nvlink_latency = Seconds(0.3e-6);
  auto t = BuildRailFatTree(spec);
  AIF_CHECK(t.ok());
  const SiteLayout site = t->sites()[0];
  des::Simulator sim;
  Network net(&sim, std::move(t).value(),
              NetworkOptions{.keep_completed_flows = keep_completed_flows, .routing = routing});
  RandomRun run;
  std::vector<std::int64_t> finish(700, -1);
  net.SetRecomputeObserver([&] {
    Status s = net.CheckCapacity();
    if (!s.ok()) {
      if (run.capacity_violations++ == 0) run.first_violation = s.message();
    }
  });
  Rng rng(seed);
  int follow_ups = 300;
  std::function<void(const FlowRecord&)> on_done = [&](const FlowRecord& r) {
    AIF_CHECK(r.done && static_cast<std::size_t>(r.id) < finish.size());
    finish[static_cast<std::size_t>(r.id)] = r.finish.ns();
    if (follow_ups-- <= 0) return;
    auto next = static_cast<NodeId>(rng.Below(128));
    if (next == r.dst) next = (next + 1) % 128;
    AIF_CHECK(net.StartFlow(r.dst, next, Bytes(1e6 * static_cast<double>(1 + rng.Below(1000))), on_done).ok());
  };
  for (int i = 0; i < 400; ++i) {
    auto at = SimTime::Nanoseconds(static_cast<std::int64_t>(rng.Below(20'000'000)));
    auto src = static_cast<NodeId>(rng.Below(128));
    auto dst = static_cast<NodeId>(rng.Below(127));
    if (dst >= src) ++dst;
    double bytes = 1e6 * static_cast<double>(rng.Below(2000));  // some zero-byte flows
    sim.Schedule(at, [&net, &on_done, src, dst, bytes] {
      AIF_CHECK(net.StartFlow(src, dst, Bytes(bytes), on_done).ok());
    });
  }
  // At 5 ms the leaf uplink of the first running cross-leaf flow fails; at 8 ms a spine-core
  // link degrades to a quarter.
  sim.Schedule(SimTime::Nanoseconds(5'000'000), [&] {
    for (FlowId f = 0; f < net.flow_count(); ++f) {
      if (!(net.FlowRate(f).value() > 0)) continue;  // only running flows (others may be recycled)
      const std::span<const LinkId> p = net.FlowPath(f);
      if (p.size() >= 4 && p[1] >= site.first_leaf_spine && p[1] < site.first_spine_core) {
        AIF_CHECK(net.FailLink(p[1]).ok());
        return;
      }
    }
  });
  sim.Schedule(SimTime::Nanoseconds(8'000'000), [&] {
    AIF_CHECK(net.ScaleLinkCapacity(site.first_spine_core + 4, 0.25).ok());
  });
  net.RunUntilIdle();
  AIF_CHECK(net.flow_count() == static_cast<int>(finish.size()));
  run.finish_ns = finish;
  for (FlowId f = 0; keep_completed_flows && f < net.flow_count(); ++f) {
    const FlowRecord& r = net.flow(f);
    AIF_CHECK(r.done && r.finish.ns() == finish[static_cast<std::size_t>(f)]);
    run.path_bytes += r.bytes.value() * static_cast<double>(net.FlowPath(f).size());
  }
  run.memory = net.MemoryBytes();
  for (LinkId l = 0; l < net.topology().link_count(); ++l) {
    LinkUsage u = net.link_usage(l);
    run.link_bytes += u.carried.value();
    // A link never carried more than its capacity over the time it was busy (the degraded link
    // had a lower capacity for part of the run, so this bound holds a fortiori).
    if (u.carried.value() > net.topology().link(l).capacity.value() * u.busy.value() * (1 + 1e-9) + 1) {
      ++run.capacity_violations;
    }
  }
  run.stats = net.stats();
  return run;
}

TEST(netProperties, NoLinkAboveCapacityBytesConservedDeterministic) {
  RandomRun a = RunRandom(7);
  std::printf("recomputations %llu, flow rate updates %llu, largest component %llu flows\n",
              static_cast<unsigned long long>(a.stats.recomputations),
              static_cast<unsigned long long>(a.stats.flow_rate_updates),
              static_cast<unsigned long long>(a.stats.max_component_flows));
  EXPECT_EQ(a.capacity_violations, 0) << a.first_violation;
  EXPECT_EQ(a.stats.flows_started, 700u);
  EXPECT_EQ(a.stats.flows_completed, a.stats.flows_started);
  EXPECT_GT(a.stats.reroutes, 0u);
  EXPECT_GT(a.stats.recomputations, 100u);
  // Bytes conserved: delivered = started, and every link carried exactly its flows' bytes.
  EXPECT_EQ(a.stats.bytes_delivered.value(), a.stats.bytes_started.value());
  EXPECT_REL_NEAR(a.link_bytes, a.path_bytes, 1e-9);
  // Same input, same per-flow finish times.
  RandomRun b = RunRandom(7);
  EXPECT_EQ(a.finish_ns, b.finish_ns);
  EXPECT_EQ(a.stats.recomputations, b.stats.recomputations);
  RandomRun c = RunRandom(8);
  EXPECT_NE(a.finish_ns, c.finish_ns);
}

TEST(netProperties, AdaptiveRoutingKeepsCapacityBytesAndDeterminism) {
  // The same random run with flows (and reroutes after the failure) placed by load.
  RandomRun a = RunRandom(7, false, RoutingPolicy::kAdaptive);
  EXPECT_EQ(a.capacity_violations, 0) << a.first_violation;
  EXPECT_EQ(a.stats.flows_completed, 700u);
  EXPECT_GT(a.stats.reroutes, 0u);
  EXPECT_EQ(a.stats.bytes_delivered.value(), a.stats.bytes_started.value());
  EXPECT_EQ(a.finish_ns, RunRandom(7, false, RoutingPolicy::kAdaptive).finish_ns);
  EXPECT_NE(a.finish_ns, RunRandom(7, false, RoutingPolicy::kEcmp).finish_ns);
}

// Recycling completed flows' state (what the timeline does) changes nothing but memory: the same
// finish times, recomputations and link bytes.
TEST(netProperties, RecycledFlowStateGivesTheSameRun) {
  RandomRun kept = RunRandom(7, true);
  RandomRun recycled = RunRandom(7, false);
  EXPECT_EQ(recycled.capacity_violations, 0) << recycled.first_violation;
  EXPECT_EQ(kept.finish_ns, recycled.finish_ns);
  EXPECT_EQ(kept.stats.recomputations, recycled.stats.recomputations);
  EXPECT_EQ(kept.stats.flow_rate_updates, recycled.stats.flow_rate_updates);
  EXPECT_EQ(kept.stats.reroutes, recycled.stats.reroutes);
  EXPECT_EQ(kept.link_bytes, recycled.link_bytes);
  std::printf("network memory: %zu B keeping every flow, %zu B recycling\n", kept.memory,
              recycled.memory);
  EXPECT_LT(recycled.memory, kept.memory);
}

}  // namespace
}  // namespace aif::net
