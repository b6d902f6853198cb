#include "aifactory/net/routing.h"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

namespace aif::net {
namespace {

constexpr std::size_t kDistanceCacheEntries = 32;

std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A different hash for each choice a route makes, so that two choices are independent.
std::uint64_t ChoiceHash(std::uint64_t hash, std::uint64_t choice) { return Mix(hash ^ Mix(choice)); }

bool AllUp(const Topology& t, const Path& path, std::size_t from) {
  if (t.AllLinksUp()) return true;
  for (std::size_t i = from; i < path.size(); ++i) {
    if (!t.link(path[i]).up) return false;
  }
  return true;
}

// Appends one of `count` equal-cost alternatives to `path`: the hashed one, or when it crosses a
// failed link the (hash mod live)-th of those that do not. `append(i, path)` appends the links of
// alternative i. Returns false when every alternative crosses a failed link.
template <typename Append>
bool AppendAlternative(const Topology& t, std::uint64_t hash, std::int64_t count, Append append,
                       Path* path) {
  const std::size_t base = path->size();
  const auto h = static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(count));
  append(h, path);
  if (AllUp(t, *path, base)) return true;
  path->resize(base);
  std::vector<std::int64_t> live;
  for (std::int64_t i = 0; i < count; ++i) {
    append(i, path);
    if (AllUp(t, *path, base)) live.push_back(i);
    path->resize(base);
  }
  if (live.empty()) return false;
  append(live[hash % live.size()], path);
  return true;
}

// The alternative of least score, scanning `count` of them from the hashed one on (so that ties
// fall as ECMP's would); a negative score marks an alternative unusable. -1 when none is usable.
// Stops at the first score of zero: nothing is less loaded than an idle path.
template <typename Score>
std::int64_t LeastScored(std::uint64_t hash, std::int64_t count, Score score) {
  std::int64_t i = static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(count));
  std::int64_t best = -1;
  std::int64_t best_score = 0;
  for (std::int64_t k = 0; k < count; ++k, i = i + 1 == count ? 0 : i + 1) {
    const std::int64_t s = score(i);
    if (s < 0 || (best >= 0 && s >= best_score)) continue;
    best = i;
    best_score = s;
    if (s == 0) break;
  }
  return best;
}

std::int64_t BusiestLoad(const LinkLoad& load, const Path& path, std::size_t from) {
  std::int64_t worst = 0;
  for (std::size_t i = from; i < path.size(); ++i) worst = std::max(worst, load.FlowsOn(path[i]));
  return worst;
}

// Adaptive routing's counterpart of AppendAlternative: the live alternative whose busiest link
// carries the fewest flows.
template <typename Append>
bool AppendLeastLoaded(const Topology& t, const LinkLoad& load, std::uint64_t hash,
                       std::int64_t count, Append append, Path* path) {
  const std::size_t base = path->size();
  const std::int64_t best = LeastScored(hash, count, [&](std::int64_t i) -> std::int64_t {
    append(i, path);
    const std::int64_t s = AllUp(t, *path, base) ? BusiestLoad(load, *path, base) : -1;
    path->resize(base);
    return s;
  });
  if (best < 0) return false;
  append(best, path);
  return true;
}

LinkId Up(LinkId first, std::int64_t element) { return static_cast<LinkId>(first + 2 * element); }
LinkId Down(LinkId first, std::int64_t element) { return static_cast<LinkId>(first + 2 * element + 1); }

int SiteOf(const Topology& t, NodeId n) {
  const Node& node = t.node(n);
  if (node.kind != NodeKind::kGpu || node.site < 0 ||
      node.site >= static_cast<int>(t.sites().size())) {
    return -1;
  }
  const SiteLayout& s = t.sites()[static_cast<std::size_t>(node.site)];
  return n >= s.first_gpu && n < s.first_gpu + s.gpus ? node.site : -1;
}

}  // namespace

const char* RoutingPolicyName(RoutingPolicy policy) {
  return policy == RoutingPolicy::kAdaptive ? "adaptive" : "ecmp";
}

std::uint64_t EcmpHash(NodeId src, NodeId dst, std::uint64_t entropy) {
  return Mix(Mix(Mix(static_cast<std::uint64_t>(src)) ^ static_cast<std::uint64_t>(dst)) ^ entropy);
}

Router::Router(const Topology* topology) : topology_(topology) {}

void Router::InvalidateCache() { distance_cache_.clear(); }

Result<Path> Router::Route(NodeId src, NodeId dst, std::uint64_t entropy) const {
  Path path;
  AIF_RETURN_IF_ERROR(Route(src, dst, entropy, &path));
  return path;
}

Status Router::Route(NodeId src, NodeId dst, std::uint64_t entropy, Path* out) const {
  const Topology& t = *topology_;
  out->clear();
  if (!t.valid_node(src) || !t.valid_node(dst)) {
    return InvalidArgument(fmt::format("route {} -> {}: unknown node (the topology has {} nodes)",
                                       src, dst, t.node_count()));
  }
  if (src == dst) {
    return InvalidArgument(fmt::format("route {0} -> {0}: source and destination are the same node",
                                       t.NodeName(src)));
  }
  std::uint64_t hash = EcmpHash(src, dst, entropy);
  const int site_a = SiteOf(t, src);
  const int site_b = site_a >= 0 ? SiteOf(t, dst) : -1;
  if (site_b >= 0) return RouteStructured(src, dst, site_a, site_b, hash, out);
  AIF_ASSIGN_OR_RETURN(*out, RouteSearch(src, dst, hash));
  return Status::Ok();
}

Status Router::RouteStructured(NodeId src, NodeId dst, int site_a, int site_b, std::uint64_t hash,
                               Path* out) const {
  const Topology& t = *topology_;
  const SiteLayout& a = t.sites()[static_cast<std::size_t>(site_a)];
  const SiteLayout& b = t.sites()[static_cast<std::size_t>(site_b)];
  const int ga = src - a.first_gpu;
  const int gb = dst - b.first_gpu;
  auto no_path = [&](const char* why) {
    return Unsupported(fmt::format("no path from {} to {}: {}", t.NodeName(src), t.NodeName(dst), why));
  };

  // One equal-cost choice, by the router's policy.
  auto choose = [&](std::uint64_t choice_hash, std::int64_t count, auto append) {
    return load_ != nullptr ? AppendLeastLoaded(t, *load_, choice_hash, count, append, out)
                            : AppendAlternative(t, choice_hash, count, append, out);
  };
  Path& path = *out;
  if (site_a == site_b && a.nvlink_domain > 1 && ga / a.nvlink_domain == gb / a.nvlink_domain) {
    path = {Up(a.first_nvlink, ga), Down(a.first_nvlink, gb)};
    if (AllUp(t, path, 0)) return Status::Ok();
    path.clear();  // NVLink failed: fall back to the scale-out fabric, if there is one
  }
  if (a.tiers == 0 || b.tiers == 0) {
    return no_path(site_a == site_b ? "the GPUs share no working NVLink domain and there is no scale-out fabric"
                                    : "a site has no scale-out fabric");
  }
  const std::int64_t h = a.half_radix;
  const int leaf_a = a.LeafOfGpu(ga);
  const int leaf_b = b.LeafOfGpu(gb);
  const int pod_a = a.PodOfLeaf(leaf_a);
  const int pod_b = b.PodOfLeaf(leaf_b);
  path.push_back(Up(a.first_nic, ga));
  if (!t.link(path.back()).up) return no_path("its NIC link is down");

  if (site_a == site_b) {
    if (leaf_a != leaf_b) {
      bool found = false;
      if (a.tiers == 2 || pod_a == pod_b) {
        found = choose(hash, h, [&](std::int64_t j, Path* p) {
          p->push_back(Up(a.first_leaf_spine, leaf_a * h + j));
          p->push_back(Down(a.first_leaf_spine, leaf_b * h + j));
        });
      } else {
        found = load_ != nullptr && AppendAcrossPods(a, leaf_a, leaf_b, pod_a, pod_b, hash, out);
        if (!found) found = choose(hash, h * h, [&](std::int64_t i, Path* p) {
          std::int64_t j = i / h;
          std::int64_t c = i % h;
          p->push_back(Up(a.first_leaf_spine, leaf_a * h + j));
          p->push_back(Up(a.first_spine_core, (pod_a * h + j) * h + c));
          p->push_back(Down(a.first_spine_core, (pod_b * h + j) * h + c));
          p->push_back(Down(a.first_leaf_spine, leaf_b * h + j));
        });
      }
      if (!found) return no_path("every equal-cost path crosses a failed link");
    }
  } else {
    // Up to a top-tier switch of site a and its gateway, across the WAN, down from site b's.
    auto up = [&](std::int64_t i, Path* p) {
      if (a.tiers == 2) {
        p->push_back(Up(a.first_leaf_spine, leaf_a * h + i));
      } else {
        std::int64_t j = i / h;
        p->push_back(Up(a.first_leaf_spine, leaf_a * h + j));
        p->push_back(Up(a.first_spine_core, (pod_a * h + j) * h + i % h));
      }
      p->push_back(Up(a.first_gateway, i));
    };
    if (!choose(ChoiceHash(hash, 1), a.top_switches(), up)) {
      return no_path("every path to its site gateway crosses a failed link");
    }
    AIF_ASSIGN_OR_RETURN(Path wan, RouteSearch(a.gateway, b.gateway, ChoiceHash(hash, 2)));
    path.insert(path.end(), wan.begin(), wan.end());
    const std::int64_t hb = b.half_radix;
    auto down = [&](std::int64_t i, Path* p) {
      p->push_back(Down(b.first_gateway, i));
      if (b.tiers == 2) {
        p->push_back(Down(b.first_leaf_spine, leaf_b * hb + i));
      } else {
        std::int64_t j = i / hb;
        p->push_back(Down(b.first_spine_core, (pod_b * hb + j) * hb + i % hb));
        p->push_back(Down(b.first_leaf_spine, leaf_b * hb + j));
      }
    };
    if (!choose(ChoiceHash(hash, 3), b.top_switches(), down)) {
      return no_path("every path from the destination site's gateway crosses a failed link");
    }
  }
  path.push_back(Down(b.first_nic, gb));
  if (!t.link(path.back()).up) return no_path("the destination's NIC link is down");
  return Status::Ok();
}

bool Router::AppendAcrossPods(const SiteLayout& a, int leaf_a, int leaf_b, int pod_a, int pod_b,
                              std::uint64_t hash, Path* path) const {
  // As a switch does: the leaf picks its spine j, then spine j of pod a picks the core, each by
  // the load of the links it would commit the flow to (the leaf-spine pair, the spine-core
  // pair). 2 x radix/2 looks instead of (radix/2)^2. False, with nothing appended, when the
  // chosen spine reaches no live core: the caller then searches every (spine, core) pair.
  const Topology& t = *topology_;
  const std::int64_t h = a.half_radix;
  // A hop up and its counterpart down: the busier of the two, -1 when either is down.
  auto pair = [&](LinkId up, LinkId down) -> std::int64_t {
    if (!t.link(up).up || !t.link(down).up) return -1;
    return std::max(load_->FlowsOn(up), load_->FlowsOn(down));
  };
  const std::int64_t j = LeastScored(hash, h, [&](std::int64_t k) {
    return pair(Up(a.first_leaf_spine, leaf_a * h + k), Down(a.first_leaf_spine, leaf_b * h + k));
  });
  if (j < 0) return false;
  const std::int64_t c = LeastScored(ChoiceHash(hash, 4), h, [&](std::int64_t k) {
    return pair(Up(a.first_spine_core, (pod_a * h + j) * h + k), Down(a.first_spine_core, (pod_b * h + j) * h + k));
  });
  if (c < 0) return false;
  path->push_back(Up(a.first_leaf_spine, leaf_a * h + j));
  path->push_back(Up(a.first_spine_core, (pod_a * h + j) * h + c));
  path->push_back(Down(a.first_spine_core, (pod_b * h + j) * h + c));
  path->push_back(Down(a.first_leaf_spine, leaf_b * h + j));
  return true;
}

void Router::BuildAdjacency() const {
  const Topology& t = *topology_;
  const auto n = static_cast<std::size_t>(t.node_count());
  out_begin_.assign(n + 1, 0);
  in_begin_.assign(n + 1, 0);
  for (const Link& l : t.links()) {
    ++out_begin_[static_cast<std::size_t>(l.from) + 1];
    ++in_begin_[static_cast<std::size_t>(l.to) + 1];
  }
  for (std::size_t i = 0; i < n; ++i) {
    out_begin_[i + 1] += out_begin_[i];
    in_begin_[i + 1] += in_begin_[i];
  }
  out_links_.assign(t.links().size(), kNoLink);
  in_links_.assign(t.links().size(), kNoLink);
  std::vector<std::int32_t> out_fill(out_begin_.begin(), out_begin_.end() - 1);
  std::vector<std::int32_t> in_fill(in_begin_.begin(), in_begin_.end() - 1);
  for (LinkId id = 0; id < t.link_count(); ++id) {
    const Link& l = t.link(id);
    out_links_[static_cast<std::size_t>(out_fill[static_cast<std::size_t>(l.from)]++)] = id;
    in_links_[static_cast<std::size_t>(in_fill[static_cast<std::size_t>(l.to)]++)] = id;
  }
}

const std::vector<std::int32_t>& Router::DistancesTo(NodeId dst) const {
  auto it = distance_cache_.find(dst);
  if (it != distance_cache_.end()) return it->second;
  const Topology& t = *topology_;
  if (out_begin_.size() != static_cast<std::size_t>(t.node_count()) + 1 ||
      out_links_.size() != t.links().size()) {
    BuildAdjacency();
  }
  if (distance_cache_.size() >= kDistanceCacheEntries) distance_cache_.clear();
  std::vector<std::int32_t>& dist = distance_cache_[dst];
  dist.assign(static_cast<std::size_t>(t.node_count()), -1);
  std::deque<NodeId> queue{dst};
  dist[static_cast<std::size_t>(dst)] = 0;
  while (!queue.empty()) {
    NodeId v = queue.front();
    queue.pop_front();
    for (std::int32_t k = in_begin_[static_cast<std::size_t>(v)]; k < in_begin_[static_cast<std::size_t>(v) + 1]; ++k) {
      const Link& l = t.link(in_links_[static_cast<std::size_t>(k)]);
      if (!l.up || dist[static_cast<std::size_t>(l.from)] >= 0) continue;
      dist[static_cast<std::size_t>(l.from)] = dist[static_cast<std::size_t>(v)] + 1;
      queue.push_back(l.from);
    }
  }
  return dist;
}

Result<Path> Router::RouteSearch(NodeId src, NodeId dst, std::uint64_t hash) const {
  const Topology& t = *topology_;
  const std::vector<std::int32_t>& dist = DistancesTo(dst);
  if (dist[static_cast<std::size_t>(src)] < 0) {
    return Unsupported(fmt::format("no path from {} to {} over the links that are up",
                                   t.NodeName(src), t.NodeName(dst)));
  }
  Path path;
  std::vector<LinkId> next;
  for (NodeId u = src; u != dst;) {
    next.clear();
    for (std::int32_t k = out_begin_[static_cast<std::size_t>(u)]; k < out_begin_[static_cast<std::size_t>(u) + 1]; ++k) {
      LinkId id = out_links_[static_cast<std::size_t>(k)];
      const Link& l = t.link(id);
      if (l.up && dist[static_cast<std::size_t>(l.to)] == dist[static_cast<std::size_t>(u)] - 1) {
        next.push_back(id);
      }
    }
    LinkId chosen = next[ChoiceHash(hash, static_cast<std::uint64_t>(u) + 16) % next.size()];
    path.push_back(chosen);
    u = t.link(chosen).to;
  }
  return path;
}

}  // namespace aif::net
