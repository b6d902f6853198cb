// Collective cost, alpha-beta: latency per algorithm step plus bytes over the bus bandwidth of
// the slowest tier the group crosses. Groups that span several NVLink domains choose, as NCCL
// does by size, the cheapest of a flat ring, rail rings (one ring per NIC, NVLink and NICs busy
// at once) and a two-level (hierarchical) algorithm; groups that
// span sites add a third level across the WAN, on the data already reduced inside each site.
#pragma once

#include "aifactory/core/units.h"

namespace aif::perf {

// One tier of the network as a GPU sees it.
struct LinkTier {
  BytesPerSecond bandwidth;  // per GPU, per direction, achievable bus bandwidth
  Seconds latency;           // per algorithm step
};

// A communicator: `size` ranks of which `ranks_per_domain` share one NVLink domain and
// `ranks_per_site` one site (0: the whole group is in one site).
struct CommGroup {
  int size = 1;
  int ranks_per_domain = 1;
  int ranks_per_site = 0;
  LinkTier scale_up;
  LinkTier scale_out;
  LinkTier cross_site;  // each GPU's share of its site's WAN

  bool spans_domains() const { return size > ranks_per_domain; }
  bool spans_sites() const { return ranks_per_site > 0 && size > ranks_per_site; }
};

// Placement of a group of `size` ranks whose members are `stride` ranks apart in a job laid out
// domain by domain, with `domain` GPUs per NVLink domain.
int RanksPerDomain(int size, int stride, int domain);

// `bytes` is the full buffer of each rank (all-reduce), the full output (all-gather) or the full
// input (reduce-scatter); for all-to-all, the bytes each rank sends in total (its own share
// included); for send/recv, the message.
Seconds AllReduceTime(const CommGroup& g, Bytes bytes);
Seconds ReduceScatterTime(const CommGroup& g, Bytes bytes);
Seconds AllGatherTime(const CommGroup& g, Bytes bytes);
Seconds AllToAllTime(const CommGroup& g, Bytes bytes);
Seconds SendRecvTime(const LinkTier& link, Bytes bytes);

// Two reduce-scatters (or all-gathers, or all-reduces) on separate communicators at once, as a
// MoE job's dense and expert gradients are: Megatron-Core's DDP keeps the expert parameters in
// their own bucket groups on the expert data-parallel group and starts each bucket group's
// collective asynchronously on its own process group (megatron/core/distributed/
// distributed_data_parallel.py), so the two run side by side. Neither ends before it would
// alone, and each tier (NVLink, scale-out, WAN) carries the busy time of both: the max of the
// two times and of each tier's sum. Equal to the slower one when they use different tiers, and
// to their sum when both are limited by the same one.
Seconds ConcurrentScatterGatherTime(const CommGroup& a, Bytes a_bytes, const CommGroup& b, Bytes b_bytes);
Seconds ConcurrentAllReduceTime(const CommGroup& a, Bytes a_bytes, const CommGroup& b, Bytes b_bytes);

// The algorithm ReduceScatterTime and AllGatherTime price (the cheapest), for simulators that
// run the same one step by step.
enum class ScatterGatherScheme {
  kNone,        // one rank or no bytes
  kSwitch,      // inside one NVLink domain
  kFlatRing,    // one ring at the slowest tier
  kRailRings,   // one ring per GPU of a domain, each over its own NIC
  kTwoLevel,    // inside each domain, then a ring across domains on 1/r of the data
  kThreeLevel,  // two levels inside each site, then a ring across sites
};
ScatterGatherScheme ChooseScatterGather(const CommGroup& g, Bytes bytes);

// MoE token dispatch (or combine) over an expert-parallel group with `experts` experts spread
// evenly over its ranks, each token routed to `top_k` of them (balanced, uniform routing), with
// `token_bytes` per token copy and `tokens` tokens per rank. Inside one NVLink domain it is an
// all-to-all of every token-expert pair. Across domains it is hierarchical, as DeepEP does it
// (DeepSeek-V3 tech report, arXiv 2412.19437, Sec. 3.2.2; github.com/deepseek-ai/DeepEP,
// "internode" kernels): a token crosses the scale-out network once per remote domain that holds
// any of its experts, to the GPU of the same rail there, which forwards it over NVLink to the
// experts of that domain. With group-limited routing (`groups`, `groups_per_token`) a token's
// experts lie in fewer domains.
Seconds MoeDispatchTime(const CommGroup& g, double tokens, int experts, int top_k, double token_bytes, int groups = 1,
                        int groups_per_token = 1);
// Expected number of domains, other than the sender's, that hold at least one of a token's
// experts: (D - 1) * (1 - C(E - E/D, k) / C(E, k)) for D domains of E/D experts each. With
// group-limited routing the token first picks `groups_per_token` of `groups` groups of consecutive
// experts, then its k experts among theirs; where groups and domains nest (a domain holds whole
// groups, or a group whole domains) the miss probability sums over how many of the domain's
// experts the chosen groups hold; otherwise groups are ignored (an upper bound).
double RemoteDomainsPerToken(int domains, int experts, int top_k, int groups = 1, int groups_per_token = 1);

}  // namespace aif::perf
