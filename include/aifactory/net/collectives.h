// Collectives as flows: an all-reduce, reduce-scatter, all-gather, all-to-all or send/recv over a
// set of GPU nodes, run as steps of flows on a Network. A rank starts a step when the flows that
// step depends on have completed (its own previous sends and the messages it must receive), so
// congestion, stragglers and link faults slow a collective the way they slow NCCL: the slowest
// flow of a step holds back whoever waits on it.
//
// Algorithms (see docs/network.md, "Collectives as flows"):
//  - ring: rank i sends a chunk to rank i+1 each step; 2(n-1) steps for all-reduce, n-1 for
//    reduce-scatter and all-gather. Across NVLink domains it runs one ring (channel) per GPU of a
//    domain, each on its own share of the buffer and entering and leaving every domain through a
//    different GPU, so that every NIC carries one ring's crossing (NCCL's rings over rails).
//  - tree (all-reduce): NCCL's double binary tree, each tree on half of the buffer; reduce up the
//    tree level by level, then broadcast down.
//  - hierarchical: reduce-scatter through the NVSwitch inside each NVLink domain (every GPU sends
//    its 1/r share to each of its r-1 peers at once), a ring across domains on 1/r of the data
//    (r rings at once, one per local GPU index, i.e. per rail), all-gather inside. Inside a single
//    domain only the NVSwitch phases remain.
//  - direct: all-to-all (every rank sends bytes/n to every other at once) and send/recv.
// kAuto picks, as NCCL's tuner does, the algorithm with the lowest alpha-beta estimate on the
// group's own links (ChooseCollectiveAlgorithm).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"
#include "aifactory/des/sim_time.h"
#include "aifactory/net/network.h"
#include "aifactory/net/topology.h"

namespace aif::net {

enum class CollectiveKind : std::uint8_t {
  kAllReduce,
  kReduceScatter,
  kAllGather,
  kAllToAll,
  kSendRecv
};
enum class CollectiveAlgorithm : std::uint8_t {
  kAuto,
  kRing,
  kTree,
  kHierarchical,
  kDirect,
  kNvls,  // NVLink SHARP: all-reduce reduced and multicast by the NVSwitch (one NVLink domain)
  kSharp,  // scale-out SHARP (NCCL's CollNet): the fabric's switches reduce across domains
};

const char* CollectiveKindName(CollectiveKind kind);
const char* CollectiveAlgorithmName(CollectiveAlgorithm algorithm);

struct CollectiveOptions {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::kAuto;  // kAuto: ChooseCollectiveAlgorithm
  // The communication library's own latency per step, added to the path latency of every flow
  // (FlowOptions::extra_latency): between two GPUs of one NVLink domain, and between domains.
  // NCCL's per-step figures (calibration scale_up_latency, fabric latency in the catalog) go
  // here; links keep their physical latency, so a step across three switch tiers costs the
  // same protocol latency as one across a leaf, plus its extra hops.
  Seconds step_latency_in_domain;
  Seconds step_latency_across_domains;
  // NVLink SHARP (NVLS, NVSwitch gen 3+): 0 = the fabric has none. Otherwise the fraction of an
  // NVLink's collective bandwidth that NVLS's multimem loads and stores reach. An NVLS
  // all-reduce inside one NVLink domain moves, per GPU, S + S/n up to the switch (every GPU's
  // share of every reduction read through the switch, then its reduced 1/n share stored for
  // multicast) and S/n + S down (its reduced share, then every multicast share), both directions
  // at once, in two protocol steps: time = (S + S/n) / (efficiency x link) + 2 step latencies,
  // so busbw = 2 (n-1)/n x efficiency x link x n/(n+1). NCCL's description of the algorithm:
  // NVIDIA/nccl src/device/all_reduce.h (runRing vs. the NVLS variant using multimem.ld_reduce
  // and multimem.st). Efficiency 0.834 reproduces the ~480 GB/s busbw NVIDIA quotes for 8 H100
  // (NVIDIA/nccl-tests#212, sjeaugey: "On 8 GPUs, you should reach a peak busBw of ~480GB/s
  // (algbw ~275GB/s)") with H100 links at 450 GB/s x calibration scale_up 0.815; the same figure
  // then predicts 5-7 GPUs (NVIDIA/nccl#1455: 420, 440, 460 GB/s), see collectives_test.cc.
  // kAuto picks NVLS where its estimate is the lowest.
  double nvls_efficiency = 0;
  // Scale-out SHARP (InfiniBand switches with SHARP, NCCL's CollNet): 0 = the fabric has none.
  // Otherwise the fraction of a NIC's collective bandwidth the reduction tree streams at. An
  // all-reduce over a group spread evenly, r ranks per NVLink domain, over several domains:
  // inside each domain every GPU sends each peer its 1/r share of the buffer to reduce and its
  // reduced share to gather (2 (r-1)/r x S out and in over NVLink); each GPU's reduced 1/r share
  // goes through its own NIC up an aggregation tree of the fabric's switches (one tree edge per
  // link: the switches add what their children send, so every tree link carries the share once
  // up and once down, whatever the group size), and comes back reduced. NCCL pipelines the
  // phases (chunks stream through NVLink, NIC and tree at once), so the flows run at once:
  // time = max(2 (r-1)/r x S / NVLink, S / r / (efficiency x NIC)) + the step latencies. How
  // NCCL lays out CollNet Direct (intra-node reduce-scatter, one NIC per GPU into SHARP, then
  // intra-node all-gather): NVIDIA/nccl#320 (sjeaugey and the channel layout discussed there).
  // kAuto picks it where its estimate is the lowest.
  double sharp_efficiency = 0;
};

// What one collective did. `bytes` follows nccl-tests: the full buffer of each rank for
// all-reduce, the full output (all-gather) or input (reduce-scatter) of n shares, for all-to-all
// the bytes each rank sends in total (its own share included), for send/recv the message.
struct CollectiveResult {
  Status status;  // not ok: a flow could not start (no path); the collective stopped there
  CollectiveKind kind = CollectiveKind::kAllReduce;
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::kAuto;  // the one that ran
  int ranks = 0;
  int channels = 1;  // concurrent rings or trees
  Bytes bytes;
  des::SimTime start;
  des::SimTime finish;     // when the last rank finished
  std::int64_t flows = 0;  // flows started
  Bytes flow_bytes;        // sum of the bytes of those flows

  Seconds duration() const { return (finish - start).ToSeconds(); }
  BytesPerSecond algbw() const;  // bytes / duration
  BytesPerSecond busbw() const;  // algbw x BusBandwidthFactor(kind, ranks)
};

using CollectiveCallback = std::function<void(const CollectiveResult&)>;

// nccl-tests' correction from algorithm to bus bandwidth (NVIDIA/nccl-tests doc/PERFORMANCE.md):
// all-reduce 2(n-1)/n; reduce-scatter, all-gather and all-to-all (n-1)/n; send/recv 1.
double BusBandwidthFactor(CollectiveKind kind, int ranks);

// The bytes an algorithm puts on the wire, summed over its flows: 2(n-1) x bytes for all-reduce
// (ring, tree and hierarchical alike), (n-1) x bytes for reduce-scatter, all-gather and
// all-to-all, the message for send/recv.
Bytes CollectiveTraffic(CollectiveKind kind, int ranks, Bytes bytes);

// The algorithm kAuto runs for this collective on this network: among the algorithms that apply
// (tree for all-reduce only; hierarchical when every NVLink domain the group touches holds the
// same number of its ranks), the one with the lowest alpha-beta estimate, with bandwidths and
// latencies read from the routes between the group's GPUs plus the options' step latencies.
// Errors as StartCollective.
Result<CollectiveAlgorithm> ChooseCollectiveAlgorithm(const Network& network, CollectiveKind kind,
                                                      const std::vector<NodeId>& ranks, Bytes bytes,
                                                      const CollectiveOptions& options = {});

// Starts a collective now over `ranks` (distinct nodes of the network's topology, in rank order;
// send/recv: {source, destination}). `on_done` runs once, when the last rank is done (or with an
// error status if a flow cannot start). The network must outlive the collective. Errors: fewer
// than one rank (two for send/recv), a repeated or unknown node, bytes negative or not finite, an
// algorithm that does not apply (tree for anything but all-reduce; ring, tree or hierarchical for
// all-to-all or send/recv; hierarchical over domains holding different numbers of the ranks).
// Returns the algorithm that runs.
Result<CollectiveAlgorithm> StartCollective(Network* network, CollectiveKind kind,
                                            std::vector<NodeId> ranks, Bytes bytes,
                                            CollectiveCallback on_done,
                                            CollectiveOptions options = {});

// Starts the collective and runs the simulator until no event is left (tests, benchmarks).
Result<CollectiveResult> RunCollective(Network* network, CollectiveKind kind,
                                       std::vector<NodeId> ranks, Bytes bytes,
                                       CollectiveOptions options = {});

}  // namespace aif::net
