#include "aifactory/perf/collective.h"

#include <algorithm>
#include <cmath>

namespace aif::perf {
namespace {

// Ring reduce-scatter or all-gather over n ranks at bus bandwidth bw: (n-1) steps, each moving
// bytes/n.
double RingPhase(int n, double bytes, const LinkTier& link) {
  if (n <= 1 || bytes <= 0) return 0;
  return (n - 1) * link.latency.value() + bytes * (n - 1) / n / link.bandwidth.value();
}

// The tier that limits a flat ring over a group that spans domains (and sites).
LinkTier Bottleneck(const CommGroup& g) {
  if (!g.spans_domains()) return g.scale_up;
  LinkTier t;
  t.bandwidth = std::min(g.scale_up.bandwidth, g.scale_out.bandwidth);
  t.latency = std::max(g.scale_up.latency, g.scale_out.latency);
  if (g.spans_sites()) {
    t.bandwidth = std::min(t.bandwidth, g.cross_site.bandwidth);
    t.latency = std::max(t.latency, g.cross_site.latency);
  }
  return t;
}

// Inside one NVLink domain every GPU reaches every other through the switch, so the exchange
// can halve recursively: ceil(log2 n) steps, with the ring's bytes.
double SwitchPhase(int n, double bytes, const LinkTier& link) {
  if (n <= 1 || bytes <= 0) return 0;
  return std::ceil(std::log2(n)) * link.latency.value() + bytes * (n - 1) / n / link.bandwidth.value();
}

// Reduce-scatter (or all-gather, by symmetry). Inside a domain: the switch phase. Across domains:
// the cheapest of a flat ring at the slowest tier, rail rings and two levels (inside each domain,
// then a ring across domains on 1/r of the data); across sites, a flat ring or three levels.
// Besides the time, the time each tier is busy: the phases of the levels, both tiers for rail
// rings (NVLink and NICs carry the ring at once), the slowest tier for a flat ring.
struct Scheme {
  ScatterGatherScheme kind = ScatterGatherScheme::kNone;
  double seconds = 0;
  double up = 0, out = 0, site = 0;  // busy time of the scale-up, scale-out and cross-site tiers
};

// The tier a flat ring is limited by: the one of least bandwidth among those the group crosses
// (the tier Bottleneck prices).
Scheme OnBottleneck(const CommGroup& g, ScatterGatherScheme kind, double seconds) {
  Scheme s{kind, seconds};
  if (!g.spans_domains()) {
    s.up = seconds;
    return s;
  }
  double bw = g.scale_out.bandwidth.value();
  double* tier = &s.out;
  if (g.scale_up.bandwidth.value() < bw) {
    bw = g.scale_up.bandwidth.value();
    tier = &s.up;
  }
  if (g.spans_sites() && g.cross_site.bandwidth.value() < bw) tier = &s.site;
  *tier = seconds;
  return s;
}

Scheme ScatterOrGatherScheme(const CommGroup& g, double bytes) {
  if (g.size <= 1 || bytes <= 0) return {};
  if (!g.spans_domains()) {
    const double t = SwitchPhase(g.size, bytes, g.scale_up);
    return {ScatterGatherScheme::kSwitch, t, t};
  }
  Scheme best = OnBottleneck(g, ScatterGatherScheme::kFlatRing, RingPhase(g.size, bytes, Bottleneck(g)));
  auto consider = [&best](const Scheme& s) {
    if (s.seconds < best.seconds) best = s;
  };
  int r = std::max(1, g.ranks_per_domain);
  if (!g.spans_sites()) {
    int domains = (g.size + r - 1) / r;
    // Rail rings, as NCCL builds them across a few nodes: r rings (channels), each entering and
    // leaving every domain through a different GPU's NIC, so a domain's r NICs and its NVLinks
    // carry the ring at once: the ring runs at min(NVLink, r x NIC) per rank (NVIDIA/nccl-tests
    // issue #290: 2 x 8 H100 all-reduce at 46-48 GB/s per NIC, busbw = 8 NICs' worth).
    LinkTier rails;
    rails.bandwidth = BytesPerSecond(std::min(g.scale_up.bandwidth.value(), r * g.scale_out.bandwidth.value()));
    rails.latency = std::max(g.scale_up.latency, g.scale_out.latency);
    const double rail = RingPhase(g.size, bytes, rails);
    consider({ScatterGatherScheme::kRailRings, rail, rail, rail});
    const double inside = SwitchPhase(r, bytes, g.scale_up);
    const double across = RingPhase(domains, bytes / r, g.scale_out);
    consider({ScatterGatherScheme::kTwoLevel, inside + across, inside, across});
    return best;
  }
  // Three levels: inside the domain, across the site's domains, then across sites on what each
  // site's ranks already reduced (1/ranks_per_site of the buffer each).
  int per_site = std::max(r, g.ranks_per_site);
  int domains_per_site = std::max(1, per_site / r);
  int sites = (g.size + per_site - 1) / per_site;
  const double inside = SwitchPhase(r, bytes, g.scale_up);
  const double in_site = RingPhase(domains_per_site, bytes / r, g.scale_out);
  const double wan = RingPhase(sites, bytes / per_site, g.cross_site);
  consider({ScatterGatherScheme::kThreeLevel, inside + in_site + wan, inside, in_site, wan});
  return best;
}

// Two collectives at once: neither ends before it would alone, and each tier carries the busy
// time of both.
double AtOnce(const Scheme& a, const Scheme& b) {
  return std::max({a.seconds, b.seconds, a.up + b.up, a.out + b.out, a.site + b.site});
}

// All-reduce: a ring (reduce-scatter then all-gather) or, for small messages, a tree of
// 2 log2(n) steps on the slowest tier.
Scheme AllReduceScheme(const CommGroup& g, double bytes) {
  if (g.size <= 1) return {};
  Scheme ring = ScatterOrGatherScheme(g, bytes);
  ring.seconds *= 2;
  ring.up *= 2;
  ring.out *= 2;
  ring.site *= 2;
  LinkTier b = Bottleneck(g);
  double tree = 2 * std::ceil(std::log2(g.size)) * b.latency.value() + 2 * bytes / b.bandwidth.value();
  if (tree < ring.seconds) return OnBottleneck(g, ring.kind, tree);
  return ring;
}

double ScatterOrGather(const CommGroup& g, double bytes) { return ScatterOrGatherScheme(g, bytes).seconds; }

}  // namespace

int RanksPerDomain(int size, int stride, int domain) {
  if (size <= 1) return 1;
  stride = std::max(stride, 1);
  if (stride >= domain) return 1;
  return std::min(size, std::max(1, domain / stride));
}

Seconds ReduceScatterTime(const CommGroup& g, Bytes bytes) { return Seconds(ScatterOrGather(g, bytes.value())); }
Seconds AllGatherTime(const CommGroup& g, Bytes bytes) { return Seconds(ScatterOrGather(g, bytes.value())); }

ScatterGatherScheme ChooseScatterGather(const CommGroup& g, Bytes bytes) {
  return ScatterOrGatherScheme(g, bytes.value()).kind;
}

Seconds AllReduceTime(const CommGroup& g, Bytes bytes) {
  return Seconds(AllReduceScheme(g, bytes.value()).seconds);
}

Seconds ConcurrentScatterGatherTime(const CommGroup& a, Bytes a_bytes, const CommGroup& b, Bytes b_bytes) {
  return Seconds(AtOnce(ScatterOrGatherScheme(a, a_bytes.value()), ScatterOrGatherScheme(b, b_bytes.value())));
}

Seconds ConcurrentAllReduceTime(const CommGroup& a, Bytes a_bytes, const CommGroup& b, Bytes b_bytes) {
  return Seconds(AtOnce(AllReduceScheme(a, a_bytes.value()), AllReduceScheme(b, b_bytes.value())));
}

Seconds AllToAllTime(const CommGroup& g, Bytes bytes) {
  int n = g.size;
  if (n <= 1 || bytes.value() <= 0) return Seconds(0);
  int r = std::min(n, std::max(1, g.ranks_per_domain));
  // Of what a rank sends, (r-1)/n stays in its domain and (n-r)/n leaves it (of which (n-s)/n
  // leaves its site, s ranks per site); the tiers run at once.
  int s = g.spans_sites() ? std::max(r, g.ranks_per_site) : n;
  double inside = bytes.value() * (r - 1) / n / g.scale_up.bandwidth.value();
  double outside = g.spans_domains() ? bytes.value() * (s - r) / n / g.scale_out.bandwidth.value() : 0;
  double wan = g.spans_sites() ? bytes.value() * (n - s) / n / g.cross_site.bandwidth.value() : 0;
  double latency = g.spans_sites()     ? g.cross_site.latency.value()
                   : g.spans_domains() ? g.scale_out.latency.value()
                                       : g.scale_up.latency.value();
  return Seconds(latency + std::max({inside, outside, wan}));
}

namespace {

// C(n - m, k) / C(n, k): none of k distinct picks out of n lands among m given ones.
double NoneAmong(double n, double m, int k) {
  double none = 1;
  for (int i = 0; i < k; ++i) none *= std::max(0.0, n - m - i) / (n - i);
  return none;
}

// C(n, k) in floating point (n up to a few thousand groups).
double Choose(int n, int k) {
  if (k < 0 || k > n) return 0;
  return std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0));
}

}  // namespace

double RemoteDomainsPerToken(int domains, int experts, int top_k, int groups, int groups_per_token) {
  if (domains <= 1 || experts <= 0 || top_k <= 0) return 0;
  const double per_domain = 1.0 * experts / domains;
  // Probability that one given remote domain holds none of the token's experts.
  double miss = NoneAmong(experts, per_domain, top_k);
  const bool grouped = groups > 1 && groups_per_token < groups && experts % groups == 0;
  if (grouped && experts % domains == 0) {
    const int per_group = experts / groups, held = experts / domains;
    const double pool = 1.0 * groups_per_token * per_group;  // the experts the token picks among
    if (held % per_group == 0) {
      // The domain holds h whole groups; j of them are among the token's (hypergeometric).
      const int h = held / per_group;
      miss = 0;
      for (int j = 0; j <= std::min(h, groups_per_token); ++j) {
        const double p = Choose(h, j) * Choose(groups - h, groups_per_token - j) / Choose(groups, groups_per_token);
        miss += p * NoneAmong(pool, 1.0 * j * per_group, top_k);
      }
    } else if (per_group % held == 0) {
      // The domain lies inside one group: missed when that group is not picked, or picked and no
      // expert of the domain drawn.
      const double picked = 1.0 * groups_per_token / groups;
      miss = (1 - picked) + picked * NoneAmong(pool, held, top_k);
    }
  }
  return (domains - 1) * (1 - miss);
}

Seconds MoeDispatchTime(const CommGroup& g, double tokens, int experts, int top_k, double token_bytes, int groups,
                        int groups_per_token) {
  const double pairs = tokens * top_k;
  if (!g.spans_domains() || g.spans_sites()) return AllToAllTime(g, Bytes(pairs * token_bytes));
  const int r = std::min(g.size, std::max(1, g.ranks_per_domain));
  const int domains = (g.size + r - 1) / r;
  // Scale-out: one copy per remote domain reached. NVLink: every pair that lands on another GPU
  // of the domain it arrives in (forwarded from the rail GPU), (r - 1) / r of them.
  const double outside = tokens * RemoteDomainsPerToken(domains, experts, top_k, groups, groups_per_token) *
                         token_bytes / g.scale_out.bandwidth.value();
  const double inside = pairs * token_bytes * (r - 1) / r / g.scale_up.bandwidth.value();
  return Seconds(g.scale_out.latency.value() + std::max(inside, outside));
}

Seconds SendRecvTime(const LinkTier& link, Bytes bytes) {
  return Seconds(link.latency.value() + bytes.value() / link.bandwidth.value());
}

}  // namespace aif::perf
