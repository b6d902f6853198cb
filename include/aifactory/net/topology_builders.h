// Builders of the topologies an AI factory is made of. Each validates its inputs and returns a
// Result whose error names the field and the limit ("radix 64 supports at most 65536 GPUs in
// three tiers"). GPUs are created first, so GPU i is node i.
#pragma once

#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"
#include "aifactory/net/topology.h"

namespace aif::net {

// One NVLink domain: `gpus` GPUs (8 for HGX, 72 for NVL72) joined through one NVSwitch plane,
// modelled as a non-blocking switch node with a duplex link of `gpu_bandwidth` per GPU.
struct NvlinkDomainSpec {
  int gpus = 8;
  BytesPerSecond gpu_bandwidth;  // per GPU, per direction (e.g. 450 GB/s on H100)
  Seconds latency;               // per hop (GPU -> NVSwitch)
};
Result<Topology> BuildNvlinkDomain(const NvlinkDomainSpec& spec);

// A rail-optimized fat-tree for scale-out: GPU r of every server has its own NIC on the leaf of
// rail r. Switches have `radix` ports: a leaf has radix/2 GPU ports and radix/2 uplinks. With
// oversubscription o each leaf uplink (both directions) carries nic_bandwidth / o; spine-core
// links carry nic_bandwidth. Optional NVLink domains of `nvlink_domain` consecutive GPUs carry
// traffic between GPUs of one domain.
struct FatTreeSpec {
  int gpus = 0;
  int gpus_per_server = 8;  // = rails
  int tiers = 2;            // 2: leaf-spine, 3: leaf-spine-core
  int radix = 64;
  BytesPerSecond nic_bandwidth;  // per GPU, per direction
  double oversubscription = 1;   // leaf downlink : uplink capacity, >= 1
  Seconds link_latency;          // per fabric hop
  int nvlink_domain = 0;         // GPUs per NVLink domain; 0 or 1: none
  BytesPerSecond nvlink_bandwidth;
  Seconds nvlink_latency;
};
Result<Topology> BuildRailFatTree(const FatTreeSpec& spec);

// Largest number of GPUs a fat-tree of this radix, tier count and server size can hold.
long long FatTreeMaxGpus(int radix, int tiers, int gpus_per_server);

// A WAN connection between two sites: `parallel_links` duplex links of `bandwidth` each way.
struct WanLinkSpec {
  int site_a = 0;
  int site_b = 0;
  BytesPerSecond bandwidth;
  Seconds latency;
  int parallel_links = 1;
};

// Several sites, each a rail-optimized fat-tree, each with a gateway joined to all of its
// top-tier switches (at the site's NIC bandwidth), gateways joined by WAN links. Every site must
// be reachable from every other.
struct MultiSiteSpec {
  std::vector<FatTreeSpec> sites;
  std::vector<WanLinkSpec> wan;
};
Result<Topology> BuildMultiSite(const MultiSiteSpec& spec);

// WAN links between every pair of `sites` sites.
std::vector<WanLinkSpec> FullMeshWan(int sites, BytesPerSecond bandwidth, Seconds latency);

}  // namespace aif::net
