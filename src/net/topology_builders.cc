#include "aifactory/net/topology_builders.h"

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace aif::net {
namespace {

bool Positive(double x) { return x > 0 && std::isfinite(x); }
bool NonNegative(double x) { return x >= 0 && std::isfinite(x); }

Status ValidateFatTree(const FatTreeSpec& s) {
  if (s.gpus <= 0) return InvalidArgument(fmt::format("fat-tree: gpus must be positive (got {})", s.gpus));
  if (s.gpus_per_server <= 0) {
    return InvalidArgument(
        fmt::format("fat-tree: gpus_per_server must be positive (got {})", s.gpus_per_server));
  }
  if (s.gpus % s.gpus_per_server != 0) {
    return InvalidArgument(fmt::format("fat-tree: gpus ({}) must be a multiple of gpus_per_server ({})",
                                       s.gpus, s.gpus_per_server));
  }
  if (s.tiers != 2 && s.tiers != 3) {
    return InvalidArgument(fmt::format("fat-tree: tiers must be 2 or 3 (got {})", s.tiers));
  }
  if (s.radix < 2 || s.radix % 2 != 0) {
    return InvalidArgument(fmt::format("fat-tree: radix must be an even number of ports >= 2 (got {})", s.radix));
  }
  if (!Positive(s.nic_bandwidth.value())) {
    return InvalidArgument(fmt::format("fat-tree: nic_bandwidth must be positive (got {} B/s)",
                                       s.nic_bandwidth.value()));
  }
  if (!(s.oversubscription >= 1) || !std::isfinite(s.oversubscription)) {
    return InvalidArgument(fmt::format(
        "fat-tree: oversubscription is downlink:uplink capacity and must be >= 1 (got {})",
        s.oversubscription));
  }
  if (!NonNegative(s.link_latency.value())) {
    return InvalidArgument(fmt::format("fat-tree: link_latency must be non-negative (got {} s)",
                                       s.link_latency.value()));
  }
  if (s.nvlink_domain < 0) {
    return InvalidArgument(fmt::format("fat-tree: nvlink_domain must be >= 0 (got {})", s.nvlink_domain));
  }
  if (s.nvlink_domain > 1) {
    if (!Positive(s.nvlink_bandwidth.value())) {
      return InvalidArgument(fmt::format(
          "fat-tree: nvlink_bandwidth must be positive with nvlink_domain {} (got {} B/s)",
          s.nvlink_domain, s.nvlink_bandwidth.value()));
    }
    if (!NonNegative(s.nvlink_latency.value())) {
      return InvalidArgument(fmt::format("fat-tree: nvlink_latency must be non-negative (got {} s)",
                                         s.nvlink_latency.value()));
    }
  }
  long long max_gpus = FatTreeMaxGpus(s.radix, s.tiers, s.gpus_per_server);
  if (s.gpus > max_gpus) {
    return InvalidArgument(fmt::format(
        "fat-tree: radix {} is too small for {} GPUs: {} tiers of radix-{} switches with {} GPUs "
        "per server hold at most {} GPUs; use a larger radix{}",
        s.radix, s.gpus, s.tiers, s.radix, s.gpus_per_server, max_gpus,
        s.tiers == 2 ? " or three tiers" : ""));
  }
  return Status::Ok();
}

Status AddNvlinkDomains(Topology& t, SiteLayout& site, int domain, BytesPerSecond bandwidth,
                        Seconds latency, int site_index) {
  site.nvlink_domain = domain;
  int domains = (site.gpus + domain - 1) / domain;
  site.first_nvswitch = t.node_count();
  for (int d = 0; d < domains; ++d) t.AddNode(NodeKind::kNvSwitch, site_index);
  site.first_nvlink = t.link_count();
  for (int g = 0; g < site.gpus; ++g) {
    AIF_ASSIGN_OR_RETURN(LinkId l, t.AddDuplexLink(site.first_gpu + g, site.first_nvswitch + g / domain,
                                                   bandwidth, latency));
    (void)l;
  }
  return Status::Ok();
}

// Adds the switches and links of one site whose GPUs [first_gpu, first_gpu + spec.gpus) exist.
Result<SiteLayout> BuildSite(Topology& t, const FatTreeSpec& spec, int site_index, int first_gpu) {
  SiteLayout site;
  site.first_gpu = first_gpu;
  site.gpus = spec.gpus;
  if (spec.nvlink_domain > 1) {
    AIF_RETURN_IF_ERROR(AddNvlinkDomains(t, site, spec.nvlink_domain, spec.nvlink_bandwidth,
                                         spec.nvlink_latency, site_index));
  }
  const int h = spec.radix / 2;
  const int rails = spec.gpus_per_server;
  const int servers = spec.gpus / rails;
  const int groups = (servers + h - 1) / h;
  site.tiers = spec.tiers;
  site.rails = rails;
  site.half_radix = h;
  site.hosts_per_leaf = h;
  site.leaves = groups * rails;
  if (spec.tiers == 2) {
    site.leaves_per_pod = site.leaves;
    site.pods = 1;
  } else {
    site.leaves_per_pod = h;
    site.pods = (site.leaves + h - 1) / h;
    site.cores = h * h;
  }
  site.spines = site.pods * h;

  site.first_leaf = t.node_count();
  for (int i = 0; i < site.leaves; ++i) t.AddNode(NodeKind::kLeaf, site_index);
  site.first_spine = t.node_count();
  for (int i = 0; i < site.spines; ++i) t.AddNode(NodeKind::kSpine, site_index);
  site.first_core = t.node_count();
  for (int i = 0; i < site.cores; ++i) t.AddNode(NodeKind::kCore, site_index);

  const BytesPerSecond nic = spec.nic_bandwidth;
  const BytesPerSecond uplink = nic / spec.oversubscription;
  const Seconds lat = spec.link_latency;
  site.first_nic = t.link_count();
  for (int g = 0; g < site.gpus; ++g) {
    AIF_ASSIGN_OR_RETURN(LinkId l, t.AddDuplexLink(first_gpu + g, site.first_leaf + site.LeafOfGpu(g), nic, lat));
    (void)l;
  }
  site.first_leaf_spine = t.link_count();
  for (int leaf = 0; leaf < site.leaves; ++leaf) {
    int pod = site.PodOfLeaf(leaf);
    for (int j = 0; j < h; ++j) {
      AIF_ASSIGN_OR_RETURN(LinkId l, t.AddDuplexLink(site.first_leaf + leaf, site.first_spine + pod * h + j,
                                                     uplink, lat));
      (void)l;
    }
  }
  site.first_spine_core = t.link_count();
  if (spec.tiers == 3) {
    for (int spine = 0; spine < site.spines; ++spine) {
      int j = spine % h;
      for (int c = 0; c < h; ++c) {
        AIF_ASSIGN_OR_RETURN(LinkId l, t.AddDuplexLink(site.first_spine + spine, site.first_core + j * h + c,
                                                       nic, lat));
        (void)l;
      }
    }
  }
  return site;
}

}  // namespace

long long FatTreeMaxGpus(int radix, int tiers, int gpus_per_server) {
  if (radix < 2 || gpus_per_server <= 0) return 0;
  long long k = radix;
  long long h = radix / 2;
  long long r = gpus_per_server;
  // Leaves the top can reach: spines have k ports (two tiers); k pods of h leaves (three tiers).
  long long max_leaves = tiers == 2 ? k : (tiers == 3 ? k * h : 0);
  long long groups = max_leaves / r;  // each server group needs one leaf per rail
  return groups * h * r;
}

Result<Topology> BuildNvlinkDomain(const NvlinkDomainSpec& spec) {
  if (spec.gpus < 1) {
    return InvalidArgument(fmt::format("nvlink domain: gpus must be positive (got {})", spec.gpus));
  }
  if (!Positive(spec.gpu_bandwidth.value())) {
    return InvalidArgument(fmt::format("nvlink domain: gpu_bandwidth must be positive (got {} B/s)",
                                       spec.gpu_bandwidth.value()));
  }
  if (!NonNegative(spec.latency.value())) {
    return InvalidArgument(
        fmt::format("nvlink domain: latency must be non-negative (got {} s)", spec.latency.value()));
  }
  Topology t;
  for (int g = 0; g < spec.gpus; ++g) t.AddNode(NodeKind::kGpu);
  SiteLayout site;
  site.gpus = spec.gpus;
  AIF_RETURN_IF_ERROR(AddNvlinkDomains(t, site, spec.gpus, spec.gpu_bandwidth, spec.latency, 0));
  t.mutable_sites().push_back(site);
  t.ShrinkToFit();
  return t;
}

Result<Topology> BuildRailFatTree(const FatTreeSpec& spec) {
  AIF_RETURN_IF_ERROR(ValidateFatTree(spec));
  MultiSiteSpec one;
  one.sites.push_back(spec);
  return BuildMultiSite(one);
}

std::vector<WanLinkSpec> FullMeshWan(int sites, BytesPerSecond bandwidth, Seconds latency) {
  std::vector<WanLinkSpec> wan;
  for (int a = 0; a < sites; ++a) {
    for (int b = a + 1; b < sites; ++b) wan.push_back(WanLinkSpec{a, b, bandwidth, latency, 1});
  }
  return wan;
}

Result<Topology> BuildMultiSite(const MultiSiteSpec& spec) {
  const int n_sites = static_cast<int>(spec.sites.size());
  if (n_sites == 0) return InvalidArgument("multi-site: at least one site is needed");
  long long total_gpus = 0;
  for (int s = 0; s < n_sites; ++s) {
    Status status = ValidateFatTree(spec.sites[static_cast<std::size_t>(s)]);
    if (!status.ok()) return n_sites == 1 ? status : status.WithContext(fmt::format("site {}: ", s));
    total_gpus += spec.sites[static_cast<std::size_t>(s)].gpus;
  }
  if (total_gpus > (1LL << 30)) {
    return InvalidArgument(fmt::format("multi-site: {} GPUs is more than this model indexes", total_gpus));
  }
  // Sites must be joined; union-find over the WAN links.
  std::vector<int> parent(static_cast<std::size_t>(n_sites));
  for (int s = 0; s < n_sites; ++s) parent[static_cast<std::size_t>(s)] = s;
  auto find = [&parent](int s) {
    while (parent[static_cast<std::size_t>(s)] != s) s = parent[static_cast<std::size_t>(s)];
    return s;
  };
  for (std::size_t i = 0; i < spec.wan.size(); ++i) {
    const WanLinkSpec& w = spec.wan[i];
    std::string where = fmt::format("multi-site: wan[{}] (site {} - site {}): ", i, w.site_a, w.site_b);
    if (w.site_a < 0 || w.site_a >= n_sites || w.site_b < 0 || w.site_b >= n_sites) {
      return InvalidArgument(where + fmt::format("site index out of range [0, {})", n_sites));
    }
    if (w.site_a == w.site_b) return InvalidArgument(where + "a WAN link joins two different sites");
    if (!Positive(w.bandwidth.value())) {
      return InvalidArgument(where + fmt::format("bandwidth must be positive (got {} B/s)", w.bandwidth.value()));
    }
    if (!NonNegative(w.latency.value())) {
      return InvalidArgument(where + fmt::format("latency must be non-negative (got {} s)", w.latency.value()));
    }
    if (w.parallel_links < 1) {
      return InvalidArgument(where + fmt::format("parallel_links must be >= 1 (got {})", w.parallel_links));
    }
    parent[static_cast<std::size_t>(find(w.site_a))] = find(w.site_b);
  }
  for (int s = 1; s < n_sites; ++s) {
    if (find(s) != find(0)) {
      return InvalidArgument(
          fmt::format("multi-site: site {} is not connected to site 0 by any chain of WAN links", s));
    }
  }

  Topology t;
  std::vector<int> first_gpu;
  for (int s = 0; s < n_sites; ++s) {
    first_gpu.push_back(t.node_count());
    for (int g = 0; g < spec.sites[static_cast<std::size_t>(s)].gpus; ++g) t.AddNode(NodeKind::kGpu, s);
  }
  for (int s = 0; s < n_sites; ++s) {
    const FatTreeSpec& site_spec = spec.sites[static_cast<std::size_t>(s)];
    AIF_ASSIGN_OR_RETURN(SiteLayout site, BuildSite(t, site_spec, s, first_gpu[static_cast<std::size_t>(s)]));
    if (n_sites > 1) {
      site.gateway = t.AddNode(NodeKind::kGateway, s);
      site.first_gateway = t.link_count();
      NodeId first_top = site.tiers == 3 ? site.first_core : site.first_spine;
      for (int top = 0; top < site.top_switches(); ++top) {
        AIF_ASSIGN_OR_RETURN(LinkId l, t.AddDuplexLink(first_top + top, site.gateway,
                                                       site_spec.nic_bandwidth, site_spec.link_latency));
        (void)l;
      }
    }
    t.mutable_sites().push_back(site);
  }
  for (const WanLinkSpec& w : spec.wan) {
    for (int p = 0; p < w.parallel_links; ++p) {
      AIF_ASSIGN_OR_RETURN(LinkId l, t.AddDuplexLink(t.sites()[static_cast<std::size_t>(w.site_a)].gateway,
                                                     t.sites()[static_cast<std::size_t>(w.site_b)].gateway,
                                                     w.bandwidth, w.latency));
      (void)l;
    }
  }
  t.ShrinkToFit();
  return t;
}

}  // namespace aif::net
