// Routing: shortest paths. A flow is pinned to one path, chosen among the equal-cost ones by one
// of two policies:
// - ECMP (static hashing): a deterministic hash of (src, dst, entropy); the entropy is the flow
//   id unless the caller gives one (a queue pair or source port, say). Flows collide.
// - Adaptive: at each choice the alternative whose busiest link carries the fewest flows now
//   (ties: the first from the hashed one on), read through a LinkLoad. This is the flow-level
//   stand-in for InfiniBand adaptive routing, where a switch picks the output port among the
//   minimal-hop ones by the ports' load (the subnet manager's ar_updn engine, the default).
//
// Builder topologies are routed structurally, in time proportional to the path length (plus the
// number of equal-cost choices when a failed link must be avoided): GPU -> leaf -> spine ->
// (core) -> spine -> leaf -> GPU inside a site, up to the site gateway and across the WAN between
// sites, and over the NVSwitch between GPUs of one NVLink domain (as NCCL does). Every other
// source or destination (hand-built graphs, flows to a switch) is routed by a breadth-first
// search from the destination and hop-by-hop ECMP, cached per destination.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/net/topology.h"

namespace aif::net {

using Path = std::vector<LinkId>;

enum class RoutingPolicy : std::uint8_t { kEcmp, kAdaptive };
const char* RoutingPolicyName(RoutingPolicy policy);  // "ecmp", "adaptive"

// What adaptive routing reads: the flows crossing a link now.
class LinkLoad {
 public:
  virtual ~LinkLoad() = default;
  virtual std::int64_t FlowsOn(LinkId link) const = 0;
};

// splitmix64 of the three values; the same inputs give the same hash on every platform.
std::uint64_t EcmpHash(NodeId src, NodeId dst, std::uint64_t entropy);

class Router {
 public:
  // `topology` must outlive the router. Link up/down state is read at each call.
  explicit Router(const Topology* topology);

  // One shortest path (hop count) from src to dst over links that are up, chosen among the
  // equal-cost ones by EcmpHash(src, dst, entropy). When the hashed path crosses a failed link
  // the choice is made again among the equal-cost paths that are still up. Errors: unknown or
  // identical nodes, no path left.
  Result<Path> Route(NodeId src, NodeId dst, std::uint64_t entropy) const;
  // The same into `out` (cleared first), reusing its capacity: for callers that route millions
  // of flows.
  Status Route(NodeId src, NodeId dst, std::uint64_t entropy, Path* out) const;

  // Drops cached search results; call after a link goes down or comes back.
  void InvalidateCache();

  // Adaptive routing reads `load` (which must outlive the router) at each equal-cost choice of a
  // builder topology; nullptr (the default) is ECMP. The search routes of hand-built graphs and
  // the WAN hop between gateways stay hashed.
  void SetAdaptive(const LinkLoad* load) { load_ = load; }

 private:
  Status RouteStructured(NodeId src, NodeId dst, int site_a, int site_b, std::uint64_t hash,
                         Path* out) const;
  bool AppendAcrossPods(const SiteLayout& a, int leaf_a, int leaf_b, int pod_a, int pod_b,
                        std::uint64_t hash, Path* path) const;
  Result<Path> RouteSearch(NodeId src, NodeId dst, std::uint64_t hash) const;
  const std::vector<std::int32_t>& DistancesTo(NodeId dst) const;
  void BuildAdjacency() const;

  const Topology* topology_;
  const LinkLoad* load_ = nullptr;
  // Lazily built: out-links of each node in CSR form, for the search.
  mutable std::vector<std::int32_t> out_begin_;
  mutable std::vector<LinkId> out_links_;
  mutable std::vector<std::int32_t> in_begin_;
  mutable std::vector<LinkId> in_links_;
  // Hop distance to a destination, per destination (bounded; cleared when full).
  mutable std::map<NodeId, std::vector<std::int32_t>> distance_cache_;
};

}  // namespace aif::net
