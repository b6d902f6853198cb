#include "aifactory/net/network.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "aifactory/core/check.h"

namespace aif::net {
namespace {

// Relative slack allowed when checking rates against capacity (float rounding of the filling).
constexpr double kCapacityTolerance = 1e-9;

}  // namespace

Network::Network(des::Simulator* simulator, Topology topology, NetworkOptions options)
    : simulator_(simulator), topology_(std::move(topology)), router_(&topology_), options_(options) {
  const auto links = static_cast<std::size_t>(topology_.link_count());
  links_.resize(links);
  link_stats_.resize(links);
  for (LinkId l = 0; l < topology_.link_count(); ++l) {
    links_[static_cast<std::size_t>(l)].capacity = topology_.link(l).usable_capacity().value();
    links_[static_cast<std::size_t>(l)].latency = topology_.link(l).latency;
  }
  if (options_.routing == RoutingPolicy::kAdaptive) router_.SetAdaptive(&flows_per_link_);
}

Result<FlowId> Network::StartFlow(NodeId src, NodeId dst, Bytes bytes,
                                  CompletionCallback on_complete, FlowOptions options) {
  if (!(bytes.value() >= 0) || !std::isfinite(bytes.value())) {
    return InvalidArgument(fmt::format("flow {} -> {}: bytes must be non-negative and finite (got {})",
                                       topology_.NodeName(src), topology_.NodeName(dst), bytes.value()));
  }
  if (!(options.extra_latency.value() >= 0) || !std::isfinite(options.extra_latency.value())) {
    return InvalidArgument(fmt::format("flow {} -> {}: extra latency must be non-negative and finite (got {} s)",
                                       topology_.NodeName(src), topology_.NodeName(dst),
                                       options.extra_latency.value()));
  }
  AIF_CHECK_MSG(slot_of_.size() < static_cast<std::size_t>(std::numeric_limits<FlowId>::max()),
                "more flows than a FlowId counts");
  const auto id = static_cast<FlowId>(slot_of_.size());
  const std::uint64_t entropy = options.ecmp_entropy.value_or(static_cast<std::uint64_t>(id));
  if (Status routed = router_.Route(src, dst, entropy, &route_scratch_); !routed.ok()) {
    return routed.WithContext(fmt::format("flow {}: ", id));
  }

  const des::SimTime now = simulator_->Now();
  const Slot s = AcquireSlot(id);
  FlowSlot& flow = slots_[static_cast<std::size_t>(s)];
  flow.SetPath(route_scratch_);
  FlowRecord& record = flow.record;
  record = FlowRecord{};
  record.id = id;
  record.src = src;
  record.dst = dst;
  record.bytes = bytes;
  record.start = now;
  record.latency = options.extra_latency;
  for (LinkId l : flow.path()) __builtin_prefetch(&links_[static_cast<std::size_t>(l)]);
  for (LinkId l : flow.path()) record.latency += links_[static_cast<std::size_t>(l)].latency;
  ++stats_.flows_started;
  stats_.bytes_started += bytes;

  flow.on_complete = std::move(on_complete);
  flow.entropy = entropy;
  flow.extra_latency = options.extra_latency;
  flow.last_settled = now;
  flow.rate = 0;
  flow.credited = 0;
  if (bytes.value() == 0) {
    flow.remaining = 0;
    flow.transferring = false;
    record.transfer_end = now;
    simulator_->Schedule(now + des::SimTime::FromSeconds(record.latency), [this, s] { Deliver(s); });
  } else {
    flow.remaining = bytes.value();
    flow.transferring = true;
    AttachToLinks(s);
  }
  return id;
}

std::size_t Network::SlotOf(FlowId id) const {
  AIF_CHECK_MSG(id >= 0 && static_cast<std::size_t>(id) < slot_of_.size(), "no such flow");
  const std::int32_t s = slot_of_[static_cast<std::size_t>(id)];
  AIF_CHECK_MSG(s >= 0, "the flow has completed and its state was recycled "
                        "(NetworkOptions::keep_completed_flows is off)");
  return static_cast<std::size_t>(s);
}

void Network::FlowSlot::SetPath(const Path& path) {
  hops = static_cast<std::int32_t>(path.size());
  shared = 0;
  if (path.size() <= kInlineHops) {
    std::copy(path.begin(), path.end(), link_inline.begin());
  } else {
    link_more = path;
    at_more.resize(path.size());
  }
}

Network::Slot Network::AcquireSlot(FlowId id) {
  Slot s;
  if (!free_slots_.empty()) {
    s = free_slots_.back();
    free_slots_.pop_back();
  } else {
    s = static_cast<Slot>(slots_.size());
    slots_.emplace_back();
    slot_flow_.push_back(0);
    end_heap_pos_.push_back(-1);
  }
  slot_flow_[static_cast<std::size_t>(s)] = id;
  slot_of_.push_back(s);
  return s;
}

void Network::FlowSlot::TakeCap(LinkId link, double capacity) {
  if (capacity < cap || (capacity == cap && link < cap_link)) {
    cap = capacity;
    cap_link = link;
  }
}

void Network::SetCap(FlowSlot& flow) {
  flow.ResetCap();
  for (LinkId l : flow.path()) flow.TakeCap(l, links_[static_cast<std::size_t>(l)].capacity);
}

// A flow that finds every link of its path empty takes the path's smallest capacity at once:
// that is its max-min rate (nothing shares its links), and no other flow's rate changes, so no
// recomputation is needed. Otherwise the links it shares are marked for the recomputation at the
// end of this instant, which reaches the flow and its other links through them. Either way the
// shared-hop bits of the flow, and of a flow it is the first to join, are kept up to date.
void Network::AttachToLinks(Slot s) {
  FlowSlot& flow = slots_[static_cast<std::size_t>(s)];
  const std::span<const LinkId> path = flow.path();
  std::int32_t* at = flow.at();
  const std::int64_t now = simulator_->Now().ns();
  // The links are scattered over a large array: ask for all of them before touching the first.
  for (LinkId l : path) __builtin_prefetch(&links_[static_cast<std::size_t>(l)]);
  bool alone = true;
  flow.ResetCap();
  for (std::size_t hop = 0; hop < path.size(); ++hop) {
    const auto l = static_cast<std::size_t>(path[hop]);
    flow.TakeCap(path[hop], links_[l].capacity);
    std::vector<FlowHop>& on_link = links_[l].flows;
    if (on_link.empty()) {
      link_stats_[l].busy_since_ns = now;
    } else {
      alone = false;
      MarkDirty(path[hop]);
      SetShared(flow, static_cast<int>(hop), true);
      if (on_link.size() == 1) {
        SetShared(slots_[static_cast<std::size_t>(on_link[0].slot)], on_link[0].hop, true);
      }
    }
    at[hop] = static_cast<std::int32_t>(on_link.size());
    on_link.push_back(FlowHop{s, static_cast<std::int32_t>(hop)});
  }
  if (alone) {
    // As Recompute would set it (a flow alone on its links gets exactly this; see there).
    flow.rate = flow.cap;
    const double ns = std::ceil(flow.remaining / flow.rate * 1e9);
    AIF_CHECK_MSG(ns < 4e18, "flow transfer end beyond the simulated time range");
    SetTransferEnd(s, now + static_cast<std::int64_t>(ns));
    ScheduleNextTransferEnd();
    ++stats_.direct_rates;
  }
}

void Network::DetachFromLinks(Slot s) {
  FlowSlot& flow = slots_[static_cast<std::size_t>(s)];
  const std::span<const LinkId> path = flow.path();
  const std::int32_t* at = flow.at();
  const std::int64_t now = simulator_->Now().ns();
  for (LinkId l : path) __builtin_prefetch(&links_[static_cast<std::size_t>(l)]);
  for (std::size_t hop = 0; hop < path.size(); ++hop) {
    const auto l = static_cast<std::size_t>(path[hop]);
    std::vector<FlowHop>& on_link = links_[l].flows;
    const auto index = static_cast<std::size_t>(at[hop]);
    const FlowHop moved = on_link.back();
    on_link[index] = moved;
    slots_[static_cast<std::size_t>(moved.slot)].at()[moved.hop] = static_cast<std::int32_t>(index);
    on_link.pop_back();
    if (on_link.empty()) {
      link_stats_[l].busy_ns += now - link_stats_[l].busy_since_ns;
    } else {
      if (on_link.size() == 1) {
        const Slot left = on_link[0].slot;
        FlowSlot& other = slots_[static_cast<std::size_t>(left)];
        SetShared(other, on_link[0].hop, false);
        if (other.shared == 0 && other.hops <= 64) {
          // Alone on its whole path now: its rate is the path's capacity, as a recomputation
          // would find, and nobody else's changes.
          TakeAloneRate(left);
          continue;
        }
      }
      MarkDirty(path[hop]);  // the flows left on it may speed up
    }
  }
}

void Network::TakeAloneRate(Slot s) {
  FlowSlot& flow = slots_[static_cast<std::size_t>(s)];
  Settle(s);
  ++stats_.direct_rates;
  if (flow.rate == flow.cap && end_heap_pos_[static_cast<std::size_t>(s)] >= 0) return;
  flow.rate = flow.cap;
  const double ns = flow.remaining > 0 ? std::ceil(flow.remaining / flow.rate * 1e9) : 0.0;
  AIF_CHECK_MSG(ns < 4e18, "flow transfer end beyond the simulated time range");
  SetTransferEnd(s, simulator_->Now().ns() + static_cast<std::int64_t>(ns));
  ScheduleNextTransferEnd();
}

void Network::MarkDirty(LinkId link) {
  const auto l = static_cast<std::size_t>(link);
  if (!links_[l].dirty) {
    links_[l].dirty = true;
    dirty_links_.push_back(link);
  }
  if (!recompute_scheduled_) {
    // Deferred to the end of the current instant, so that many flows starting at once cost one
    // recomputation.
    recompute_scheduled_ = true;
    recompute_event_ = simulator_->Schedule(simulator_->Now(), [this] {
      recompute_scheduled_ = false;
      Recompute();
    });
  }
}

void Network::Settle(Slot s) {
  FlowSlot& flow = slots_[static_cast<std::size_t>(s)];
  const des::SimTime now = simulator_->Now();
  const std::int64_t dt = (now - flow.last_settled).ns();
  if (dt > 0 && flow.rate > 0 && flow.remaining > 0) {
    const double delta = std::min(flow.remaining, flow.rate * static_cast<double>(dt) * 1e-9);
    flow.remaining -= delta;  // the links are credited when the flow ends or moves
  }
  flow.last_settled = now;
}

// Max-min fair rates by progressive filling, restricted to the flows connected (through shared
// links) to a link that changed. See docs/network.md for the argument and the complexity.
void Network::Recompute() {
  if (recompute_scheduled_) {
    simulator_->Cancel(recompute_event_);
    recompute_scheduled_ = false;
  }
  if (dirty_links_.empty()) {
    ScheduleNextTransferEnd();
    return;
  }
  if (++epoch_ == 0) {  // wrapped: restart the stamps
    for (LinkState& link : links_) link.epoch = 0;
    for (FlowSlot& flow : slots_) flow.epoch = 0;
    epoch_ = 1;
  }
  // 1. The component: breadth-first over link -> flows on it -> links of those flows.
  component_links_.clear();
  component_flows_.clear();
  for (LinkId l : dirty_links_) {
    links_[static_cast<std::size_t>(l)].dirty = false;
    if (links_[static_cast<std::size_t>(l)].epoch != epoch_) {
      links_[static_cast<std::size_t>(l)].epoch = epoch_;
      component_links_.push_back(l);
    }
  }
  dirty_links_.clear();
  for (std::size_t i = 0; i < component_links_.size(); ++i) {
    const std::vector<FlowHop>& on_link = links_[static_cast<std::size_t>(component_links_[i])].flows;
    for (const FlowHop& fh : on_link) __builtin_prefetch(&slots_[static_cast<std::size_t>(fh.slot)]);
    for (const FlowHop& fh : on_link) {
      const auto f = static_cast<std::size_t>(fh.slot);
      FlowSlot& flow = slots_[f];
      if (flow.epoch == epoch_) continue;
      flow.epoch = epoch_;
      component_flows_.push_back(fh.slot);
      // Only shared links lead to other flows; the flow's single links are its own.
      const std::span<const LinkId> path = flow.path();
      ForSharedHops(flow, [&](int hop) {
        const LinkId m = path[static_cast<std::size_t>(hop)];
        LinkState& reached = links_[static_cast<std::size_t>(m)];
        if (reached.epoch == epoch_) return;
        reached.epoch = epoch_;
        __builtin_prefetch(reached.flows.data());  // read when the search gets to it
        component_links_.push_back(m);
      });
    }
  }
  if (component_flows_.empty()) {
    ScheduleNextTransferEnd();
    return;
  }

  // 2. Bytes sent so far at the old rates.
  for (Slot f : component_flows_) {
    Settle(f);
    slots_[static_cast<std::size_t>(f)].new_rate = -1;  // not fixed yet
  }

  // 3. Progressive filling: raise every unfixed flow's rate together; the link whose fair share
  // (residual / unfixed flows) is smallest saturates first and fixes its flows at that share.
  // Fixing a flow at the current level never lowers another link's share (the level is at most
  // that share), so heap keys are lower bounds: an entry whose link's share has risen since it
  // was pushed is pushed again with the new share when it reaches the top (lazy re-keying; one
  // entry per link at any time).
  // Order on (share, link, slot), descending.
  auto later = [](const FillEntry& a, const FillEntry& b) {
    if (a.share != b.share) return a.share > b.share;
    return a.link != b.link ? a.link > b.link : a.slot > b.slot;
  };
  // Fixes a flow at `rate` and takes it out of its shared links (its single links are never
  // read: they are not in the heap).
  auto fix = [this](FlowSlot& flow, double rate) {
    flow.new_rate = rate;
    const std::span<const LinkId> path = flow.path();
    ForSharedHops(flow, [&](int hop) {
      LinkState& state = links_[static_cast<std::size_t>(path[static_cast<std::size_t>(hop)])];
      state.residual = std::max(0.0, state.residual - rate);
      --state.unfixed;
    });
  };
  // Two shortcuts leave the result exactly that of filling over every link:
  // - A flow alone on every link of its path is fixed first at its path's smallest capacity: the
  //   filling would give it exactly that (its links' shares are their capacities, untouched by
  //   any other flow, and every level before its bottleneck's is at most that capacity).
  // - The links that carry one flow stay out of the heap: such a link's share is its capacity
  //   and never changes, so of them only the flow's smallest can fix it, and one entry per flow,
  //   keyed by its path's smallest (capacity, link id), stands for all of them. When that link
  //   is a shared one, its share is below its capacity (another flow takes some of it), so the
  //   link fixes the flow before the entry comes up.
  fill_heap_.clear();
  for (Slot f : component_flows_) {
    FlowSlot& flow = slots_[static_cast<std::size_t>(f)];
    if (flow.shared == 0 && flow.hops <= 64) {
      flow.new_rate = flow.cap;
    } else {
      fill_heap_.push_back(FillEntry{flow.cap, flow.cap_link, f});
    }
  }
  for (LinkId link : component_links_) {
    LinkState& state = links_[static_cast<std::size_t>(link)];
    state.residual = state.capacity;
    state.unfixed = static_cast<std::int32_t>(state.flows.size());
    if (state.unfixed > 1) fill_heap_.push_back(FillEntry{state.residual / state.unfixed, link});
  }
  // The entries in descending order, so that the smallest is at the back; a re-keyed entry goes
  // back in at its place. Keys are unique (one entry per link, one per flow), so this takes them
  // in exactly the order a heap would, at a fraction of the cost for the small sets a
  // recomputation sees.
  std::sort(fill_heap_.begin(), fill_heap_.end(), later);
  double level = 0;
  while (!fill_heap_.empty()) {
    const FillEntry top = fill_heap_.back();
    fill_heap_.pop_back();
    if (top.slot >= 0) {
      FlowSlot& flow = slots_[static_cast<std::size_t>(top.slot)];
      if (flow.new_rate >= 0) continue;
      level = std::max(level, top.share);
      fix(flow, level);
      continue;
    }
    LinkState& state = links_[static_cast<std::size_t>(top.link)];
    if (state.unfixed == 0) continue;
    const double share = state.residual / state.unfixed;
    if (share > top.share) {
      const FillEntry again{share, top.link};
      fill_heap_.insert(std::upper_bound(fill_heap_.begin(), fill_heap_.end(), again, later), again);
      continue;
    }
    // Levels only rise; clamp float dust so that no flow gets less than an earlier bottleneck.
    level = std::max(level, share);
    for (const FlowHop& fh : state.flows) {
      FlowSlot& flow = slots_[static_cast<std::size_t>(fh.slot)];
      if (flow.new_rate < 0) fix(flow, level);
    }
  }

  // 4. New rates and transfer ends.
  const std::int64_t now = simulator_->Now().ns();
  for (Slot f : component_flows_) {
    FlowSlot& flow = slots_[static_cast<std::size_t>(f)];
    AIF_CHECK_MSG(flow.new_rate > 0, "max-min filling left a flow without rate");
    // A flow whose rate did not change keeps its transfer end (recomputing it from the settled
    // bytes could only add rounding).
    if (flow.new_rate == flow.rate && end_heap_pos_[static_cast<std::size_t>(f)] >= 0) continue;
    flow.rate = flow.new_rate;
    double ns = flow.remaining > 0 ? std::ceil(flow.remaining / flow.rate * 1e9) : 0.0;
    AIF_CHECK_MSG(ns < 4e18, "flow transfer end beyond the simulated time range");
    SetTransferEnd(f, now + static_cast<std::int64_t>(ns));
  }
  ScheduleNextTransferEnd();

  ++stats_.recomputations;
  stats_.flow_rate_updates += component_flows_.size();
  stats_.max_component_flows =
      std::max<std::uint64_t>(stats_.max_component_flows, component_flows_.size());
  if (observer_) observer_();
}

// ---------------------------------------------------------------- transfer-end heap

// Heap entries carry their keys, so sifting reads only the heap; each move updates the moved
// slot's position.
void Network::SetTransferEnd(Slot f, std::int64_t end_ns) {
  const EndEntry entry{end_ns, slot_flow_[static_cast<std::size_t>(f)], f};
  auto place = [this](std::size_t i, const EndEntry& e) {
    end_heap_[i] = e;
    end_heap_pos_[static_cast<std::size_t>(e.slot)] = static_cast<std::int32_t>(i);
  };
  std::int32_t pos = end_heap_pos_[static_cast<std::size_t>(f)];
  if (pos < 0) {
    pos = static_cast<std::int32_t>(end_heap_.size());
    end_heap_.push_back(entry);
  }
  // A 4-ary heap: half the depth of a binary one, and a node's children share a cache line.
  constexpr std::size_t kArity = 4;
  auto i = static_cast<std::size_t>(pos);
  // Sift up, then down (the key may have moved either way).
  while (i > 0) {
    std::size_t parent = (i - 1) / kArity;
    if (!(entry < end_heap_[parent])) break;
    place(i, end_heap_[parent]);
    i = parent;
  }
  const std::size_t n = end_heap_.size();
  while (true) {
    const std::size_t first = kArity * i + 1;
    if (first >= n) break;
    std::size_t child = first;
    const std::size_t last = std::min(n, first + kArity);
    for (std::size_t c = first + 1; c < last; ++c) {
      if (end_heap_[c] < end_heap_[child]) child = c;
    }
    if (!(end_heap_[child] < entry)) break;
    place(i, end_heap_[child]);
    i = child;
  }
  place(i, entry);
}

void Network::RemoveFromEndHeap(Slot f) {
  const std::int32_t pos = end_heap_pos_[static_cast<std::size_t>(f)];
  if (pos < 0) return;
  end_heap_pos_[static_cast<std::size_t>(f)] = -1;
  const EndEntry last = end_heap_.back();
  end_heap_.pop_back();
  if (last.slot == f) return;
  // The last entry takes the removed one's place and sifts from there.
  end_heap_[static_cast<std::size_t>(pos)] = last;
  end_heap_pos_[static_cast<std::size_t>(last.slot)] = pos;
  SetTransferEnd(last.slot, last.end_ns);
}

void Network::ScheduleNextTransferEnd() {
  if (end_heap_.empty()) {
    if (end_event_ns_ >= 0) simulator_->Cancel(end_event_);
    end_event_ns_ = -1;
    return;
  }
  const std::int64_t next = end_heap_.front().end_ns;
  if (end_event_ns_ == next) return;
  if (end_event_ns_ >= 0) simulator_->Cancel(end_event_);
  end_event_ns_ = next;
  end_event_ = simulator_->Schedule(des::SimTime::Nanoseconds(next), [this] { OnTransferEnd(); });
}

void Network::OnTransferEnd() {
  end_event_ns_ = -1;
  const des::SimTime now = simulator_->Now();
  while (!end_heap_.empty() && end_heap_.front().end_ns <= now.ns()) {
    const Slot f = end_heap_.front().slot;
    RemoveFromEndHeap(f);
    Settle(f);
    FlowSlot& flow = slots_[static_cast<std::size_t>(f)];
    // The transfer end was rounded up to a nanosecond; what float rounding left is sent now.
    flow.remaining = 0;
    const double sent = flow.record.bytes.value() - flow.credited;
    for (LinkId l : flow.path()) link_stats_[static_cast<std::size_t>(l)].carried += sent;
    flow.rate = 0;
    flow.transferring = false;
    DetachFromLinks(f);
    FlowRecord& record = flow.record;
    record.transfer_end = now;
    // Flows of this batch delivered at the same time share one event, in the order they left
    // the heap: exactly the order one event each would run them in (nothing else is scheduled
    // for that time in between).
    const std::int64_t at = (now + des::SimTime::FromSeconds(record.latency)).ns();
    std::int32_t group = -1;
    for (std::int32_t g : batch_groups_) {
      if (delivery_groups_[static_cast<std::size_t>(g)].at_ns == at) group = g;
    }
    if (group < 0) {
      if (free_groups_.empty()) {
        group = static_cast<std::int32_t>(delivery_groups_.size());
        delivery_groups_.emplace_back();
      } else {
        group = free_groups_.back();
        free_groups_.pop_back();
      }
      delivery_groups_[static_cast<std::size_t>(group)].at_ns = at;
      batch_groups_.push_back(group);
      simulator_->Schedule(des::SimTime::Nanoseconds(at), [this, group] { DeliverGroup(group); });
    }
    delivery_groups_[static_cast<std::size_t>(group)].slots.push_back(f);
  }
  batch_groups_.clear();
  Recompute();  // the flows that shared links with the finished ones
}

void Network::DeliverGroup(std::int32_t group) {
  delivering_.clear();
  delivering_.swap(delivery_groups_[static_cast<std::size_t>(group)].slots);
  free_groups_.push_back(group);
  for (Slot s : delivering_) Deliver(s);
}

void Network::Deliver(Slot s) {
  FlowSlot& flow = slots_[static_cast<std::size_t>(s)];
  FlowRecord& record = flow.record;
  record.finish = simulator_->Now();
  record.done = true;
  ++stats_.flows_completed;
  stats_.bytes_delivered += record.bytes;
  CompletionCallback callback = std::move(flow.on_complete);
  flow.on_complete = nullptr;
  const FlowRecord copy = record;  // the callback may start flows, reuse this slot, grow slots_
  if (options_.keep_completed_flows) {
  } else {
    slot_of_[static_cast<std::size_t>(copy.id)] = -1;
    free_slots_.push_back(s);
  }
  if (callback) callback(copy);
}

// ---------------------------------------------------------------- faults

Status Network::FailLink(LinkId link) {
  if (!topology_.valid_link(link)) {
    return InvalidArgument(fmt::format("fail link {}: no such link (the topology has {})", link,
                                       topology_.link_count()));
  }
  if (!topology_.link(link).up) return Status::Ok();
  topology_.SetLinkUp(link, false);
  router_.InvalidateCache();
  std::vector<Slot> affected;
  for (const FlowHop& fh : links_[static_cast<std::size_t>(link)].flows) affected.push_back(fh.slot);
  std::sort(affected.begin(), affected.end(), [this](Slot a, Slot b) {
    return slot_flow_[static_cast<std::size_t>(a)] < slot_flow_[static_cast<std::size_t>(b)];
  });
  std::vector<Path> new_paths;
  for (Slot f : affected) {
    const FlowSlot& flow = slots_[static_cast<std::size_t>(f)];
    const FlowRecord& r = flow.record;
    Result<Path> route = router_.Route(r.src, r.dst, flow.entropy);
    if (!route.ok()) {
      topology_.SetLinkUp(link, true);
      router_.InvalidateCache();
      return Status(route.status().code(),
                    fmt::format("cannot fail {}: flow {} has no other path ({})",
                                topology_.LinkName(link), r.id, route.status().message()));
    }
    new_paths.push_back(std::move(route).value());
  }
  for (std::size_t i = 0; i < affected.size(); ++i) {
    const Slot f = affected[i];
    FlowSlot& flow = slots_[static_cast<std::size_t>(f)];
    Settle(f);
    RemoveFromEndHeap(f);
    flow.rate = 0;  // until its rate is set again, at once or by the recomputation at this instant
    const double sent = flow.record.bytes.value() - flow.remaining;
    for (LinkId l : flow.path()) {
      link_stats_[static_cast<std::size_t>(l)].carried += sent - flow.credited;
    }
    flow.credited = sent;
    DetachFromLinks(f);
    flow.SetPath(new_paths[i]);
    AttachToLinks(f);
    FlowRecord& record = flow.record;
    record.latency = flow.extra_latency;
    for (LinkId l : flow.path()) record.latency += links_[static_cast<std::size_t>(l)].latency;
    ++record.reroutes;
    ++stats_.reroutes;
  }
  ScheduleNextTransferEnd();
  return Status::Ok();
}

Status Network::RestoreLink(LinkId link) {
  if (!topology_.valid_link(link)) {
    return InvalidArgument(fmt::format("restore link {}: no such link (the topology has {})", link,
                                       topology_.link_count()));
  }
  if (topology_.link(link).up) return Status::Ok();
  topology_.SetLinkUp(link, true);
  router_.InvalidateCache();
  return Status::Ok();
}

Status Network::ScaleLinkCapacity(LinkId link, double factor) {
  if (!topology_.valid_link(link)) {
    return InvalidArgument(fmt::format("scale link {}: no such link (the topology has {})", link,
                                       topology_.link_count()));
  }
  if (!(factor > 0) || !std::isfinite(factor)) {
    return InvalidArgument(fmt::format("scale {}: factor must be positive and finite (got {}); "
                                       "use FailLink for a dead link",
                                       topology_.LinkName(link), factor));
  }
  topology_.SetCapacityScale(link, factor);
  links_[static_cast<std::size_t>(link)].capacity = topology_.link(link).usable_capacity().value();
  for (const FlowHop& fh : links_[static_cast<std::size_t>(link)].flows) {
    SetCap(slots_[static_cast<std::size_t>(fh.slot)]);
  }
  MarkDirty(link);
  return Status::Ok();
}

// ---------------------------------------------------------------- queries

BytesPerSecond Network::FlowRate(FlowId id) const {
  AIF_CHECK_MSG(id >= 0 && static_cast<std::size_t>(id) < slot_of_.size(), "no such flow");
  const std::int32_t s = slot_of_[static_cast<std::size_t>(id)];
  if (s < 0) return BytesPerSecond(0.0);  // completed and recycled
  const FlowSlot& flow = slots_[static_cast<std::size_t>(s)];
  return BytesPerSecond(flow.transferring ? flow.rate : 0.0);
}

LinkUsage Network::link_usage(LinkId link) const {
  const auto l = static_cast<std::size_t>(link);
  const std::int64_t now = simulator_->Now().ns();
  double carried = link_stats_[l].carried;
  for (const FlowHop& fh : links_[l].flows) {
    // In progress: settled on this path so far, and since.
    const FlowSlot& flow = slots_[static_cast<std::size_t>(fh.slot)];
    const double dt = static_cast<double>((simulator_->Now() - flow.last_settled).ns()) * 1e-9;
    carried += flow.record.bytes.value() - flow.remaining - flow.credited;
    carried += std::min(flow.remaining, flow.rate * dt);
  }
  std::int64_t busy = link_stats_[l].busy_ns;
  if (!links_[l].flows.empty()) busy += now - link_stats_[l].busy_since_ns;
  return LinkUsage{Bytes(carried), Seconds(static_cast<double>(busy) * 1e-9)};
}

std::size_t Network::MemoryBytes() const {
  std::size_t bytes = topology_.MemoryBytes();
  bytes += slot_of_.capacity() * sizeof(std::int32_t);
  bytes += slots_.capacity() * sizeof(FlowSlot) + free_slots_.capacity() * sizeof(Slot);
  for (const FlowSlot& flow : slots_) {
    bytes += flow.link_more.capacity() * sizeof(LinkId) + flow.at_more.capacity() * sizeof(std::int32_t);
  }
  bytes += links_.capacity() * sizeof(LinkState) + link_stats_.capacity() * sizeof(LinkStats);
  for (const LinkState& link : links_) bytes += link.flows.capacity() * sizeof(FlowHop);
  bytes += slots_.size() * (sizeof(FlowId) + sizeof(std::int32_t)) +
           end_heap_.capacity() * sizeof(EndEntry);
  return bytes;
}

Status Network::CheckCapacity() const {
  for (LinkId link = 0; link < topology_.link_count(); ++link) {
    const auto l = static_cast<std::size_t>(link);
    if (links_[l].flows.empty()) continue;
    double sum = 0;
    for (const FlowHop& fh : links_[l].flows) sum += slots_[static_cast<std::size_t>(fh.slot)].rate;
    const double capacity = links_[static_cast<std::size_t>(link)].capacity;
    if (sum > capacity * (1 + kCapacityTolerance)) {
      return Internal(fmt::format("{} carries {} B/s, above its capacity {} B/s",
                                  topology_.LinkName(link), sum, capacity));
    }
  }
  if (!recompute_scheduled_) {
    for (std::size_t f = 0; f < slots_.size(); ++f) {
      if (slots_[f].transferring && !(slots_[f].rate > 0)) {
        return Internal(fmt::format("flow {} is transferring at rate 0", slot_flow_[f]));
      }
    }
  }
  return Status::Ok();
}

}  // namespace aif::net
