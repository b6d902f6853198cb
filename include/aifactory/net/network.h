// Flow-level network simulation on the des kernel. A flow moves `bytes` from one node to another
// along one ECMP path; all flows share link capacity max-min fairly (progressive filling). Rates
// are recomputed when a flow starts or finishes, a link fails or its capacity changes, and only
// for the flows connected to the change through shared links. A flow's bandwidth phase ends when
// its bytes are through at the shared rate; it completes the path latency later.
//
// Not modelled (see docs/network.md): packets, queues, congestion control dynamics, PFC, and
// TODO(net): SHARP / NVLS in-network reduction (a reduction tree inside the switches that halves
// the bytes an all-reduce sends); collectives are decomposed into flows by the callers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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
  std::uint64_t max_component_flows = 0; // largest set of flows one run recomputed
  std::uint64_t reroutes = 0;
  Bytes bytes_started;
  Bytes bytes_delivered;  // of completed flows
};

class Network {
 public:
  using CompletionCallback = std::function<void(const FlowRecord&)>;

  // The network schedules its events on `simulator`, which must outlive it; the network must in
  // turn outlive every run of the simulator while it has flows in progress.
  Network(des::Simulator* simulator, Topology topology);
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

  const FlowRecord& flow(FlowId id) const { return records_[static_cast<std::size_t>(id)]; }
  int flow_count() const { return static_cast<int>(records_.size()); }
  const Path& FlowPath(FlowId id) const { return paths_[static_cast<std::size_t>(id)]; }
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
  struct FlowHop {
    FlowId flow;
    std::int32_t hop;  // index in the flow's path
  };
  struct ActiveFlow {
    double remaining = 0;  // bytes
    double rate = 0;       // bytes/s
    des::SimTime last_settled;
    std::vector<std::int32_t> slot_in_link;  // per hop: index in link_flows_[path[hop]]
    CompletionCallback on_complete;
    std::uint64_t entropy = 0;
    Seconds extra_latency;
    bool transferring = false;
  };
  struct FillEntry {
    double share;  // residual capacity / unfixed flows when pushed: a lower bound of the current
    LinkId link;
  };

  void AttachToLinks(FlowId f);
  void DetachFromLinks(FlowId f);
  void MarkDirty(LinkId link);
  void Settle(FlowId f);
  void Recompute();
  void OnTransferEnd();
  void Deliver(FlowId f);
  void ScheduleNextTransferEnd();
  void SetTransferEnd(FlowId f, std::int64_t end_ns);
  void RemoveFromEndHeap(FlowId f);

  des::Simulator* simulator_;
  Topology topology_;
  Router router_;

  std::vector<FlowRecord> records_;
  std::vector<Path> paths_;
  std::vector<ActiveFlow> active_;

  // Per link.
  std::vector<std::vector<FlowHop>> link_flows_;
  std::vector<double> carried_;
  std::vector<std::int64_t> busy_ns_;
  std::vector<std::int64_t> busy_since_ns_;

  // Recomputation scratch, per link and per flow (epoch-stamped so nothing is cleared).
  std::vector<LinkId> dirty_links_;
  std::vector<std::uint8_t> link_dirty_;
  std::vector<std::uint32_t> link_epoch_;
  std::vector<std::uint32_t> flow_epoch_;
  std::vector<double> residual_;
  std::vector<std::int32_t> unfixed_;
  std::vector<double> new_rate_;
  std::vector<LinkId> component_links_;
  std::vector<FlowId> component_flows_;
  std::vector<FillEntry> fill_heap_;
  std::uint32_t epoch_ = 0;
  bool recompute_scheduled_ = false;
  des::EventHandle recompute_event_;

  // Flows still transferring, by (transfer end, flow id): an indexed binary heap.
  std::vector<FlowId> end_heap_;
  std::vector<std::int32_t> end_heap_pos_;  // per flow, -1 when absent
  std::vector<std::int64_t> end_ns_;        // per flow
  des::EventHandle end_event_;
  std::int64_t end_event_ns_ = -1;

  NetworkStats stats_;
  std::function<void()> observer_;
};

}  // namespace aif::net
