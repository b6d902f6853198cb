#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "aifactory/catalog/catalog.h"
#include "aifactory/catalog/hardware.h"
#include "aifactory/catalog/precision.h"
#include "aifactory/perf/collective.h"
#include "aifactory/perf/device.h"

namespace aif::perf {
namespace {

using catalog::Precision;

// Relative comparison for times computed by hand.
#define ASSERT_REL_NEAR(actual, expected, rel) \
  ASSERT_NEAR((actual), (expected), (rel)*std::fabs(expected))
#define EXPECT_REL_NEAR(actual, expected, rel) \
  EXPECT_NEAR((actual), (expected), (rel)*std::fabs(expected))

// Round numbers that make the hand computations below easy to follow.
constexpr LinkTier kUp{BytesPerSecond(400e9), Seconds(2e-6)};  // NVLink-like
constexpr LinkTier kOut{BytesPerSecond(50e9), Seconds(5e-6)};  // one 400G NIC-like

CommGroup Group(int size, int ranks_per_domain, LinkTier up = kUp, LinkTier out = kOut) {
  CommGroup g;
  g.size = size;
  g.ranks_per_domain = ranks_per_domain;
  g.scale_up = up;
  g.scale_out = out;
  return g;
}


// Inside an NVLink switch domain: ceil(log2 n) steps with the ring's bytes.
double Switch(int n, double bytes, LinkTier t) {
  return std::ceil(std::log2(n)) * t.latency.value() + bytes * (n - 1) / n / t.bandwidth.value();
}

// ---------------------------------------------------------------- collectives

TEST(Collective, SwitchPhaseInsideOneDomain) {
  for (int n : {2, 4, 8}) {
    for (double bytes : {1e3, 1e6, 1e9}) {
      CommGroup g = Group(n, n);
      ASSERT_FALSE(g.spans_domains());
      double expected = Switch(n, bytes, kUp);
      EXPECT_REL_NEAR(ReduceScatterTime(g, Bytes(bytes)).value(), expected, 1e-12)
          << n << " " << bytes;
      EXPECT_REL_NEAR(AllGatherTime(g, Bytes(bytes)).value(), expected, 1e-12) << n << " " << bytes;
    }
  }
  // By hand: 8 ranks, 1 GB: 3 * 2 us + 1e9 * 7/8 / 400e9 = 6 us + 2.1875 ms.
  EXPECT_REL_NEAR(ReduceScatterTime(Group(8, 8), Bytes(1e9)).value(), 2.1935e-3, 1e-12);
}

TEST(Collective, TrivialGroupsAndEmptyMessagesCostNothing) {
  EXPECT_EQ(ReduceScatterTime(Group(1, 1), Bytes(1e9)).value(), 0);
  EXPECT_EQ(AllGatherTime(Group(1, 1), Bytes(1e9)).value(), 0);
  EXPECT_EQ(AllReduceTime(Group(1, 1), Bytes(1e9)).value(), 0);
  EXPECT_EQ(AllToAllTime(Group(1, 1), Bytes(1e9)).value(), 0);
  EXPECT_EQ(ReduceScatterTime(Group(8, 8), Bytes(0)).value(), 0);
  EXPECT_EQ(AllToAllTime(Group(8, 8), Bytes(0)).value(), 0);
}

TEST(Collective, AllReduceIsTwiceReduceScatterForLargeMessages) {
  for (CommGroup g : {Group(8, 8), Group(4, 4), Group(16, 8), Group(64, 8), Group(32, 1)}) {
    Bytes bytes(4e9);
    EXPECT_REL_NEAR(AllReduceTime(g, bytes).value(), 2 * ReduceScatterTime(g, bytes).value(), 1e-12)
        << "size " << g.size << " ranks_per_domain " << g.ranks_per_domain;
  }
  EXPECT_REL_NEAR(AllReduceTime(Group(8, 8), Bytes(1e9)).value(), 2 * 2.1935e-3, 1e-12);
}

TEST(Collective, AllReduceOfSmallMessagesIsLatencyBoundButNoWorseThanRing) {
  CommGroup g = Group(64, 64);
  for (double bytes : {1.0, 1e3, 1e5, 1e7, 1e9}) {
    double ar = AllReduceTime(g, Bytes(bytes)).value();
    double ring = 2 * ReduceScatterTime(g, Bytes(bytes)).value();
    EXPECT_LE(ar, ring * (1 + 1e-12)) << bytes;
    EXPECT_GT(ar, 0) << bytes;
  }
  // 1 KB over 64 ranks: a ring pays 2 * 63 latency steps (252 us); a tree needs far fewer.
  EXPECT_LT(AllReduceTime(g, Bytes(1e3)).value(), 0.5 * 2 * 63 * kUp.latency.value());
}

TEST(Collective, RailRingsChosenAcrossAFewDomains) {
  // 16 ranks in two domains of 8, 1 GB.
  // Flat ring at the slowest tier: 15 * 5 us + 1e9 * 15/16 / 50e9 = 75 us + 18.75 ms.
  // Two levels: inside (3 * 2 us + 1e9 * 7/8 / 400e9 = 6 us + 2.1875 ms)
  //             + across on 1/8 of the data (1 * 5 us + 1.25e8 * 1/2 / 50e9 = 5 us + 1.25 ms).
  // Rail rings: 8 rings, one per NIC, at min(400, 8 x 50) GB/s: 15 * 5 us + 1e9 * 15/16 / 400e9.
  const double flat = 75e-6 + 18.75e-3;
  const double two_level = 6e-6 + 2.1875e-3 + 5e-6 + 1.25e-3;
  const double rail_rings = 75e-6 + 1e9 * 15 / 16 / 400e9;
  ASSERT_LT(rail_rings, two_level);
  ASSERT_LT(two_level, flat);
  CommGroup g = Group(16, 8);
  ASSERT_TRUE(g.spans_domains());
  EXPECT_REL_NEAR(ReduceScatterTime(g, Bytes(1e9)).value(), rail_rings, 1e-12);
  EXPECT_REL_NEAR(AllGatherTime(g, Bytes(1e9)).value(), rail_rings, 1e-12);
  EXPECT_REL_NEAR(AllReduceTime(g, Bytes(1e9)).value(), 2 * rail_rings, 1e-12);
  EXPECT_EQ(ChooseScatterGather(g, Bytes(1e9)), ScatterGatherScheme::kRailRings);
  EXPECT_EQ(ChooseScatterGather(Group(8, 8), Bytes(1e9)), ScatterGatherScheme::kSwitch);
  EXPECT_EQ(ChooseScatterGather(g, Bytes(0)), ScatterGatherScheme::kNone);
}

TEST(Collective, TwoLevelChosenAcrossManyDomains) {
  // 1024 ranks in 128 domains of 8, 100 MB: the rings' 1023 latency steps cost more than the
  // two levels' 3 + 127.
  //   rail rings: 1023 * 5 us + 1e8 * 1023/1024 / 400e9
  //   two levels: 3 * 2 us + 1e8 * 7/8 / 400e9 + 127 * 5 us + 1.25e7 * 127/128 / 50e9
  const double rail_rings = 1023 * 5e-6 + 1e8 * 1023 / 1024 / 400e9;
  const double two_level = 6e-6 + 1e8 * 7 / 8 / 400e9 + 127 * 5e-6 + 1.25e7 * 127 / 128 / 50e9;
  ASSERT_LT(two_level, rail_rings);
  CommGroup g = Group(1024, 8);
  EXPECT_REL_NEAR(ReduceScatterTime(g, Bytes(1e8)).value(), two_level, 1e-12);
  EXPECT_EQ(ChooseScatterGather(g, Bytes(1e8)), ScatterGatherScheme::kTwoLevel);
}

TEST(Collective, ConcurrentCollectivesAddUpOnlyOnTheTiersTheyShare) {
  // Dense: 1024 ranks, two levels (NVLink phase, then a ring across 128 domains on the NICs).
  // Experts: 128 ranks one per domain, a ring on the NICs alone.
  const CommGroup dense = Group(1024, 8);
  const CommGroup experts = Group(128, 1);
  const double inside = Switch(8, 1e8, kUp);
  const double across = 127 * 5e-6 + 1.25e7 * 127 / 128 / 50e9;
  const double ring = 127 * 5e-6 + 4e8 * 127 / 128 / 50e9;
  ASSERT_EQ(ChooseScatterGather(dense, Bytes(1e8)), ScatterGatherScheme::kTwoLevel);
  ASSERT_REL_NEAR(ReduceScatterTime(dense, Bytes(1e8)).value(), inside + across, 1e-12);
  ASSERT_REL_NEAR(ReduceScatterTime(experts, Bytes(4e8)).value(), ring, 1e-12);
  // Both on the NICs: the NICs carry the dense ring and the experts' ring, one after the other.
  EXPECT_REL_NEAR(ConcurrentScatterGatherTime(dense, Bytes(1e8), experts, Bytes(4e8)).value(),
                  across + ring, 1e-12);
  // Symmetric, and a missing second collective changes nothing.
  EXPECT_DOUBLE_EQ(ConcurrentScatterGatherTime(experts, Bytes(4e8), dense, Bytes(1e8)).value(),
                   ConcurrentScatterGatherTime(dense, Bytes(1e8), experts, Bytes(4e8)).value());
  EXPECT_DOUBLE_EQ(ConcurrentScatterGatherTime(dense, Bytes(1e8), experts, Bytes(0)).value(),
                   ReduceScatterTime(dense, Bytes(1e8)).value());
  // Different tiers: one group inside its domain (NVLink only), the other across domains with
  // one rank each (NICs only): they run side by side and the slower one sets the time.
  const CommGroup local = Group(8, 8);
  const double nvlink = Switch(8, 8e9, kUp);
  ASSERT_GT(nvlink, ring);
  EXPECT_REL_NEAR(ConcurrentScatterGatherTime(local, Bytes(8e9), experts, Bytes(4e8)).value(), nvlink, 1e-12);
  // All-reduce: a ring is twice the reduce-scatter's busy time per tier; the experts' 128 ranks
  // take the tree (14 steps, 2 x bytes over the NIC), also on the NICs.
  const double tree = 14 * 5e-6 + 2 * 4e8 / 50e9;
  ASSERT_REL_NEAR(AllReduceTime(experts, Bytes(4e8)).value(), tree, 1e-12);
  EXPECT_REL_NEAR(ConcurrentAllReduceTime(dense, Bytes(1e8), experts, Bytes(4e8)).value(),
                  2 * across + tree, 1e-12);
  EXPECT_REL_NEAR(ConcurrentAllReduceTime(local, Bytes(8e9), experts, Bytes(4e8)).value(), 2 * nvlink, 1e-12);
}

TEST(MoeDispatch, RemoteDomainsPerTokenCountsDistinctDomains) {
  EXPECT_EQ(RemoteDomainsPerToken(1, 128, 8), 0);
  // Two domains of two experts, one expert per token: the other domain half the time.
  EXPECT_DOUBLE_EQ(RemoteDomainsPerToken(2, 4, 1), 0.5);
  // Two experts of four: the other domain unless both fall in the sender's, 1 - (2*1)/(4*3).
  EXPECT_DOUBLE_EQ(RemoteDomainsPerToken(2, 4, 2), 1 - 2.0 / 12);
  // More experts per token than a domain holds outside one domain: every domain is reached.
  EXPECT_DOUBLE_EQ(RemoteDomainsPerToken(4, 8, 7), 3);
  // Never more than the remote domains, nor than top_k.
  for (int d : {2, 4, 8, 16}) {
    const double r = RemoteDomainsPerToken(d, 256, 8);
    EXPECT_GT(r, 0);
    EXPECT_LE(r, std::min(d - 1, 8));
  }
}

// Expected remote domains by enumeration: every sending domain, every choice of the token's
// groups, every choice of its experts among theirs, all equally likely.
double EnumeratedRemoteDomains(int domains, int experts, int top_k, int groups, int per_token) {
  const int per_group = experts / groups, per_domain = experts / domains;
  double sum = 0, cases = 0;
  for (int origin = 0; origin < domains; ++origin) {
    for (unsigned gs = 0; gs < (1u << groups); ++gs) {
      if (__builtin_popcount(gs) != per_token) continue;
      std::vector<int> pool;
      for (int e = 0; e < experts; ++e) {
        if (gs >> (e / per_group) & 1) pool.push_back(e);
      }
      const unsigned n = static_cast<unsigned>(pool.size());
      for (unsigned pick = 0; pick < (1u << n); ++pick) {
        if (__builtin_popcount(pick) != top_k) continue;
        unsigned reached = 0;
        for (unsigned i = 0; i < n; ++i) {
          if (pick >> i & 1) reached |= 1u << (pool[i] / per_domain);
        }
        reached &= ~(1u << origin);
        sum += __builtin_popcount(reached);
        cases += 1;
      }
    }
  }
  return sum / cases;
}

TEST(MoeDispatch, GroupLimitedRoutingMatchesEnumeration) {
  // 16 experts in 8 groups of 2; a token picks 2 experts from 3 groups. Domains of 8 (4 groups
  // each), of 4 (2 groups), of 2 (one group) and of 1 (half a group) nest with the groups.
  for (int domains : {2, 4, 8, 16}) {
    EXPECT_NEAR(RemoteDomainsPerToken(domains, 16, 2, 8, 3), EnumeratedRemoteDomains(domains, 16, 2, 8, 3), 1e-12)
        << domains;
  }
  // One group: plain routing.
  EXPECT_NEAR(RemoteDomainsPerToken(4, 16, 3, 1, 1), EnumeratedRemoteDomains(4, 16, 3, 1, 1), 1e-12);
  EXPECT_DOUBLE_EQ(RemoteDomainsPerToken(4, 16, 3, 1, 1), RemoteDomainsPerToken(4, 16, 3));
}

TEST(MoeDispatch, DeepSeekV3NodeLimitedRoutingReachesAtMostFourNodes) {
  // 256 experts over 8 nodes of 32 (one group each), 8 experts from 4 of 8 groups (DeepSeek-V3):
  // a token reaches at most 4 nodes, so at most 4 remote ones, and fewer than unlimited routing.
  const double limited = RemoteDomainsPerToken(8, 256, 8, 8, 4);
  const double unlimited = RemoteDomainsPerToken(8, 256, 8);
  EXPECT_LE(limited, 4);
  EXPECT_LT(limited, unlimited);
  // Half the time the sender's own node is among the 4 groups: 3.5 groups elsewhere, each reached
  // unless none of the 8 experts falls in its 32 of the 128.
  double none = 1;
  for (int i = 0; i < 8; ++i) none *= (96.0 - i) / (128 - i);
  EXPECT_NEAR(limited, 3.5 * (1 - none), 1e-12);
}

TEST(MoeDispatch, InsideOneDomainItIsTheAllToAll) {
  CommGroup g = Group(8, 8);
  EXPECT_DOUBLE_EQ(MoeDispatchTime(g, 4096, 128, 8, 8192).value(),
                   AllToAllTime(g, Bytes(4096.0 * 8 * 8192)).value());
}

TEST(MoeDispatch, AcrossDomainsOneCopyPerRemoteDomain) {
  // 32 ranks in 4 domains of 8, 128 experts, top-8: each token reaches 3 x (1 - C(96,8)/C(128,8))
  // remote domains; the NIC carries that many copies, NVLink 7/8 of the pairs.
  CommGroup g = Group(32, 8);
  const double tokens = 4096, bytes = 8192;
  const double remote = RemoteDomainsPerToken(4, 128, 8);
  double none = 1;
  for (int i = 0; i < 8; ++i) none *= (96.0 - i) / (128 - i);
  EXPECT_NEAR(remote, 3 * (1 - none), 1e-12);
  const double outside = tokens * remote * bytes / kOut.bandwidth.value();
  const double inside = tokens * 8 * bytes * 7 / 8 / kUp.bandwidth.value();
  EXPECT_DOUBLE_EQ(MoeDispatchTime(g, tokens, 128, 8, bytes).value(),
                   kOut.latency.value() + std::max(inside, outside));
  // Fewer bytes on the NICs than a flat all-to-all, which sends 6 of the 8 pairs out.
  EXPECT_LT(MoeDispatchTime(g, tokens, 128, 8, bytes).value(),
            AllToAllTime(g, Bytes(tokens * 8 * bytes)).value());
}

// DeepEP's published internode benchmark (github.com/deepseek-ai/DeepEP, README @3b1045d,
// "Normal kernels with NVLink and RDMA forwarding", now docs/legacy.md): H800 with ~160 GB/s
// NVLink and one CX7 400 Gb/s NIC (~50 GB/s) each; 4096 tokens per GPU of 7168 FP8 values (plus
// one 4-byte scale per 128), 256 experts, top-8, the experts of each node one group and at most
// 4 nodes per token; dispatch "bottleneck bandwidth" 43, 58 and 51 GB/s (RDMA) at 16, 32 and 64
// GPUs, counted as tokens x nodes they reach (their own included) x bytes over the time
// (tests/test_internode.py num_rdma_token_sent). The hierarchical dispatch time reproduces them
// within 8% (45.4, 62.5 and 53.6 GB/s, each a little optimistic) at the NIC's usable bandwidth (0.94 of line rate, the calibrated scale-out
// efficiency from nccl-tests) and DeepEP's NVLink figure, though none was fitted to them: NVLink
// binds at 16 GPUs (one remote node, seven NVLink copies per token), the NIC at 32 and 64.
TEST(MoeDispatch, ReproducesDeepEpInternodeBenchmark) {
  const LinkTier nvlink{BytesPerSecond(160e9), Seconds(3.4e-6)};
  const LinkTier nic{BytesPerSecond(0.94 * 50e9), Seconds(5e-6)};
  const double tokens = 4096, bytes = 7168 * (1 + 4.0 / 128), experts = 256;
  auto none_among = [&](double pool, double held) {  // C(pool - held, 8) / C(pool, 8)
    double p = 1;
    for (int i = 0; i < 8; ++i) p *= (pool - held - i) / (pool - i);
    return p;
  };
  struct Case {
    int gpus;
    double measured_gb_s;
  };
  for (Case c : {Case{16, 43}, Case{32, 58}, Case{64, 51}}) {
    const int nodes = c.gpus / 8, groups_per_token = std::min(nodes, 4);
    const double held = experts / nodes;
    // The token's own node: among its groups with probability groups_per_token / nodes, then
    // reached unless none of its 8 experts lands there.
    const double pool = held * groups_per_token;
    const double own = 1.0 * groups_per_token / nodes * (1 - none_among(pool, held));
    const double reached = own + RemoteDomainsPerToken(nodes, 256, 8, nodes, groups_per_token);
    const double t = MoeDispatchTime(Group(c.gpus, 8, nvlink, nic), tokens, 256, 8, bytes, nodes, groups_per_token)
                         .value();
    const double logical = tokens * reached * bytes / t / 1e9;
    EXPECT_NEAR(logical / c.measured_gb_s, 1.0, 0.08) << c.gpus << " GPUs: " << logical << " GB/s";
  }
}

TEST(Collective, OneRankPerDomainRunsAtTheScaleOutTier) {
  // Every rank in its own domain: a ring over the NICs, 15 * 5 us + 1e9 * 15/16 / 50e9.
  CommGroup g = Group(16, 1);
  EXPECT_REL_NEAR(ReduceScatterTime(g, Bytes(1e9)).value(), 75e-6 + 18.75e-3, 1e-12);
}

TEST(Collective, SpanningDomainsNeverBeatsOneDomainForBandwidthBoundMessages) {
  for (int n : {16, 64, 256}) {
    for (double bytes : {1e9, 1e10}) {
      CommGroup spanning = Group(n, 8);
      CommGroup inside = Group(n, n);
      Bytes b(bytes);
      EXPECT_GE(ReduceScatterTime(spanning, b).value(), ReduceScatterTime(inside, b).value())
          << n << " " << bytes;
      EXPECT_GE(AllGatherTime(spanning, b).value(), AllGatherTime(inside, b).value()) << n;
      EXPECT_GE(AllReduceTime(spanning, b).value(), AllReduceTime(inside, b).value()) << n;
      EXPECT_GE(AllToAllTime(spanning, b).value(), AllToAllTime(inside, b).value()) << n;
    }
  }
}

// With H100-like tiers (NVLink 3.4 us per step, NIC 14 us), at every message size.
TEST(Collective, SpanningDomainsNeverBeatsOneDomainAtAnySize) {
  const LinkTier up{BytesPerSecond(450e9 * 0.815), Seconds(3.4e-6)};
  const LinkTier out{BytesPerSecond(50e9 * 0.94), Seconds(14e-6)};
  for (int n : {16, 64, 72}) {
    for (double bytes = 1e3; bytes <= 1e10; bytes *= 10) {
      CommGroup spanning = Group(n, 8, up, out);
      CommGroup inside = Group(n, n, up, out);
      Bytes b(bytes);
      EXPECT_GE(ReduceScatterTime(spanning, b).value(), ReduceScatterTime(inside, b).value())
          << n << " ranks, " << bytes << " bytes";
      EXPECT_GE(AllGatherTime(spanning, b).value(), AllGatherTime(inside, b).value())
          << n << " ranks, " << bytes << " bytes";
      EXPECT_GE(AllReduceTime(spanning, b).value(), AllReduceTime(inside, b).value())
          << n << " ranks, " << bytes << " bytes";
    }
  }
}

TEST(Collective, AllToAllSplitsTrafficInsideAndAcrossDomains) {
  // 16 ranks in two domains of 8, each sending 1.6 GB in total (1/16 to every rank):
  //   inside: 7/16 of it over NVLink = 1.6e9 * 7/16 / 400e9 = 1.75 ms
  //   across: 8/16 of it over the NIC = 1.6e9 * 8/16 / 50e9 = 16 ms
  // Both run at once: scale-out latency + max(inside, across).
  EXPECT_REL_NEAR(AllToAllTime(Group(16, 8), Bytes(1.6e9)).value(), 5e-6 + 16e-3, 1e-12);

  // With a very fast NIC the NVLink share is the bottleneck.
  const LinkTier fast_out{BytesPerSecond(1e15), Seconds(5e-6)};
  EXPECT_REL_NEAR(AllToAllTime(Group(16, 8, kUp, fast_out), Bytes(1.6e9)).value(), 5e-6 + 1.75e-3,
                  1e-12);

  // One domain: 7/8 over NVLink at the scale-up latency.
  EXPECT_REL_NEAR(AllToAllTime(Group(8, 8), Bytes(1.6e9)).value(), 2e-6 + 1.6e9 * 7 / 8 / 400e9,
                  1e-12);

  // One rank per domain: everything but the rank's own share crosses the NIC.
  EXPECT_REL_NEAR(AllToAllTime(Group(8, 1), Bytes(1.6e9)).value(), 5e-6 + 1.6e9 * 7 / 8 / 50e9,
                  1e-12);
}

constexpr LinkTier kWan{BytesPerSecond(5e9), Seconds(5e-3)};  // a GPU's share of a site's WAN

CommGroup SiteGroup(int size, int ranks_per_domain, int ranks_per_site) {
  CommGroup g = Group(size, ranks_per_domain);
  g.ranks_per_site = ranks_per_site;
  g.cross_site = kWan;
  return g;
}

TEST(Collective, ThreeLevelsAcrossSites) {
  // 32 ranks: domains of 8, sites of 16 (two sites), 1 GB.
  //   inside the domain: 3 * 2 us + 1e9 * 7/8 / 400e9
  //   across the site's 2 domains on 1/8: 1 * 5 us + 1.25e8 * 1/2 / 50e9
  //   across the 2 sites on 1/16: 1 * 5 ms + 6.25e7 * 1/2 / 5e9
  const double three = 6e-6 + 1e9 * 7 / 8 / 400e9 + 5e-6 + 1.25e8 / 2 / 50e9 + 5e-3 + 6.25e7 / 2 / 5e9;
  CommGroup g = SiteGroup(32, 8, 16);
  ASSERT_TRUE(g.spans_sites());
  EXPECT_REL_NEAR(ReduceScatterTime(g, Bytes(1e9)).value(), three, 1e-12);
  EXPECT_REL_NEAR(AllReduceTime(g, Bytes(1e9)).value(), 2 * three, 1e-12);
  // Crossing sites never beats staying in one site.
  for (double bytes = 1e3; bytes <= 1e10; bytes *= 10) {
    EXPECT_GE(AllReduceTime(g, Bytes(bytes)).value(), AllReduceTime(Group(32, 8), Bytes(bytes)).value()) << bytes;
    EXPECT_GE(AllToAllTime(g, Bytes(bytes)).value(), AllToAllTime(Group(32, 8), Bytes(bytes)).value()) << bytes;
  }
  // A group inside one site ignores the WAN.
  CommGroup local = SiteGroup(16, 8, 16);
  EXPECT_FALSE(local.spans_sites());
  EXPECT_DOUBLE_EQ(AllReduceTime(local, Bytes(1e9)).value(), AllReduceTime(Group(16, 8), Bytes(1e9)).value());
}

TEST(Collective, AllToAllAcrossSitesSendsTheOtherSitesShareOverTheWan) {
  // 32 ranks, two sites of 16, domains of 8; each rank sends 3.2 GB (1/32 to every rank):
  //   inside the domain 7/32 over NVLink, to the site's other domain 8/32 over the NIC,
  //   to the other site 16/32 over the WAN: 3.2e9 / 2 / 5e9 = 320 ms, the bottleneck.
  EXPECT_REL_NEAR(AllToAllTime(SiteGroup(32, 8, 16), Bytes(3.2e9)).value(), 5e-3 + 0.32, 1e-12);
}

TEST(Collective, SendRecvIsLatencyPlusBytesOverBandwidth) {
  EXPECT_REL_NEAR(SendRecvTime(kOut, Bytes(1e8)).value(), 5e-6 + 1e8 / 50e9, 1e-12);
}

TEST(Collective, RanksPerDomain) {
  EXPECT_EQ(RanksPerDomain(1, 1, 8), 1);   // a group of one
  EXPECT_EQ(RanksPerDomain(8, 1, 8), 8);   // TP 8 in an 8-GPU node
  EXPECT_EQ(RanksPerDomain(4, 1, 8), 4);   // smaller than the domain
  EXPECT_EQ(RanksPerDomain(64, 1, 8), 8);  // larger than the domain
  EXPECT_EQ(RanksPerDomain(16, 2, 8), 4);  // DP with TP 2: every other GPU of a node
  EXPECT_EQ(RanksPerDomain(2, 2, 8), 2);
  EXPECT_EQ(RanksPerDomain(64, 8, 8), 1);    // DP with TP 8: one rank per node
  EXPECT_EQ(RanksPerDomain(64, 16, 8), 1);   // stride beyond the domain
  EXPECT_EQ(RanksPerDomain(64, 4, 72), 18);  // NVL72 rack, TP 4
  EXPECT_EQ(RanksPerDomain(72, 1, 72), 72);
  EXPECT_EQ(RanksPerDomain(8, 0, 8), 8);  // stride below 1 is taken as 1
}

// ---------------------------------------------------------------- kernels

// A hand-built accelerator: 1 PFLOP/s BF16, 2 PFLOP/s FP8, 4 TB/s HBM.
class GemmTimeTest : public ::testing::Test {
 protected:
  GemmTimeTest() {
    accelerator_.id = "test-gpu";
    accelerator_.peak_bf16 = FlopsPerSecond(1e15);
    accelerator_.peak_fp8 = FlopsPerSecond(2e15);
    accelerator_.hbm_capacity = Bytes(80e9);
    accelerator_.hbm_bandwidth = BytesPerSecond(4e12);
    efficiency_.accelerator = "test-gpu";
    efficiency_.gemm_16bit = 0.8;
    efficiency_.gemm_8bit = 0.7;
    efficiency_.attention = 0.5;
    efficiency_.memory = 0.9;
    device_.accelerator = &accelerator_;
    device_.efficiency = &efficiency_;
  }

  double Gemm(double m, double n, double k, Precision p = Precision::kBf16, double count = 1) {
    return GemmTime(device_, m, n, k, p, count).value();
  }
  // 2mnk at the calibrated BF16 GEMM rate, no tile loss.
  static double Ideal(double m, double n, double k) { return 2 * m * n * k / (1e15 * 0.8); }
  // Operands and output through HBM at the calibrated rate (BF16 in and out).
  static double Streaming(double m, double n, double k) {
    return ((m * k + k * n) * 2 + m * n * 2) / (4e12 * 0.9);
  }

  catalog::Accelerator accelerator_;
  catalog::KernelEfficiency efficiency_;
  Device device_;
};

TEST_F(GemmTimeTest, LargeSquareIsComputeBound) {
  const double d = 8192;
  ASSERT_GT(Ideal(d, d, d), Streaming(d, d, d));
  EXPECT_REL_NEAR(Gemm(d, d, d), Ideal(d, d, d), 1e-12);
  // FP8 runs at the FP8 peak and the 8-bit efficiency.
  EXPECT_REL_NEAR(Gemm(d, d, d, Precision::kFp8), 2 * d * d * d / (2e15 * 0.7), 1e-12);
}

TEST_F(GemmTimeTest, SkinnyIsMemoryBound) {
  const double m = 8, n = 8192, k = 8192;
  EXPECT_REL_NEAR(Gemm(m, n, k), Streaming(m, n, k), 1e-12);
  EXPECT_GT(Gemm(m, n, k), 10 * Ideal(m, n, k));
}

TEST_F(GemmTimeTest, MonotoneInM) {
  double previous = 0;
  for (double m = 1; m <= 2048; ++m) {
    double t = Gemm(m, 4096, 4096);
    ASSERT_GE(t, previous * (1 - 1e-12)) << "m = " << m;  // rounding of the tile fill aside
    previous = t;
  }
}

TEST_F(GemmTimeTest, TileQuantizationRoundsUpToTheTile) {
  const double n = 16384, k = 16384;
  // Both compute-bound: m = 129 occupies two 128-row tiles, as m = 256 does.
  EXPECT_GE(Gemm(129, n, k), 0.99 * Gemm(256, n, k));
  EXPECT_LE(Gemm(129, n, k), Gemm(256, n, k) * (1 + 1e-12));
  EXPECT_GT(Gemm(129, n, k), 1.9 * Ideal(129, n, k));
  // The same holds along n.
  EXPECT_GE(Gemm(n, 129, k), 0.99 * Gemm(n, 256, k));
}

TEST_F(GemmTimeTest, CountMultipliesAndEmptyShapesAreFree) {
  EXPECT_REL_NEAR(Gemm(4096, 4096, 4096, Precision::kBf16, 4), 4 * Gemm(4096, 4096, 4096), 1e-12);
  EXPECT_EQ(Gemm(0, 4096, 4096), 0);
  EXPECT_EQ(Gemm(4096, 4096, 0), 0);
  EXPECT_EQ(Gemm(4096, 4096, 4096, Precision::kBf16, 0), 0);
}

TEST_F(GemmTimeTest, MissingFormatRunsAtTheSixteenBitRate) {
  accelerator_.peak_fp8 = FlopsPerSecond(0);  // e.g. an A100
  const double d = 8192;
  EXPECT_REL_NEAR(Gemm(d, d, d, Precision::kFp8), Ideal(d, d, d), 1e-12);
  EXPECT_REL_NEAR(Gemm(d, d, d, Precision::kMxfp8), Ideal(d, d, d), 1e-12);  // as BF16, no block-scaling cost
}

TEST_F(GemmTimeTest, BlockScaledMxfp8TakesTheMeasuredShareLongerThanPerTensorFp8) {
  // Same 8-bit peak and efficiency; Transformer Engine's GEMM benchmark on B300 measures the same
  // GEMMs at 7.161 ms in MXFP8 and 6.812 ms in per-tensor FP8 (catalog::GemmTimeRelative).
  const double d = 8192;
  EXPECT_REL_NEAR(Gemm(d, d, d, Precision::kMxfp8), Gemm(d, d, d, Precision::kFp8) * 7.161 / 6.812, 1e-12);
  // A memory-bound GEMM is not slowed: the factor is on the math; it streams its MXFP8 operands
  // (with their scales) and a BF16 output.
  const double m = 8;
  const double bytes = (m * d + d * d) * (1 + 1.0 / 32) + m * d * 2;
  EXPECT_REL_NEAR(Gemm(m, d, d, Precision::kMxfp8), bytes / (4e12 * 0.9), 1e-12);
}

TEST_F(GemmTimeTest, MemoryAndAttentionKernels) {
  EXPECT_REL_NEAR(MemoryTime(device_, Bytes(3.6e9)).value(), 1e-3, 1e-12);
  EXPECT_REL_NEAR(AttentionTime(device_, Flops(5e12)).value(), 1e-2, 1e-12);
  EXPECT_DOUBLE_EQ(GemmFlops(2, 3, 4).value(), 48);
}

// A measured table over m, n, k in {128, 512} x {512, 2048} x {512, 2048}: efficiency 0.2 at the
// smallest shape, 0.8 (the best) at the largest, 0.5 elsewhere; causal attention 0.3 at 2K, 0.6 at
// 8K, unmasked 0.4 at 1K keys.
std::shared_ptr<const catalog::KernelShapes> TestShapes() {
  catalog::KernelShapes k;
  k.id = "test";
  k.m = {128, 512};
  k.n = {512, 2048};
  k.k = {512, 2048};
  k.gemm_16bit.assign(8, 0.5);
  k.gemm_16bit.front() = 0.2;
  k.gemm_16bit.back() = 0.8;
  k.causal_seq = {2048, 8192};
  k.causal = {0.3, 0.6};
  k.full_seq = {1024};
  k.full = {0.4};
  k.peak_16bit = FlopsPerSecond(1e15);  // the measured machine: the test GPU
  k.bandwidth = BytesPerSecond(4e12);
  catalog::Catalog cat;
  EXPECT_TRUE(cat.Add(std::move(k)).ok());
  return cat.kernel_shapes().at("test");
}

TEST(KernelShapes, InterpolatesInLogOfEachDimensionRelativeToTheBestShape) {
  const auto t = TestShapes();
  using catalog::MathClass;
  EXPECT_DOUBLE_EQ(t->GemmRelative(MathClass::k16Bit, 512, 2048, 2048), 1.0);
  EXPECT_DOUBLE_EQ(t->GemmRelative(MathClass::k16Bit, 128, 512, 512), 0.25);
  EXPECT_DOUBLE_EQ(t->GemmRelative(MathClass::k16Bit, 128, 2048, 512), 0.625);
  // Halfway in log2 along m (256 between 128 and 512), at the smallest n and k.
  EXPECT_DOUBLE_EQ(t->GemmRelative(MathClass::k16Bit, 256, 512, 512), (0.25 + 0.625) / 2);
  // Beyond the grid: the edge; below it: the edge's time, so efficiency falls with the dimension.
  EXPECT_DOUBLE_EQ(t->GemmRelative(MathClass::k16Bit, 8192, 65536, 4096), 1.0);
  EXPECT_DOUBLE_EQ(t->GemmRelative(MathClass::k16Bit, 64, 512, 512), 0.125);
  EXPECT_DOUBLE_EQ(t->GemmRelative(MathClass::k16Bit, 128, 128, 256), 0.25 / 8);
  // A format with no measurement.
  EXPECT_EQ(t->GemmRelative(MathClass::k8Bit, 512, 2048, 2048), 0);
  EXPECT_DOUBLE_EQ(t->AttentionRelative(8192, true), 1.0);
  EXPECT_DOUBLE_EQ(t->AttentionRelative(4096, true), 0.75);
  EXPECT_DOUBLE_EQ(t->AttentionRelative(65536, true), 1.0);
  EXPECT_DOUBLE_EQ(t->AttentionRelative(1024, true), 0.25);
  EXPECT_DOUBLE_EQ(t->AttentionRelative(4096, false), 0.4 / 0.6);
  EXPECT_DOUBLE_EQ(t->AttentionRelative(512, false), 0.4 / 0.6 / 2);
}

TEST_F(GemmTimeTest, MeasuredShapesSetTheEfficiencyOfEachShape) {
  efficiency_.kernel_shapes = TestShapes();
  // The best shape and beyond run at the calibrated efficiency; a compute-bound shape at its
  // measured share of the best: 0.625 here.
  EXPECT_REL_NEAR(Gemm(512, 2048, 2048), Ideal(512, 2048, 2048), 1e-12);
  EXPECT_REL_NEAR(Gemm(4096, 8192, 8192), Ideal(4096, 8192, 8192), 1e-12);
  ASSERT_GT(Ideal(512, 512, 2048), Streaming(512, 512, 2048));
  EXPECT_REL_NEAR(Gemm(512, 512, 2048), Ideal(512, 512, 2048) / 0.625, 1e-12);
  // A shape measured slower than its roofline pays the ratio: at (128, 512, 512) the measured 0.2
  // of peak is 0.34 us, its bytes stream in 0.20 us at the measured machine's 4 TB/s, and the best
  // shape would compute it in 0.08 us.
  const double bytes = (128.0 * 512 + 512 * 512) * 2 + 128.0 * 512 * 2;
  const double penalty = (2.0 * 128 * 512 * 512 / (1e15 * 0.2)) / (bytes / 4e12);
  EXPECT_REL_NEAR(ShapePenalty(efficiency_, Precision::kBf16, 128, 512, 512), penalty, 1e-12);
  EXPECT_REL_NEAR(Gemm(128, 512, 512), std::max(Ideal(128, 512, 512), Streaming(128, 512, 512)) * penalty, 1e-12);
  // One measured at or below its streaming time pays nothing: (128, 2048, 512) at 0.5 of peak
  // takes 0.54 us, its bytes 0.69 us.
  EXPECT_EQ(ShapePenalty(efficiency_, Precision::kBf16, 128, 2048, 512), 1.0);
  EXPECT_REL_NEAR(Gemm(128, 2048, 512), Streaming(128, 2048, 512), 1e-12);
  // Smaller than the grid: the measured time of the smallest measured shape, against a roofline
  // that shrinks with the dimension.
  EXPECT_GT(ShapePenalty(efficiency_, Precision::kBf16, 32, 512, 512), penalty);
  // Between whole tiles the edge tile's unfilled part is lost beside what the grid measured.
  EXPECT_GE(Gemm(4096, 2049, 8192), 0.99 * Gemm(4096, 2176, 8192));
  double previous = 0;
  for (double m = 1; m <= 4096; m += 7) {
    const double t = Gemm(m, 4096, 4096);
    ASSERT_GE(t, previous * (1 - 1e-9)) << "m = " << m;
    previous = t;
  }
  // Without the measured machine's roofline the table cannot be read: no penalty.
  catalog::KernelShapes bare = *efficiency_.kernel_shapes;
  bare.bandwidth = BytesPerSecond(0);
  efficiency_.kernel_shapes = std::make_shared<const catalog::KernelShapes>(bare);
  EXPECT_EQ(ShapePenalty(efficiency_, Precision::kBf16, 512, 512, 2048), 1.0);
  efficiency_.kernel_shapes = TestShapes();
  // FP8 has no measurement in this table: its GEMMs keep the tile model.
  EXPECT_REL_NEAR(Gemm(8192, 8192, 8192, Precision::kFp8), 2.0 * 8192 * 8192 * 8192 / (2e15 * 0.7), 1e-12);
  // Attention: the length's share of the best measured length.
  EXPECT_REL_NEAR(AttentionTime(device_, Flops(5e12), 8192).value(), 1e-2, 1e-12);
  EXPECT_REL_NEAR(AttentionTime(device_, Flops(5e12), 4096).value(), 1e-2 / 0.75, 1e-12);
  EXPECT_REL_NEAR(AttentionTime(device_, Flops(5e12), 1024, false).value(), 1e-2 * 0.6 / 0.4, 1e-12);
  EXPECT_REL_NEAR(AttentionTime(device_, Flops(5e12)).value(), 1e-2, 1e-12);  // no length given
}

}  // namespace
}  // namespace aif::perf
