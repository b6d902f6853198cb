#include "aifactory/net/topology.h"

#include <cmath>

#include <fmt/format.h>

namespace aif::net {
namespace {

constexpr int kKinds = 7;

}  // namespace

const char* NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kGpu: return "gpu";
    case NodeKind::kNvSwitch: return "nvswitch";
    case NodeKind::kLeaf: return "leaf";
    case NodeKind::kSpine: return "spine";
    case NodeKind::kCore: return "core";
    case NodeKind::kGateway: return "gateway";
    case NodeKind::kSwitch: return "switch";
  }
  return "node";
}

NodeId Topology::AddNode(NodeKind kind, int site) {
  std::size_t slot = static_cast<std::size_t>(site) * kKinds + static_cast<std::size_t>(kind);
  if (kind_counts_.size() <= slot) kind_counts_.resize((static_cast<std::size_t>(site) + 1) * kKinds);
  nodes_.push_back(Node{kind, site, kind_counts_[slot]++});
  if (kind == NodeKind::kGpu) ++gpu_count_;
  return static_cast<NodeId>(nodes_.size() - 1);
}

Result<LinkId> Topology::AddLink(NodeId from, NodeId to, BytesPerSecond capacity, Seconds latency) {
  if (!valid_node(from) || !valid_node(to)) {
    return InvalidArgument(fmt::format("link {} -> {}: unknown node (the topology has {} nodes)",
                                       from, to, node_count()));
  }
  if (from == to) return InvalidArgument(fmt::format("link {0} -> {0}: a link joins two nodes", NodeName(from)));
  if (!(capacity.value() > 0) || !std::isfinite(capacity.value())) {
    return InvalidArgument(fmt::format("link {} -> {}: capacity must be positive (got {} B/s)",
                                       NodeName(from), NodeName(to), capacity.value()));
  }
  if (!(latency.value() >= 0) || !std::isfinite(latency.value())) {
    return InvalidArgument(fmt::format("link {} -> {}: latency must be non-negative (got {} s)",
                                       NodeName(from), NodeName(to), latency.value()));
  }
  links_.push_back(Link{from, to, capacity, latency});
  return static_cast<LinkId>(links_.size() - 1);
}

Result<LinkId> Topology::AddDuplexLink(NodeId a, NodeId b, BytesPerSecond capacity, Seconds latency) {
  AIF_ASSIGN_OR_RETURN(LinkId forward, AddLink(a, b, capacity, latency));
  AIF_ASSIGN_OR_RETURN(LinkId backward, AddLink(b, a, capacity, latency));
  (void)backward;
  return forward;
}

std::string Topology::NodeName(NodeId n) const {
  if (!valid_node(n)) return fmt::format("node {}", n);
  const Node& node = nodes_[static_cast<std::size_t>(n)];
  if (sites_.size() > 1) {
    return fmt::format("{} {} (site {})", NodeKindName(node.kind), node.index, node.site);
  }
  return fmt::format("{} {}", NodeKindName(node.kind), node.index);
}

std::string Topology::LinkName(LinkId l) const {
  if (!valid_link(l)) return fmt::format("link {}", l);
  const Link& link = links_[static_cast<std::size_t>(l)];
  return fmt::format("link {} ({} -> {})", l, NodeName(link.from), NodeName(link.to));
}

int Topology::SiteOfGpu(NodeId gpu) const {
  for (std::size_t s = 0; s < sites_.size(); ++s) {
    const SiteLayout& site = sites_[s];
    if (gpu >= site.first_gpu && gpu < site.first_gpu + site.gpus) return static_cast<int>(s);
  }
  return -1;
}

void Topology::ShrinkToFit() {
  nodes_.shrink_to_fit();
  links_.shrink_to_fit();
  sites_.shrink_to_fit();
}

std::size_t Topology::MemoryBytes() const {
  return nodes_.capacity() * sizeof(Node) + links_.capacity() * sizeof(Link) +
         sites_.capacity() * sizeof(SiteLayout) + kind_counts_.capacity() * sizeof(int);
}

}  // namespace aif::net
