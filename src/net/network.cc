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

Network::Network(des::Simulator* simulator, Topology topology)
    : simulator_(simulator), topology_(std::move(topology)), router_(&topology_) {
  const auto links = static_cast<std::size_t>(topology_.link_count());
  link_flows_.resize(links);
  carried_.assign(links, 0.0);
  busy_ns_.assign(links, 0);
  busy_since_ns_.assign(links, 0);
  link_dirty_.assign(links, 0);
  link_epoch_.assign(links, 0);
  residual_.assign(links, 0.0);
  unfixed_.assign(links, 0);
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
  const auto id = static_cast<FlowId>(records_.size());
  const std::uint64_t entropy = options.ecmp_entropy.value_or(static_cast<std::uint64_t>(id));
  Result<Path> route = router_.Route(src, dst, entropy);
  if (!route.ok()) return route.status().WithContext(fmt::format("flow {}: ", id));

  const des::SimTime now = simulator_->Now();
  FlowRecord record;
  record.id = id;
  record.src = src;
  record.dst = dst;
  record.bytes = bytes;
  record.start = now;
  record.latency = options.extra_latency;
  for (LinkId l : *route) record.latency += topology_.link(l).latency;
  records_.push_back(record);
  paths_.push_back(std::move(route).value());
  active_.emplace_back();
  flow_epoch_.push_back(0);
  new_rate_.push_back(0);
  end_heap_pos_.push_back(-1);
  end_ns_.push_back(0);
  ++stats_.flows_started;
  stats_.bytes_started += bytes;

  ActiveFlow& flow = active_.back();
  flow.on_complete = std::move(on_complete);
  flow.entropy = entropy;
  flow.extra_latency = options.extra_latency;
  flow.last_settled = now;
  if (bytes.value() == 0) {
    records_.back().transfer_end = now;
    simulator_->Schedule(now + des::SimTime::FromSeconds(record.latency), [this, id] { Deliver(id); });
  } else {
    flow.remaining = bytes.value();
    flow.transferring = true;
    AttachToLinks(id);
  }
  return id;
}

void Network::AttachToLinks(FlowId f) {
  const Path& path = paths_[static_cast<std::size_t>(f)];
  ActiveFlow& flow = active_[static_cast<std::size_t>(f)];
  flow.slot_in_link.resize(path.size());
  const std::int64_t now = simulator_->Now().ns();
  for (std::size_t hop = 0; hop < path.size(); ++hop) {
    const auto l = static_cast<std::size_t>(path[hop]);
    std::vector<FlowHop>& on_link = link_flows_[l];
    if (on_link.empty()) busy_since_ns_[l] = now;
    flow.slot_in_link[hop] = static_cast<std::int32_t>(on_link.size());
    on_link.push_back(FlowHop{f, static_cast<std::int32_t>(hop)});
    MarkDirty(path[hop]);
  }
}

void Network::DetachFromLinks(FlowId f) {
  const Path& path = paths_[static_cast<std::size_t>(f)];
  ActiveFlow& flow = active_[static_cast<std::size_t>(f)];
  const std::int64_t now = simulator_->Now().ns();
  for (std::size_t hop = 0; hop < path.size(); ++hop) {
    const auto l = static_cast<std::size_t>(path[hop]);
    std::vector<FlowHop>& on_link = link_flows_[l];
    const auto slot = static_cast<std::size_t>(flow.slot_in_link[hop]);
    const FlowHop moved = on_link.back();
    on_link[slot] = moved;
    active_[static_cast<std::size_t>(moved.flow)].slot_in_link[static_cast<std::size_t>(moved.hop)] =
        static_cast<std::int32_t>(slot);
    on_link.pop_back();
    if (on_link.empty()) busy_ns_[l] += now - busy_since_ns_[l];
    MarkDirty(path[hop]);
  }
}

void Network::MarkDirty(LinkId link) {
  const auto l = static_cast<std::size_t>(link);
  if (!link_dirty_[l]) {
    link_dirty_[l] = 1;
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

void Network::Settle(FlowId f) {
  ActiveFlow& flow = active_[static_cast<std::size_t>(f)];
  const des::SimTime now = simulator_->Now();
  const std::int64_t dt = (now - flow.last_settled).ns();
  if (dt > 0 && flow.rate > 0 && flow.remaining > 0) {
    const double delta = std::min(flow.remaining, flow.rate * static_cast<double>(dt) * 1e-9);
    flow.remaining -= delta;
    for (LinkId l : paths_[static_cast<std::size_t>(f)]) carried_[static_cast<std::size_t>(l)] += delta;
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
  if (dirty_links_.empty()) return;
  if (++epoch_ == 0) {  // wrapped: restart the stamps
    std::fill(link_epoch_.begin(), link_epoch_.end(), 0);
    std::fill(flow_epoch_.begin(), flow_epoch_.end(), 0);
    epoch_ = 1;
  }
  // 1. The component: breadth-first over link -> flows on it -> links of those flows.
  component_links_.clear();
  component_flows_.clear();
  for (LinkId l : dirty_links_) {
    link_dirty_[static_cast<std::size_t>(l)] = 0;
    if (link_epoch_[static_cast<std::size_t>(l)] != epoch_) {
      link_epoch_[static_cast<std::size_t>(l)] = epoch_;
      component_links_.push_back(l);
    }
  }
  dirty_links_.clear();
  for (std::size_t i = 0; i < component_links_.size(); ++i) {
    for (const FlowHop& fh : link_flows_[static_cast<std::size_t>(component_links_[i])]) {
      const auto f = static_cast<std::size_t>(fh.flow);
      if (flow_epoch_[f] == epoch_) continue;
      flow_epoch_[f] = epoch_;
      component_flows_.push_back(fh.flow);
      for (LinkId m : paths_[f]) {
        if (link_epoch_[static_cast<std::size_t>(m)] == epoch_) continue;
        link_epoch_[static_cast<std::size_t>(m)] = epoch_;
        component_links_.push_back(m);
      }
    }
  }
  if (component_flows_.empty()) {
    ScheduleNextTransferEnd();
    return;
  }

  // 2. Bytes sent so far at the old rates.
  for (FlowId f : component_flows_) {
    Settle(f);
    new_rate_[static_cast<std::size_t>(f)] = -1;  // not fixed yet
  }

  // 3. Progressive filling: raise every unfixed flow's rate together; the link whose fair share
  // (residual / unfixed flows) is smallest saturates first and fixes its flows at that share.
  // Fixing a flow at the current level never lowers another link's share (the level is at most
  // that share), so heap keys are lower bounds: an entry whose link's share has risen since it
  // was pushed is pushed again with the new share when it reaches the top (lazy re-keying; one
  // entry per link at any time).
  auto later = [](const FillEntry& a, const FillEntry& b) {  // min-heap on (share, link id)
    return a.share != b.share ? a.share > b.share : a.link > b.link;
  };
  fill_heap_.clear();
  for (LinkId link : component_links_) {
    const auto l = static_cast<std::size_t>(link);
    residual_[l] = topology_.link(link).usable_capacity().value();
    unfixed_[l] = static_cast<std::int32_t>(link_flows_[l].size());
    if (unfixed_[l] > 0) fill_heap_.push_back(FillEntry{residual_[l] / unfixed_[l], link});
  }
  std::make_heap(fill_heap_.begin(), fill_heap_.end(), later);
  double level = 0;
  while (!fill_heap_.empty()) {
    std::pop_heap(fill_heap_.begin(), fill_heap_.end(), later);
    const FillEntry top = fill_heap_.back();
    fill_heap_.pop_back();
    const auto l = static_cast<std::size_t>(top.link);
    if (unfixed_[l] == 0) continue;
    const double share = residual_[l] / unfixed_[l];
    if (share > top.share) {
      fill_heap_.push_back(FillEntry{share, top.link});
      std::push_heap(fill_heap_.begin(), fill_heap_.end(), later);
      continue;
    }
    // Levels only rise; clamp float dust so that no flow gets less than an earlier bottleneck.
    level = std::max(level, share);
    for (const FlowHop& fh : link_flows_[l]) {
      const auto f = static_cast<std::size_t>(fh.flow);
      if (new_rate_[f] >= 0) continue;
      new_rate_[f] = level;
      for (LinkId other : paths_[f]) {
        const auto m = static_cast<std::size_t>(other);
        residual_[m] = std::max(0.0, residual_[m] - level);
        --unfixed_[m];
      }
    }
  }

  // 4. New rates and transfer ends.
  const std::int64_t now = simulator_->Now().ns();
  for (FlowId f : component_flows_) {
    ActiveFlow& flow = active_[static_cast<std::size_t>(f)];
    flow.rate = new_rate_[static_cast<std::size_t>(f)];
    AIF_CHECK_MSG(flow.rate > 0, "max-min filling left a flow without rate");
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

void Network::SetTransferEnd(FlowId f, std::int64_t end_ns) {
  auto less = [this](FlowId a, FlowId b) {
    std::int64_t ea = end_ns_[static_cast<std::size_t>(a)];
    std::int64_t eb = end_ns_[static_cast<std::size_t>(b)];
    return ea != eb ? ea < eb : a < b;
  };
  auto place = [this](std::size_t i, FlowId g) {
    end_heap_[i] = g;
    end_heap_pos_[static_cast<std::size_t>(g)] = static_cast<std::int32_t>(i);
  };
  end_ns_[static_cast<std::size_t>(f)] = end_ns;
  std::int32_t pos = end_heap_pos_[static_cast<std::size_t>(f)];
  if (pos < 0) {
    pos = static_cast<std::int32_t>(end_heap_.size());
    end_heap_.push_back(f);
    end_heap_pos_[static_cast<std::size_t>(f)] = pos;
  }
  auto i = static_cast<std::size_t>(pos);
  // Sift up, then down (the key may have moved either way).
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!less(f, end_heap_[parent])) break;
    place(i, end_heap_[parent]);
    i = parent;
  }
  while (true) {
    std::size_t child = 2 * i + 1;
    if (child >= end_heap_.size()) break;
    if (child + 1 < end_heap_.size() && less(end_heap_[child + 1], end_heap_[child])) ++child;
    if (!less(end_heap_[child], f)) break;
    place(i, end_heap_[child]);
    i = child;
  }
  place(i, f);
}

void Network::RemoveFromEndHeap(FlowId f) {
  if (end_heap_pos_[static_cast<std::size_t>(f)] < 0) return;
  const std::int64_t key = end_ns_[static_cast<std::size_t>(f)];
  SetTransferEnd(f, std::numeric_limits<std::int64_t>::min());  // now the root
  end_ns_[static_cast<std::size_t>(f)] = key;
  const FlowId last = end_heap_.back();
  end_heap_.pop_back();
  end_heap_pos_[static_cast<std::size_t>(f)] = -1;
  if (last != f) {
    end_heap_[0] = last;
    end_heap_pos_[static_cast<std::size_t>(last)] = 0;
    SetTransferEnd(last, end_ns_[static_cast<std::size_t>(last)]);  // sifts it down
  }
}

void Network::ScheduleNextTransferEnd() {
  if (end_heap_.empty()) {
    if (end_event_ns_ >= 0) simulator_->Cancel(end_event_);
    end_event_ns_ = -1;
    return;
  }
  const std::int64_t next = end_ns_[static_cast<std::size_t>(end_heap_.front())];
  if (end_event_ns_ == next) return;
  if (end_event_ns_ >= 0) simulator_->Cancel(end_event_);
  end_event_ns_ = next;
  end_event_ = simulator_->Schedule(des::SimTime::Nanoseconds(next), [this] { OnTransferEnd(); });
}

void Network::OnTransferEnd() {
  end_event_ns_ = -1;
  const des::SimTime now = simulator_->Now();
  while (!end_heap_.empty() && end_ns_[static_cast<std::size_t>(end_heap_.front())] <= now.ns()) {
    const FlowId f = end_heap_.front();
    RemoveFromEndHeap(f);
    Settle(f);
    ActiveFlow& flow = active_[static_cast<std::size_t>(f)];
    // The transfer end was rounded up to a nanosecond; what float rounding left is sent now.
    if (flow.remaining > 0) {
      for (LinkId l : paths_[static_cast<std::size_t>(f)]) carried_[static_cast<std::size_t>(l)] += flow.remaining;
      flow.remaining = 0;
    }
    flow.rate = 0;
    flow.transferring = false;
    DetachFromLinks(f);
    FlowRecord& record = records_[static_cast<std::size_t>(f)];
    record.transfer_end = now;
    simulator_->Schedule(now + des::SimTime::FromSeconds(record.latency), [this, f] { Deliver(f); });
  }
  Recompute();  // the flows that shared links with the finished ones
}

void Network::Deliver(FlowId f) {
  FlowRecord& record = records_[static_cast<std::size_t>(f)];
  record.finish = simulator_->Now();
  record.done = true;
  ++stats_.flows_completed;
  stats_.bytes_delivered += record.bytes;
  ActiveFlow& flow = active_[static_cast<std::size_t>(f)];
  CompletionCallback callback = std::move(flow.on_complete);
  flow.on_complete = nullptr;
  std::vector<std::int32_t>().swap(flow.slot_in_link);
  if (callback) {
    const FlowRecord copy = record;  // the callback may start flows and grow records_
    callback(copy);
  }
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
  std::vector<FlowId> affected;
  for (const FlowHop& fh : link_flows_[static_cast<std::size_t>(link)]) affected.push_back(fh.flow);
  std::sort(affected.begin(), affected.end());
  std::vector<Path> new_paths;
  for (FlowId f : affected) {
    const FlowRecord& r = records_[static_cast<std::size_t>(f)];
    Result<Path> route = router_.Route(r.src, r.dst, active_[static_cast<std::size_t>(f)].entropy);
    if (!route.ok()) {
      topology_.SetLinkUp(link, true);
      router_.InvalidateCache();
      return Status(route.status().code(),
                    fmt::format("cannot fail {}: flow {} has no other path ({})",
                                topology_.LinkName(link), f, route.status().message()));
    }
    new_paths.push_back(std::move(route).value());
  }
  for (std::size_t i = 0; i < affected.size(); ++i) {
    const FlowId f = affected[i];
    const auto fi = static_cast<std::size_t>(f);
    Settle(f);
    DetachFromLinks(f);
    paths_[fi] = std::move(new_paths[i]);
    AttachToLinks(f);
    active_[fi].rate = 0;  // until the recomputation at this instant
    RemoveFromEndHeap(f);
    FlowRecord& record = records_[fi];
    record.latency = active_[fi].extra_latency;
    for (LinkId l : paths_[fi]) record.latency += topology_.link(l).latency;
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
  MarkDirty(link);
  return Status::Ok();
}

// ---------------------------------------------------------------- queries

BytesPerSecond Network::FlowRate(FlowId id) const {
  const ActiveFlow& flow = active_[static_cast<std::size_t>(id)];
  return BytesPerSecond(flow.transferring ? flow.rate : 0.0);
}

LinkUsage Network::link_usage(LinkId link) const {
  const auto l = static_cast<std::size_t>(link);
  const std::int64_t now = simulator_->Now().ns();
  double carried = carried_[l];
  for (const FlowHop& fh : link_flows_[l]) {
    const ActiveFlow& flow = active_[static_cast<std::size_t>(fh.flow)];
    const double dt = static_cast<double>((simulator_->Now() - flow.last_settled).ns()) * 1e-9;
    carried += std::min(flow.remaining, flow.rate * dt);
  }
  std::int64_t busy = busy_ns_[l];
  if (!link_flows_[l].empty()) busy += now - busy_since_ns_[l];
  return LinkUsage{Bytes(carried), Seconds(static_cast<double>(busy) * 1e-9)};
}

std::size_t Network::MemoryBytes() const {
  std::size_t bytes = topology_.MemoryBytes();
  bytes += records_.capacity() * sizeof(FlowRecord) + active_.capacity() * sizeof(ActiveFlow);
  bytes += paths_.capacity() * sizeof(Path);
  for (std::size_t f = 0; f < paths_.size(); ++f) {
    bytes += paths_[f].capacity() * sizeof(LinkId);
    bytes += active_[f].slot_in_link.capacity() * sizeof(std::int32_t);
  }
  bytes += link_flows_.capacity() * sizeof(std::vector<FlowHop>);
  for (const auto& on_link : link_flows_) bytes += on_link.capacity() * sizeof(FlowHop);
  const std::size_t links = link_flows_.size();
  bytes += links * (sizeof(double) * 2 + sizeof(std::int64_t) * 2 + sizeof(std::uint8_t) +
                    sizeof(std::uint32_t) + sizeof(std::int32_t));
  bytes += records_.size() * (sizeof(std::uint32_t) + sizeof(double) + sizeof(std::int32_t) +
                              sizeof(std::int64_t));
  return bytes;
}

Status Network::CheckCapacity() const {
  for (LinkId link = 0; link < topology_.link_count(); ++link) {
    const auto l = static_cast<std::size_t>(link);
    if (link_flows_[l].empty()) continue;
    double sum = 0;
    for (const FlowHop& fh : link_flows_[l]) sum += active_[static_cast<std::size_t>(fh.flow)].rate;
    const double capacity = topology_.link(link).usable_capacity().value();
    if (sum > capacity * (1 + kCapacityTolerance)) {
      return Internal(fmt::format("{} carries {} B/s, above its capacity {} B/s",
                                  topology_.LinkName(link), sum, capacity));
    }
  }
  if (!recompute_scheduled_) {
    for (std::size_t f = 0; f < active_.size(); ++f) {
      if (active_[f].transferring && !(active_[f].rate > 0)) {
        return Internal(fmt::format("flow {} is transferring at rate 0", f));
      }
    }
  }
  return Status::Ok();
}

}  // namespace aif::net
