// Flow-level network simulation on the des kernel. A flow moves `bytes` from one node to another
// along one ECMP path; all flows share link capacity max-min fairly (progressive filling). Rates
// are recomputed when a flow starts or finishes, a link fails or its capacity changes, and only
// for the flows connected to the change through shared links. A flow's bandwidth phase ends when
// its bytes are through at the shared rate; it completes the path latency later.
//
// Not modelled (see docs/network.md): packets, queues, congestion control dynamics, PFC.
// Collectives, in-network reduction (NVLS, SHARP) included, are decomposed into flows by the
// callers (net/collectives.h).
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"
#include "aifactory/des/sim_time.h"
#include "aifactory/des/simulator.h"
#include "aifactory/net/routing.h"
#include "aifactory/net/topology.h"

namespace aif::net {

using FlowId = std::int32_t;

// What happened to one flow; results only, never wall-clock.
struct FlowRecord {
  FlowId id = -1;
  NodeId src = kNoNode;
  NodeId dst = kNoNode;
  Bytes bytes;
  des::SimTime start;
  des::SimTime transfer_end;  // the last byte left the bottleneck
  des::SimTime finish;        // transfer_end + path latency: the on_complete time
  Seconds latency;            // of the path (of the last path after a reroute) + extra_latency
  int reroutes = 0;
  bool done = false;
};

struct FlowOptions {
  // Hashed with (src, dst) to pick the ECMP path; the flow id when absent. Flows with the same
  // endpoints and entropy take the same path.
  std::optional<std::uint64_t> ecmp_entropy;
  // Added to the path latency: time that is no link's, such as a protocol's per-message overhead
  // at the endpoints. Non-negative and finite.
  Seconds extra_latency;
};

struct LinkUsage {
  Bytes carried;  // bytes that crossed the link so far
  Seconds busy;   // time during which at least one flow crossed it
};

struct NetworkStats {
  std::uint64_t flows_started = 0;
  std::uint64_t flows_completed = 0;
  std::uint64_t recomputations = 0;      // progressive-filling runs
  std::uint64_t flow_rate_updates = 0;   // flows whose rate was recomputed, summed over runs
  std::uint64_t direct_rates = 0;        // rates set without a recomputation: a flow that starts,
                                         // or is left, alone on every link of its path takes
                                         // the path's capacity
  std::uint64_t max_component_flows = 0; // largest set of flows one run recomputed
  std::uint64_t reroutes = 0;
  Bytes bytes_started;
  Bytes bytes_delivered;  // of completed flows
};

struct NetworkOptions {
  // Keep every flow's record and path after it completes, for flow() and FlowPath() (tests,
  // small studies). Off, a completed flow's state is recycled for the next flow to start, so
  // memory follows the flows in progress rather than every flow ever started (the timeline of a
  // whole factory starts millions); flow(), FlowPath() then answer only for flows in progress.
  bool keep_completed_flows = true;
  // How a flow's path is chosen among the equal-cost ones (net/routing.h): hashed, or by the
  // flows on the links when the flow starts (or is rerouted).
  RoutingPolicy routing = RoutingPolicy::kEcmp;
};

class Network {
 public:
  using CompletionCallback = std::function<void(const FlowRecord&)>;

  // The network schedules its events on `simulator`, which must outlive it; the network must in
  // turn outlive every run of the simulator while it has flows in progress.
  Network(des::Simulator* simulator, Topology topology, NetworkOptions options = {});
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Starts a flow now. `on_complete` (may be empty) runs at its finish time. Errors: unknown or
  // identical endpoints, bytes or extra latency negative or not finite, no path.
  Result<FlowId> StartFlow(NodeId src, NodeId dst, Bytes bytes, CompletionCallback on_complete,
                           FlowOptions options = {});

  // Runs the simulator until no event is left (every flow has completed).
  void RunUntilIdle() { simulator_->Run(); }

  // Fails a link: the flows crossing it move, now, to another equal-cost path that is up. If any
  // of them has none, nothing changes and the error names the flow. Failing a failed link is a
  // no-op. New flows avoid failed links.
  Status FailLink(LinkId link);
  // Brings a failed link back for new flows (running flows keep their paths).
  Status RestoreLink(LinkId link);
  // Usable capacity = nominal * factor (a degraded WAN, a link at reduced speed); factor > 0.
  Status ScaleLinkCapacity(LinkId link, double factor);

  // A flow's record and path: any flow with keep_completed_flows, else flows in progress only
  // (checked).
  const FlowRecord& flow(FlowId id) const { return slots_[SlotOf(id)].record; }
  int flow_count() const { return static_cast<int>(slot_of_.size()); }
  std::span<const LinkId> FlowPath(FlowId id) const { return slots_[SlotOf(id)].path(); }
  // The current max-min rate of an active flow; zero once its transfer is over.
  BytesPerSecond FlowRate(FlowId id) const;
  LinkUsage link_usage(LinkId link) const;
  const NetworkStats& stats() const { return stats_; }
  const Topology& topology() const { return topology_; }
  des::Simulator* simulator() const { return simulator_; }
  // Heap bytes held by the topology and the flow state, for benchmarks.
  std::size_t MemoryBytes() const;
  const Router& router() const { return router_; }

  // Invariant checks for tests: the rates on every link sum to at most its usable capacity
  // (relative tolerance 1e-9), and every flow still transferring has a positive rate unless a
  // recomputation is pending. O(total path length of active flows).
  Status CheckCapacity() const;
  // Called after every rate recomputation (for property tests).
  void SetRecomputeObserver(std::function<void()> observer) { observer_ = std::move(observer); }

 private:
  // Flow state lives in slots. With keep_completed_flows slot i is flow i for good; without, a
  // completed flow's slot goes back on a free list and the next flow reuses it (and the capacity
  // of its vectors). Every per-flow scratch array below is indexed by slot; ordering ties are
  // broken by flow id, so results do not depend on which slot a flow got.
  using Slot = std::int32_t;
  struct FlowHop {
    Slot slot;
    std::int32_t hop;  // index in the flow's path
  };
  // Paths up to this many links live inside the slot (a rail-optimized three-tier fabric with a
  // WAN hop needs about ten); longer ones spill to the heap.
  static constexpr int kInlineHops = 12;
  struct alignas(64) FlowSlot {
    // Hot: what a recomputation that reaches the flow reads, first.
    double remaining = 0;  // bytes
    double rate = 0;       // bytes/s
    double new_rate = 0;   // filling scratch; negative while not fixed
    des::SimTime last_settled;
    std::uint32_t epoch = 0;  // the recomputation that last reached it
    std::int32_t hops = 0;    // path length
    // Bit h: the link of hop h carries another flow too (kept at every attach and detach); hops
    // from 64 on count as shared.
    std::uint64_t shared = 0;
    double cap = 0;         // the path's smallest capacity ...
    LinkId cap_link = -1;   // ... and its link (the smallest id among equals)
    bool transferring = false;
    std::array<LinkId, kInlineHops> link_inline{};
    std::array<std::int32_t, kInlineHops> at_inline{};  // per hop: index in links_[link].flows
    std::vector<LinkId> link_more;                      // paths longer than kInlineHops
    std::vector<std::int32_t> at_more;
    // Cold.
    FlowRecord record;
    CompletionCallback on_complete;
    std::uint64_t entropy = 0;
    Seconds extra_latency;
    double credited = 0;  // bytes already credited to the links of earlier paths (reroutes)

    std::span<const LinkId> path() const {
      return {hops <= kInlineHops ? link_inline.data() : link_more.data(),
              static_cast<std::size_t>(hops)};
    }
    std::int32_t* at() { return hops <= kInlineHops ? at_inline.data() : at_more.data(); }
    void SetPath(const Path& path);
    // Keeps the smaller of (cap, cap_link) and (capacity, link); ResetCap starts over.
    void TakeCap(LinkId link, double capacity);
    void ResetCap() {
      cap = std::numeric_limits<double>::infinity();
      cap_link = -1;
    }
  };
  struct FillEntry {
    double share;  // residual capacity / unfixed flows when pushed: a lower bound of the current
    LinkId link;
    Slot slot = -1;  // >= 0: that flow's own bound, its path's smallest capacity
  };
  static bool Shared(const FlowSlot& flow, int hop) {
    return hop >= 64 || ((flow.shared >> hop) & 1) != 0;
  }
  static void SetShared(FlowSlot& flow, int hop, bool shared) {
    if (hop >= 64) return;
    const std::uint64_t bit = std::uint64_t{1} << hop;
    flow.shared = shared ? flow.shared | bit : flow.shared & ~bit;
  }
  // Calls visit(hop) for every shared hop of `flow`, in order.
  template <typename Visit>
  static void ForSharedHops(const FlowSlot& flow, Visit visit) {
    for (std::uint64_t bits = flow.shared; bits != 0; bits &= bits - 1) visit(std::countr_zero(bits));
    for (int hop = 64; hop < flow.hops; ++hop) visit(hop);
  }
  void SetCap(FlowSlot& flow);

  std::size_t SlotOf(FlowId id) const;
  Slot AcquireSlot(FlowId id);
  void AttachToLinks(Slot s);
  void DetachFromLinks(Slot s);
  void MarkDirty(LinkId link);
  // Sets the rate of a flow alone on every link of its path (its path's capacity) at once.
  void TakeAloneRate(Slot s);
  void Settle(Slot s);
  void Recompute();
  void OnTransferEnd();
  void Deliver(Slot s);
  void DeliverGroup(std::int32_t group);
  void ScheduleNextTransferEnd();
  void SetTransferEnd(Slot s, std::int64_t end_ns);
  void RemoveFromEndHeap(Slot s);

  des::Simulator* simulator_;
  Topology topology_;
  Router router_;
  NetworkOptions options_;
  // What adaptive routing reads: the flows on each link.
  class FlowsPerLink final : public LinkLoad {
   public:
    explicit FlowsPerLink(const Network* network) : network_(network) {}
    std::int64_t FlowsOn(LinkId link) const override {
      return static_cast<std::int64_t>(network_->links_[static_cast<std::size_t>(link)].flows.size());
    }

   private:
    const Network* network_;
  };
  FlowsPerLink flows_per_link_{this};
  Path route_scratch_;

  std::vector<std::int32_t> slot_of_;  // per flow id: its slot, -1 once recycled
  std::vector<FlowSlot> slots_;
  std::vector<FlowId> slot_flow_;      // per slot: the flow in it (heap tie-breaks)
  std::vector<Slot> free_slots_;

  // Per link, what flows starting, ending and recomputations touch, in one cache line.
  struct alignas(64) LinkState {
    std::vector<FlowHop> flows;  // the flows crossing it now
    double capacity = 0;         // usable: nominal x scale
    double residual = 0;         // filling scratch
    Seconds latency;
    std::int32_t unfixed = 0;    // filling scratch
    std::uint32_t epoch = 0;     // the recomputation that last reached it
    bool dirty = false;
  };
  // Per link, the counters behind link_usage.
  struct LinkStats {
    std::int64_t busy_since_ns = 0;
    std::int64_t busy_ns = 0;
    double carried = 0;  // bytes credited: of flows that ended, or moved off it
  };
  std::vector<LinkState> links_;
  std::vector<LinkStats> link_stats_;

  // Recomputation scratch (epoch-stamped so nothing is cleared).
  std::vector<LinkId> dirty_links_;
  std::vector<LinkId> component_links_;
  std::vector<Slot> component_flows_;
  std::vector<FillEntry> fill_heap_;
  std::uint32_t epoch_ = 0;
  bool recompute_scheduled_ = false;
  des::EventHandle recompute_event_;

  // Slots still transferring, by (transfer end, flow id): an indexed binary heap.
  struct EndEntry {
    std::int64_t end_ns;
    FlowId flow;
    Slot slot;
    bool operator<(const EndEntry& o) const {
      return end_ns != o.end_ns ? end_ns < o.end_ns : flow < o.flow;
    }
  };
  std::vector<EndEntry> end_heap_;
  // Flows whose transfers are over, waiting for their path latency, one event per group.
  struct DeliveryGroup {
    std::int64_t at_ns = 0;
    std::vector<Slot> slots;
  };
  std::vector<DeliveryGroup> delivery_groups_;
  std::vector<std::int32_t> free_groups_;
  std::vector<std::int32_t> batch_groups_;  // the groups of the transfer ends being processed
  std::vector<Slot> delivering_;
  std::vector<std::int32_t> end_heap_pos_;  // per slot, -1 when absent
  des::EventHandle end_event_;
  std::int64_t end_event_ns_ = -1;

  NetworkStats stats_;
  std::function<void()> observer_;
};

}  // namespace aif::net
