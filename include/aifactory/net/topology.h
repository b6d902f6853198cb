// The network as a directed graph: nodes (GPUs, NVSwitch planes, leaf/spine/core switches, site
// gateways) and directed links with a capacity and a latency. A duplex cable is two links.
//
// Builders (topology_builders.h) also record each site's structure (SiteLayout) so that routing
// can compute fat-tree up/down routes arithmetically instead of searching a 100K-GPU graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"

namespace aif::net {

using NodeId = std::int32_t;
using LinkId = std::int32_t;
inline constexpr NodeId kNoNode = -1;
inline constexpr LinkId kNoLink = -1;

enum class NodeKind : std::uint8_t { kGpu, kNvSwitch, kLeaf, kSpine, kCore, kGateway, kSwitch };
const char* NodeKindName(NodeKind kind);

struct Node {
  NodeKind kind = NodeKind::kGpu;
  std::int32_t site = 0;
  std::int32_t index = 0;  // among the nodes of this kind in this site, for names
};

struct Link {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  BytesPerSecond capacity;  // nominal, this direction
  Seconds latency;          // propagation + switching, this hop
  bool up = true;           // false: failed; routing avoids it
  double capacity_scale = 1;  // degradation knob: usable capacity = capacity * capacity_scale

  BytesPerSecond usable_capacity() const { return capacity * capacity_scale; }
};

// The shape of one site as a builder made it. Duplex link blocks: the up link of element i
// (toward the higher tier) is `first + 2 * i`, the down link `first + 2 * i + 1`.
struct SiteLayout {
  int first_gpu = 0;  // GPU nodes [first_gpu, first_gpu + gpus)
  int gpus = 0;

  // Scale-up: consecutive GPUs share an NVLink domain of `nvlink_domain` GPUs (0: none), one
  // NVSwitch node per domain; element g (local GPU) of the nvlink block joins GPU g to it.
  int nvlink_domain = 0;
  NodeId first_nvswitch = kNoNode;
  LinkId first_nvlink = kNoLink;

  // Scale-out rail-optimized fat-tree (tiers 0: none, 2 or 3). GPU g is rail g % rails of server
  // g / rails; servers are grouped `hosts_per_leaf` at a time and each group has one leaf per
  // rail: leaf = (server / hosts_per_leaf) * rails + rail. Each leaf has `half_radix` uplinks,
  // the j-th to spine j of its pod. Two tiers: one pod. Three tiers: `half_radix` leaves per pod,
  // `half_radix` spines per pod; the c-th uplink of spine j of any pod goes to core j*half_radix+c.
  int tiers = 0;
  int rails = 1;
  int half_radix = 0;
  int hosts_per_leaf = 0;
  int leaves = 0;
  int leaves_per_pod = 0;
  int pods = 0;
  int spines = 0;  // pods * half_radix
  int cores = 0;   // half_radix^2 (three tiers)
  NodeId first_leaf = kNoNode;
  NodeId first_spine = kNoNode;
  NodeId first_core = kNoNode;
  LinkId first_nic = kNoLink;         // element: local GPU
  LinkId first_leaf_spine = kNoLink;  // element: leaf * half_radix + j
  LinkId first_spine_core = kNoLink;  // element: spine * half_radix + c

  // Multi-site: the site's gateway and its links to every top-tier switch (spines with two
  // tiers, cores with three); element: top switch index.
  NodeId gateway = kNoNode;
  LinkId first_gateway = kNoLink;

  int LeafOfGpu(int local_gpu) const {
    int server = local_gpu / rails;
    return (server / hosts_per_leaf) * rails + local_gpu % rails;
  }
  int PodOfLeaf(int leaf) const { return leaf / leaves_per_pod; }
  int top_switches() const { return tiers == 3 ? cores : spines; }
};

class Topology {
 public:
  NodeId AddNode(NodeKind kind, int site = 0);
  // Adds one directed link. Errors: unknown node, self loop, capacity not positive and finite,
  // latency negative or not finite.
  Result<LinkId> AddLink(NodeId from, NodeId to, BytesPerSecond capacity, Seconds latency);
  // Adds from->to (the returned id) and to->from (id + 1).
  Result<LinkId> AddDuplexLink(NodeId a, NodeId b, BytesPerSecond capacity, Seconds latency);

  int node_count() const { return static_cast<int>(nodes_.size()); }
  int link_count() const { return static_cast<int>(links_.size()); }
  bool valid_node(NodeId n) const { return n >= 0 && n < node_count(); }
  bool valid_link(LinkId l) const { return l >= 0 && l < link_count(); }
  const Node& node(NodeId n) const { return nodes_[static_cast<std::size_t>(n)]; }
  const Link& link(LinkId l) const { return links_[static_cast<std::size_t>(l)]; }
  const std::vector<Link>& links() const { return links_; }
  // Number of GPU nodes. Builders create GPUs first: GPU i is node i.
  int gpu_count() const { return gpu_count_; }

  // Fault knobs (Network::FailLink and friends keep flows consistent; call those when flows run).
  void SetLinkUp(LinkId l, bool up) {
    Link& link = links_[static_cast<std::size_t>(l)];
    if (link.up != up) links_down_ += up ? -1 : 1;
    link.up = up;
  }
  // No link is down (routing then skips its per-link checks).
  bool AllLinksUp() const { return links_down_ == 0; }
  void SetCapacityScale(LinkId l, double scale) {
    links_[static_cast<std::size_t>(l)].capacity_scale = scale;
  }

  // "gpu 12", "leaf 3 (site 1)", "spine 0"; links as "gpu 12 -> leaf 1".
  std::string NodeName(NodeId n) const;
  std::string LinkName(LinkId l) const;

  // Structure recorded by the builders, one entry per site; empty for a hand-built graph.
  const std::vector<SiteLayout>& sites() const { return sites_; }
  std::vector<SiteLayout>& mutable_sites() { return sites_; }
  // Site of a GPU node made by a builder, or -1.
  int SiteOfGpu(NodeId gpu) const;

  // Releases spare vector capacity (builders call it once the graph is complete).
  void ShrinkToFit();
  // Heap bytes held (nodes, links, layouts), for benchmarks.
  std::size_t MemoryBytes() const;

 private:
  std::vector<Node> nodes_;
  std::vector<Link> links_;
  int links_down_ = 0;
  std::vector<SiteLayout> sites_;
  std::vector<int> kind_counts_;  // per (site, kind), for node indices
  int gpu_count_ = 0;
};

}  // namespace aif::net
