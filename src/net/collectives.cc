#include "aifactory/net/collectives.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "aifactory/core/check.h"

namespace aif::net {
namespace {

// ---------------------------------------------------------------- the group's shape

// The ranks grouped by NVLink domain: domains in order of their first rank, ranks in group order.
struct GroupShape {
  std::vector<std::vector<int>> domains;  // rank indices
  int ranks_per_domain = 0;               // 0 when domains hold different numbers of ranks
  int size() const {
    int n = 0;
    for (const auto& d : domains) n += static_cast<int>(d.size());
    return n;
  }
  bool spans_domains() const { return domains.size() > 1; }
};

// A GPU's NVLink domain as the builders lay it out: (site, domain index), or a key of its own for
// a node outside any domain (hand-built graphs, fabrics without NVLink).
std::int64_t DomainKey(const Topology& t, NodeId node) {
  const int s = t.SiteOfGpu(node);
  if (s >= 0) {
    const SiteLayout& site = t.sites()[static_cast<std::size_t>(s)];
    if (site.nvlink_domain > 1) {
      return (static_cast<std::int64_t>(s) << 32) | ((node - site.first_gpu) / site.nvlink_domain);
    }
  }
  return -1 - static_cast<std::int64_t>(node);
}

GroupShape Shape(const Topology& t, const std::vector<NodeId>& ranks) {
  GroupShape g;
  std::map<std::int64_t, int> index;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    auto [it, added] = index.emplace(DomainKey(t, ranks[i]), static_cast<int>(g.domains.size()));
    if (added) g.domains.emplace_back();
    g.domains[static_cast<std::size_t>(it->second)].push_back(static_cast<int>(i));
  }
  g.ranks_per_domain = g.domains.empty() ? 0 : static_cast<int>(g.domains.front().size());
  for (const auto& d : g.domains) {
    if (static_cast<int>(d.size()) != g.ranks_per_domain) g.ranks_per_domain = 0;
  }
  return g;
}

// Bandwidth and latency of one route, for the algorithm estimates.
struct RouteTier {
  double bandwidth =
      std::numeric_limits<double>::infinity();  // bytes/s, the route's narrowest link
  double latency = 0;                           // s, summed over its links
  bool present = false;
};

Result<RouteTier> MeasureRoute(const Network& network, NodeId a, NodeId b) {
  AIF_ASSIGN_OR_RETURN(Path path, network.router().Route(a, b, 0));
  RouteTier tier;
  tier.present = true;
  for (LinkId l : path) {
    const Link& link = network.topology().link(l);
    tier.bandwidth = std::min(tier.bandwidth, link.usable_capacity().value());
    tier.latency += link.latency.value();
  }
  return tier;
}

Status ValidateGroup(const Network& network, CollectiveKind kind, const std::vector<NodeId>& ranks,
                     Bytes bytes, const CollectiveOptions& options) {
  const char* what = CollectiveKindName(kind);
  if (ranks.empty()) return InvalidArgument(fmt::format("{}: the group has no ranks", what));
  if (kind == CollectiveKind::kSendRecv && ranks.size() != 2) {
    return InvalidArgument(fmt::format(
        "{}: give exactly two ranks, {{source, destination}} (got {})", what, ranks.size()));
  }
  if (!(bytes.value() >= 0) || !std::isfinite(bytes.value())) {
    return InvalidArgument(
        fmt::format("{}: bytes must be non-negative and finite (got {})", what, bytes.value()));
  }
  for (const Seconds step : {options.step_latency_in_domain, options.step_latency_across_domains}) {
    if (!(step.value() >= 0) || !std::isfinite(step.value())) {
      return InvalidArgument(fmt::format(
          "{}: step latencies must be non-negative and finite (got {} s)", what, step.value()));
    }
  }
  const Topology& t = network.topology();
  std::vector<NodeId> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (!t.valid_node(sorted[i])) {
      return InvalidArgument(
          fmt::format("{}: rank node {} does not exist (the topology has {} nodes)", what,
                      sorted[i], t.node_count()));
    }
    if (i > 0 && sorted[i] == sorted[i - 1]) {
      return InvalidArgument(
          fmt::format("{}: {} appears twice in the group", what, t.NodeName(sorted[i])));
    }
  }
  return Status::Ok();
}

Status CheckApplies(CollectiveKind kind, CollectiveAlgorithm algorithm, const GroupShape& shape) {
  const char* what = CollectiveKindName(kind);
  const char* algo = CollectiveAlgorithmName(algorithm);
  const bool direct_kind = kind == CollectiveKind::kAllToAll || kind == CollectiveKind::kSendRecv;
  switch (algorithm) {
    case CollectiveAlgorithm::kAuto:
      return Status::Ok();
    case CollectiveAlgorithm::kDirect:
      if (!direct_kind) {
        return InvalidArgument(
            fmt::format("{}: algorithm {} applies to all-to-all and send/recv; use ring, "
                        "tree or hierarchical",
                        what, algo));
      }
      return Status::Ok();
    case CollectiveAlgorithm::kTree:
      if (kind != CollectiveKind::kAllReduce) {
        return InvalidArgument(fmt::format("{}: algorithm tree applies to all-reduce only", what));
      }
      return Status::Ok();
    case CollectiveAlgorithm::kSharp:
      if (kind != CollectiveKind::kAllReduce || !shape.spans_domains() ||
          shape.ranks_per_domain == 0) {
        return InvalidArgument(fmt::format(
            "{}: algorithm sharp applies to all-reduce across NVLink domains that hold the same "
            "number of the ranks",
            what));
      }
      return Status::Ok();
    case CollectiveAlgorithm::kNvls:
      if (kind != CollectiveKind::kAllReduce || shape.spans_domains()) {
        return InvalidArgument(
            fmt::format("{}: algorithm nvls applies to all-reduce inside one NVLink domain", what));
      }
      return Status::Ok();
    case CollectiveAlgorithm::kRing:
    case CollectiveAlgorithm::kHierarchical:
      if (direct_kind)
        return InvalidArgument(
            fmt::format("{}: runs as direct flows; {} does not apply", what, algo));
      if (algorithm == CollectiveAlgorithm::kHierarchical && shape.ranks_per_domain == 0) {
        return InvalidArgument(
            fmt::format("{}: hierarchical needs the same number of ranks in every NVLink domain "
                        "the group touches",
                        what));
      }
      return Status::Ok();
  }
  return Status::Ok();
}

// Rings across domains run one channel per rank of a domain (one per rail); otherwise one.
int RingChannels(const GroupShape& shape) {
  return shape.spans_domains() && shape.ranks_per_domain > 1 ? shape.ranks_per_domain : 1;
}

int TreeDepth(int n) {  // of a binary heap of n nodes
  int depth = 0;
  while ((2 << depth) <= n) ++depth;
  return depth;
}

// Alpha-beta estimate of each algorithm, in seconds, from the group's routes; the same step
// structure as the flows below. Used only to choose.
struct Estimates {
  double ring = std::numeric_limits<double>::infinity();
  double tree = std::numeric_limits<double>::infinity();
  double hierarchical = std::numeric_limits<double>::infinity();
  double nvls = std::numeric_limits<double>::infinity();
  double sharp = std::numeric_limits<double>::infinity();
};

Result<Estimates> Estimate(const Network& network, CollectiveKind kind,
                           const std::vector<NodeId>& ranks, const GroupShape& shape, double bytes,
                           const CollectiveOptions& options) {
  Estimates e;
  const int n = static_cast<int>(ranks.size());
  RouteTier in, out;
  for (const auto& d : shape.domains) {
    if (d.size() > 1) {
      AIF_ASSIGN_OR_RETURN(in, MeasureRoute(network, ranks[static_cast<std::size_t>(d[0])],
                                            ranks[static_cast<std::size_t>(d[1])]));
      break;
    }
  }
  if (shape.spans_domains()) {
    AIF_ASSIGN_OR_RETURN(out,
                         MeasureRoute(network, ranks[static_cast<std::size_t>(shape.domains[0][0])],
                                      ranks[static_cast<std::size_t>(shape.domains[1][0])]));
  }
  if (in.present) in.latency += options.step_latency_in_domain.value();
  if (out.present) out.latency += options.step_latency_across_domains.value();
  const bool all_reduce = kind == CollectiveKind::kAllReduce;
  const double passes = all_reduce ? 2 : 1;  // reduce-scatter and all-gather halves
  // Ring: every step is paced by its slowest hop.
  const int c = RingChannels(shape);
  double ring_bw = std::min(in.bandwidth, out.bandwidth);
  if (c > 1) ring_bw = std::min(out.bandwidth, in.bandwidth / (c - 1));
  const double ring_latency =
      shape.spans_domains() ? std::max(in.latency, out.latency) : in.latency;
  e.ring = passes * (n - 1) * (ring_latency + bytes / n / c / ring_bw);
  // Hierarchical: NVSwitch exchange inside, ring across on 1/r. With one rank per domain it is
  // the ring itself, and is called that.
  const int r = shape.ranks_per_domain;
  if (r > 1) {
    const int d = static_cast<int>(shape.domains.size());
    e.hierarchical = passes * (in.latency + bytes * (r - 1) / r / in.bandwidth);
    if (d > 1) e.hierarchical += passes * (d - 1) * (out.latency + bytes / r / d / out.bandwidth);
  }
  // NVLS: S + S/n each way through the switch at the NVLS efficiency, two protocol steps.
  if (all_reduce && !shape.spans_domains() && options.nvls_efficiency > 0 && in.present) {
    e.nvls = 2 * in.latency + (bytes + bytes / n) / (options.nvls_efficiency * in.bandwidth);
  }
  // SHARP: NVLink exchange and the switches' tree at once (pipelined), two protocol steps each.
  if (all_reduce && shape.spans_domains() && r > 0 && options.sharp_efficiency > 0) {
    const double inside = r > 1 ? 2 * bytes * (r - 1) / r / in.bandwidth : 0;
    const double tree = bytes / r / (options.sharp_efficiency * out.bandwidth);
    e.sharp = (r > 1 ? 2 * in.latency : 0) + 2 * out.latency + std::max(inside, tree);
  }
  // Tree: level by level, half of the buffer per tree.
  if (all_reduce) {
    e.tree =
        2.0 * TreeDepth(n) *
        (std::max(in.latency, out.latency) + bytes / 2 / std::min(in.bandwidth, out.bandwidth));
  }
  return e;
}

CollectiveAlgorithm Cheapest(const Estimates& e) {
  // Ties go to the earlier of hierarchical, ring, tree.
  CollectiveAlgorithm best = CollectiveAlgorithm::kHierarchical;
  double t = e.hierarchical;
  if (e.ring < t) {
    best = CollectiveAlgorithm::kRing;
    t = e.ring;
  }
  if (e.tree < t) {
    best = CollectiveAlgorithm::kTree;
    t = e.tree;
  }
  if (e.nvls < t) {
    best = CollectiveAlgorithm::kNvls;
    t = e.nvls;
  }
  if (e.sharp < t) best = CollectiveAlgorithm::kSharp;
  return best;
}

// ---------------------------------------------------------------- the flows

// One step pattern of a phase. An actor is one rank in one channel (ring, tree) and runs the
// phases of the plan in order; it enters a phase when it is done with the previous one.
enum class PhaseType : std::uint8_t {
  kExchange,  // send `bytes` to every other member of the actor's exchange group at once
  kRing,      // `steps` steps: send `bytes` to the ring successor; step s needs s messages in
  kTreeUp,    // wait for every child, then send `bytes` to the parent
  kTreeDown,  // wait for the parent, then send `bytes` to every child
};

struct Phase {
  PhaseType type = PhaseType::kExchange;
  double bytes = 0;
  int steps = 1;
};

class CollectiveRun : public std::enable_shared_from_this<CollectiveRun> {
 public:
  CollectiveRun(Network* network, CollectiveCallback on_done)
      : network_(network), on_done_(std::move(on_done)) {}

  CollectiveResult result;
  std::vector<NodeId> node;  // per actor
  std::vector<Phase> phases;
  std::vector<std::int32_t> ring_next;  // per actor, for ring phases
  std::vector<std::int32_t> group_of;   // per actor, for exchange phases
  std::vector<std::vector<std::int32_t>> groups;
  int tree_ranks = 0;  // tree: actor t * n + i is rank i in tree t (t = 1: mirrored order)
  // Actor a is rank a % ranks; rank_domain: the NVLink domain of each rank, for step latencies.
  int ranks = 0;
  std::vector<std::int32_t> rank_domain;
  CollectiveOptions options;

  void Start() {
    const std::size_t actors = node.size();
    phase_.assign(actors, 0);
    step_.assign(actors, 0);
    outstanding_.assign(actors, 0);
    received_.assign(actors * phases.size(), 0);
    actors_left_ = static_cast<std::int64_t>(actors);
    if (actors == 0 || phases.empty()) {
      Finish();
      return;
    }
    for (std::size_t a = 0; a < actors && !failed_; ++a) Advance(static_cast<std::int32_t>(a));
  }

  // The collective is done now.
  void Finish() {
    result.finish = network_->simulator()->Now();
    if (on_done_) on_done_(result);
  }

 private:
  // Tree geometry: position of rank i in tree t, and back.
  int TreePosition(std::int32_t actor) const {
    const int t = actor / tree_ranks;
    const int i = actor % tree_ranks;
    return t == 0 ? i : tree_ranks - 1 - i;
  }
  std::int32_t TreeActor(std::int32_t actor, int position) const {
    const int t = actor / tree_ranks;
    const int i = t == 0 ? position : tree_ranks - 1 - position;
    return t * tree_ranks + i;
  }

  // One message: a flow from `from`'s GPU to `to`'s, counted by `to` in the sender's phase (every
  // actor runs the same phase list).
  void Send(std::int32_t from, std::int32_t to, double bytes) {
    if (failed_) return;
    const std::uint8_t to_phase = phase_[static_cast<std::size_t>(from)];
    FlowOptions flow;
    flow.extra_latency = rank_domain[static_cast<std::size_t>(from % ranks)] ==
                                 rank_domain[static_cast<std::size_t>(to % ranks)]
                             ? options.step_latency_in_domain
                             : options.step_latency_across_domains;
    Result<FlowId> id = network_->StartFlow(
        node[static_cast<std::size_t>(from)], node[static_cast<std::size_t>(to)], Bytes(bytes),
        [self = shared_from_this(), from, to, to_phase](const FlowRecord&) {
          self->OnFlowDone(from, to, to_phase);
        },
        flow);
    if (!id.ok()) {
      Fail(id.status());
      return;
    }
    ++outstanding_[static_cast<std::size_t>(from)];
    ++result.flows;
    result.flow_bytes += Bytes(bytes);
  }

  void OnFlowDone(std::int32_t from, std::int32_t to, std::uint8_t to_phase) {
    if (failed_) return;
    --outstanding_[static_cast<std::size_t>(from)];
    ++received_[static_cast<std::size_t>(to) * phases.size() + to_phase];
    Advance(to);
    if (!failed_) Advance(from);
  }

  void Fail(const Status& status) {
    if (failed_) return;
    failed_ = true;
    result.status = status.WithContext(fmt::format("{} ({}): ", CollectiveKindName(result.kind),
                                                   CollectiveAlgorithmName(result.algorithm)));
    // Reported from the event queue, never from inside StartCollective.
    network_->simulator()->Schedule(network_->simulator()->Now(),
                                    [self = shared_from_this()] { self->Finish(); });
  }

  void NextPhase(std::int32_t a) {
    const auto ai = static_cast<std::size_t>(a);
    ++phase_[ai];
    step_[ai] = 0;
    if (phase_[ai] == phases.size() && --actors_left_ == 0) Finish();
  }

  // Starts whatever the actor may start now and moves it through the phases it has finished.
  void Advance(std::int32_t a) {
    const auto ai = static_cast<std::size_t>(a);
    while (!failed_ && phase_[ai] < phases.size()) {
      const Phase& ph = phases[phase_[ai]];
      const std::int32_t received = received_[ai * phases.size() + phase_[ai]];
      std::int32_t& step = step_[ai];
      const bool idle = outstanding_[ai] == 0;
      switch (ph.type) {
        case PhaseType::kExchange: {
          const auto& members = groups[static_cast<std::size_t>(group_of[ai])];
          if (step == 0) {
            step = 1;
            for (std::int32_t b : members) {
              if (b != a) Send(a, b, ph.bytes);
            }
            continue;
          }
          if (idle && received == static_cast<std::int32_t>(members.size()) - 1) {
            NextPhase(a);
            continue;
          }
          return;
        }
        case PhaseType::kRing: {
          if (step < ph.steps) {
            if (!idle || received < step) return;
            ++step;
            Send(a, ring_next[ai], ph.bytes);
            continue;
          }
          if (idle && received == ph.steps) {
            NextPhase(a);
            continue;
          }
          return;
        }
        case PhaseType::kTreeUp: {
          const int p = TreePosition(a);
          if (step == 0) {
            const int children = std::clamp(tree_ranks - (2 * p + 1), 0, 2);
            if (received < children) return;
            step = 1;
            if (p > 0) Send(a, TreeActor(a, (p - 1) / 2), ph.bytes);
            continue;
          }
          if (idle) {
            NextPhase(a);
            continue;
          }
          return;
        }
        case PhaseType::kTreeDown: {
          const int p = TreePosition(a);
          if (step == 0) {
            if (received < (p > 0 ? 1 : 0)) return;
            step = 1;
            for (int child = 2 * p + 1; child <= 2 * p + 2 && child < tree_ranks; ++child) {
              Send(a, TreeActor(a, child), ph.bytes);
            }
            continue;
          }
          if (idle) {
            NextPhase(a);
            continue;
          }
          return;
        }
      }
    }
  }

  Network* network_;
  CollectiveCallback on_done_;
  std::vector<std::uint8_t> phase_;
  std::vector<std::int32_t> step_;
  std::vector<std::int32_t> outstanding_;
  std::vector<std::int32_t> received_;
  std::int64_t actors_left_ = 0;
  bool failed_ = false;
};

// Ring order of channel c: domains in order; inside each, the domain's ranks rotated so that
// channel c enters even-numbered domains at local rank c and leaves at c-1, and runs odd-numbered
// ones backwards from c-1 to c. Consecutive domains are then joined by GPUs of the same local
// index (the same rail), and each local rank leaves each domain in exactly one channel.
std::vector<int> RingOrder(const GroupShape& shape, int channel, int channels) {
  std::vector<int> order;
  for (std::size_t k = 0; k < shape.domains.size(); ++k) {
    const auto& d = shape.domains[k];
    const int r = static_cast<int>(d.size());
    for (int i = 0; i < r; ++i) {
      int local = i;
      if (channels > 1) local = k % 2 == 0 ? (channel + i) % r : ((channel - 1 - i) % r + r) % r;
      order.push_back(d[static_cast<std::size_t>(local)]);
    }
  }
  return order;
}

void PlanRing(CollectiveRun& run, CollectiveKind kind, const std::vector<NodeId>& ranks,
              const GroupShape& shape, double bytes) {
  const int n = static_cast<int>(ranks.size());
  const int c = RingChannels(shape);
  run.result.channels = c;
  run.node.resize(static_cast<std::size_t>(n) * c);
  run.ring_next.resize(run.node.size());
  for (int ch = 0; ch < c; ++ch) {
    const std::vector<int> order = RingOrder(shape, ch, c);
    for (int k = 0; k < n; ++k) {
      const int i = order[static_cast<std::size_t>(k)];
      const int next = order[static_cast<std::size_t>((k + 1) % n)];
      run.node[static_cast<std::size_t>(ch * n + i)] = ranks[static_cast<std::size_t>(i)];
      run.ring_next[static_cast<std::size_t>(ch * n + i)] = ch * n + next;
    }
  }
  const int steps = kind == CollectiveKind::kAllReduce ? 2 * (n - 1) : n - 1;
  run.phases.push_back(Phase{PhaseType::kRing, bytes / n / c, steps});
}

void PlanTree(CollectiveRun& run, const std::vector<NodeId>& ranks, double bytes) {
  const int n = static_cast<int>(ranks.size());
  run.result.channels = 2;
  run.tree_ranks = n;
  for (int t = 0; t < 2; ++t) run.node.insert(run.node.end(), ranks.begin(), ranks.end());
  run.phases.push_back(Phase{PhaseType::kTreeUp, bytes / 2, 1});
  run.phases.push_back(Phase{PhaseType::kTreeDown, bytes / 2, 1});
}

void PlanHierarchical(CollectiveRun& run, CollectiveKind kind, const std::vector<NodeId>& ranks,
                      const GroupShape& shape, double bytes) {
  const int r = shape.ranks_per_domain;
  const int d = static_cast<int>(shape.domains.size());
  run.node = ranks;
  run.group_of.assign(ranks.size(), 0);
  run.ring_next.assign(ranks.size(), 0);
  for (int k = 0; k < d; ++k) {
    const auto& members = shape.domains[static_cast<std::size_t>(k)];
    run.groups.emplace_back(members.begin(), members.end());
    for (int j = 0; j < r; ++j) {
      const int i = members[static_cast<std::size_t>(j)];
      run.group_of[static_cast<std::size_t>(i)] = k;
      // The ring across domains of local rank j (one rail).
      run.ring_next[static_cast<std::size_t>(i)] =
          shape.domains[static_cast<std::size_t>((k + 1) % d)][static_cast<std::size_t>(j)];
    }
  }
  const Phase inside{PhaseType::kExchange, bytes / r, 1};
  const double across_bytes = bytes / r / d;
  switch (kind) {
    case CollectiveKind::kAllReduce:
      if (r > 1) run.phases.push_back(inside);
      if (d > 1) run.phases.push_back(Phase{PhaseType::kRing, across_bytes, 2 * (d - 1)});
      if (r > 1) run.phases.push_back(inside);
      break;
    case CollectiveKind::kReduceScatter:
      if (r > 1) run.phases.push_back(inside);
      if (d > 1) run.phases.push_back(Phase{PhaseType::kRing, across_bytes, d - 1});
      break;
    case CollectiveKind::kAllGather:
      if (d > 1) run.phases.push_back(Phase{PhaseType::kRing, across_bytes, d - 1});
      if (r > 1) run.phases.push_back(inside);
      break;
    default:
      AIF_CHECK_MSG(false, "hierarchical plan for a direct collective");
  }
}

void PlanAllToAll(CollectiveRun& run, const std::vector<NodeId>& ranks, double bytes) {
  const int n = static_cast<int>(ranks.size());
  run.node = ranks;
  run.group_of.assign(ranks.size(), 0);
  run.groups.emplace_back();
  for (int i = 0; i < n; ++i) run.groups.back().push_back(i);
  run.phases.push_back(Phase{PhaseType::kExchange, bytes / n, 1});
}

// NVLS all-reduce (CollectiveOptions::nvls_efficiency): every GPU sends (S + S/n) / efficiency to
// the domain's NVSwitch and receives as much from it, at once; the NVLS efficiency shows as
// protocol bytes on the wire. Done when every flow has arrived.
Status StartNvls(Network* network, const std::shared_ptr<CollectiveRun>& run,
                 const std::vector<NodeId>& ranks, double bytes, const CollectiveOptions& options) {
  if (!(options.nvls_efficiency > 0) || options.nvls_efficiency > 1) {
    return InvalidArgument(
        fmt::format("all-reduce: algorithm nvls needs nvls_efficiency in (0, 1] (got {})",
                    options.nvls_efficiency));
  }
  AIF_ASSIGN_OR_RETURN(Path path, network->router().Route(ranks[0], ranks[1], 0));
  const NodeId nvswitch = network->topology().link(path.front()).to;
  if (network->topology().node(nvswitch).kind != NodeKind::kNvSwitch) {
    return InvalidArgument(
        "all-reduce: algorithm nvls needs the ranks' NVSwitch (no NVLink domain)");
  }
  const double n = static_cast<double>(ranks.size());
  const Bytes each((bytes + bytes / n) / options.nvls_efficiency);
  auto pending = std::make_shared<std::int64_t>(2 * static_cast<std::int64_t>(ranks.size()));
  FlowOptions flow;
  flow.extra_latency = options.step_latency_in_domain * 2.0;
  run->result.flows = 2 * static_cast<std::int64_t>(ranks.size());
  run->result.flow_bytes = each * (2 * n);
  for (NodeId gpu : ranks) {
    for (const auto& [src, dst] : {std::make_pair(gpu, nvswitch), std::make_pair(nvswitch, gpu)}) {
      Result<FlowId> id = network->StartFlow(
          src, dst, each,
          [run, pending](const FlowRecord&) {
            if (--*pending == 0) run->Finish();
          },
          flow);
      if (!id.ok()) return id.status().WithContext("all-reduce (nvls): ");
    }
  }
  return Status::Ok();
}

// Scale-out SHARP all-reduce (CollectiveOptions::sharp_efficiency): the NVLink exchange of every
// domain (each GPU sends each peer 2 S / r: its share to reduce, then its reduced share) and the
// aggregation trees (one flow of S / r / efficiency per tree link, up and down) at once. One tree
// per local index i, over the i-th rank of every domain: its root is the switch at the middle of
// the route between the first and the last of them (the rail's leaf when one leaf holds them
// all); each rank's route to it is walked upwards until it meets a node already in the tree, so
// every node has one parent link. Done when every flow has arrived.
Status StartSharp(Network* network, const std::shared_ptr<CollectiveRun>& run,
                  const std::vector<NodeId>& ranks, const GroupShape& shape, double bytes,
                  const CollectiveOptions& options) {
  if (!(options.sharp_efficiency > 0) || options.sharp_efficiency > 1) {
    return InvalidArgument(
        fmt::format("all-reduce: algorithm sharp needs sharp_efficiency in (0, 1] (got {})",
                    options.sharp_efficiency));
  }
  const Topology& t = network->topology();
  const int r = shape.ranks_per_domain;
  const auto rank_of = [&](int i) { return ranks[static_cast<std::size_t>(i)]; };
  // One tree per local index (per rail, as CollNet runs one per NIC): the i-th rank of every
  // domain.
  std::vector<LinkId> edges;
  for (int i = 0; i < r; ++i) {
    const NodeId first = rank_of(shape.domains.front()[static_cast<std::size_t>(i)]);
    const NodeId last = rank_of(shape.domains.back()[static_cast<std::size_t>(i)]);
    AIF_ASSIGN_OR_RETURN(Path far, network->router().Route(first, last, 0));
    const NodeId root = far.size() >= 2 ? t.link(far[far.size() / 2 - 1]).to : kNoNode;
    if (root == kNoNode || t.node(root).kind == NodeKind::kGpu ||
        t.node(root).kind == NodeKind::kNvSwitch) {
      return InvalidArgument(
          "all-reduce: algorithm sharp needs switches between the NVLink domains");
    }
    std::map<NodeId, LinkId> parent;  // node -> its link up the tree
    for (const auto& domain : shape.domains) {
      const NodeId g = rank_of(domain[static_cast<std::size_t>(i)]);
      AIF_ASSIGN_OR_RETURN(Path up, network->router().Route(g, root, 0));
      NodeId u = g;
      for (LinkId l : up) {
        if (u == root || !parent.emplace(u, l).second) break;
        edges.push_back(l);
        u = t.link(l).to;
      }
    }
  }
  auto pending = std::make_shared<std::int64_t>(0);
  auto start = [&](NodeId src, NodeId dst, double b, Seconds latency) -> Status {
    FlowOptions flow;
    flow.extra_latency = latency;
    ++*pending;
    ++run->result.flows;
    run->result.flow_bytes += Bytes(b);
    Result<FlowId> id = network->StartFlow(
        src, dst, Bytes(b),
        [run, pending](const FlowRecord&) {
          if (--*pending == 0) run->Finish();
        },
        flow);
    return id.status().WithContext("all-reduce (sharp): ");
  };
  ++*pending;  // held until every flow has started
  for (const auto& domain : shape.domains) {
    for (int a : domain) {
      for (int b : domain) {
        if (a != b) {
          AIF_RETURN_IF_ERROR(start(rank_of(a), rank_of(b), 2 * bytes / r, options.step_latency_in_domain));
        }
      }
    }
  }
  const double share = bytes / r / options.sharp_efficiency;
  for (LinkId l : edges) {
    const Link& link = t.link(l);
    AIF_RETURN_IF_ERROR(start(link.from, link.to, share, options.step_latency_across_domains));
    AIF_RETURN_IF_ERROR(start(link.to, link.from, share, options.step_latency_across_domains));
  }
  if (--*pending == 0) {
    network->simulator()->Schedule(network->simulator()->Now(), [run] { run->Finish(); });
  }
  return Status::Ok();
}

}  // namespace

const char* CollectiveKindName(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllReduce:
      return "all-reduce";
    case CollectiveKind::kReduceScatter:
      return "reduce-scatter";
    case CollectiveKind::kAllGather:
      return "all-gather";
    case CollectiveKind::kAllToAll:
      return "all-to-all";
    case CollectiveKind::kSendRecv:
      return "send/recv";
  }
  return "?";
}

const char* CollectiveAlgorithmName(CollectiveAlgorithm algorithm) {
  switch (algorithm) {
    case CollectiveAlgorithm::kAuto:
      return "auto";
    case CollectiveAlgorithm::kRing:
      return "ring";
    case CollectiveAlgorithm::kTree:
      return "tree";
    case CollectiveAlgorithm::kHierarchical:
      return "hierarchical";
    case CollectiveAlgorithm::kDirect:
      return "direct";
    case CollectiveAlgorithm::kNvls:
      return "nvls";
    case CollectiveAlgorithm::kSharp:
      return "sharp";
  }
  return "?";
}

// nccl-tests' bus bandwidth, NVIDIA/nccl-tests doc/PERFORMANCE.md @03a204a1f38a ("Summary"):
// "AllReduce : 2*(n-1)/n", "ReduceScatter : (n-1)/n", "AllGather : (n-1)/n", "AlltoAll: (n-1)/n";
// send/recv reports busbw = algbw.
double BusBandwidthFactor(CollectiveKind kind, int ranks) {
  if (ranks <= 0) return 0;
  const double n = ranks;
  switch (kind) {
    case CollectiveKind::kAllReduce:
      return 2 * (n - 1) / n;
    case CollectiveKind::kReduceScatter:
    case CollectiveKind::kAllGather:
    case CollectiveKind::kAllToAll:
      return (n - 1) / n;
    case CollectiveKind::kSendRecv:
      return 1;
  }
  return 0;
}

Bytes CollectiveTraffic(CollectiveKind kind, int ranks, Bytes bytes) {
  if (ranks <= 1) return Bytes(0);
  switch (kind) {
    case CollectiveKind::kAllReduce:
      return bytes * (2.0 * (ranks - 1));
    case CollectiveKind::kReduceScatter:
    case CollectiveKind::kAllGather:
    case CollectiveKind::kAllToAll:
      return bytes * (ranks - 1.0);
    case CollectiveKind::kSendRecv:
      return bytes;
  }
  return Bytes(0);
}

BytesPerSecond CollectiveResult::algbw() const {
  const double t = duration().value();
  return BytesPerSecond(t > 0 ? bytes.value() / t : 0.0);
}

BytesPerSecond CollectiveResult::busbw() const { return algbw() * BusBandwidthFactor(kind, ranks); }

Result<CollectiveAlgorithm> ChooseCollectiveAlgorithm(const Network& network, CollectiveKind kind,
                                                      const std::vector<NodeId>& ranks, Bytes bytes,
                                                      const CollectiveOptions& options) {
  AIF_RETURN_IF_ERROR(ValidateGroup(network, kind, ranks, bytes, options));
  if (kind == CollectiveKind::kAllToAll || kind == CollectiveKind::kSendRecv) {
    return CollectiveAlgorithm::kDirect;
  }
  const GroupShape shape = Shape(network.topology(), ranks);
  if (ranks.size() == 1) {
    return shape.ranks_per_domain > 1 ? CollectiveAlgorithm::kHierarchical
                                      : CollectiveAlgorithm::kRing;
  }
  AIF_ASSIGN_OR_RETURN(Estimates e, Estimate(network, kind, ranks, shape, bytes.value(), options));
  return Cheapest(e);
}

Result<CollectiveAlgorithm> StartCollective(Network* network, CollectiveKind kind,
                                            std::vector<NodeId> ranks, Bytes bytes,
                                            CollectiveCallback on_done, CollectiveOptions options) {
  AIF_CHECK(network != nullptr);
  AIF_RETURN_IF_ERROR(ValidateGroup(*network, kind, ranks, bytes, options));
  const GroupShape shape = Shape(network->topology(), ranks);
  AIF_RETURN_IF_ERROR(CheckApplies(kind, options.algorithm, shape));
  CollectiveAlgorithm algorithm = options.algorithm;
  if (algorithm == CollectiveAlgorithm::kAuto) {
    AIF_ASSIGN_OR_RETURN(algorithm,
                         ChooseCollectiveAlgorithm(*network, kind, ranks, bytes, options));
  }

  auto run = std::make_shared<CollectiveRun>(network, std::move(on_done));
  CollectiveResult& r = run->result;
  r.kind = kind;
  r.algorithm = algorithm;
  r.ranks = static_cast<int>(ranks.size());
  r.bytes = bytes;
  r.start = network->simulator()->Now();
  run->options = options;
  run->ranks = static_cast<int>(ranks.size());
  run->rank_domain.resize(ranks.size());
  for (std::size_t k = 0; k < shape.domains.size(); ++k) {
    for (int i : shape.domains[k])
      run->rank_domain[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(k);
  }

  if (ranks.size() == 1) {  // nothing moves; done at once, from the event queue like any other
    network->simulator()->Schedule(r.start, [run] { run->Finish(); });
    return algorithm;
  }
  const double b = bytes.value();
  if (algorithm == CollectiveAlgorithm::kNvls) {
    AIF_RETURN_IF_ERROR(StartNvls(network, run, ranks, b, options));
    return algorithm;
  }
  if (algorithm == CollectiveAlgorithm::kSharp) {
    AIF_RETURN_IF_ERROR(StartSharp(network, run, ranks, shape, b, options));
    return algorithm;
  }
  switch (kind) {
    case CollectiveKind::kSendRecv:
      break;
    case CollectiveKind::kAllToAll:
      PlanAllToAll(*run, ranks, b);
      break;
    default:
      if (algorithm == CollectiveAlgorithm::kRing) PlanRing(*run, kind, ranks, shape, b);
      if (algorithm == CollectiveAlgorithm::kTree) PlanTree(*run, ranks, b);
      if (algorithm == CollectiveAlgorithm::kHierarchical)
        PlanHierarchical(*run, kind, ranks, shape, b);
      break;
  }
  if (kind == CollectiveKind::kSendRecv) {
    // One flow: the source sends, the destination only receives.
    r.flows = 1;
    r.flow_bytes = bytes;
    FlowOptions flow;
    flow.extra_latency = shape.spans_domains() ? options.step_latency_across_domains
                                               : options.step_latency_in_domain;
    Result<FlowId> id = network->StartFlow(
        ranks[0], ranks[1], bytes, [run](const FlowRecord&) { run->Finish(); }, flow);
    if (!id.ok()) return id.status().WithContext("send/recv: ");
    return algorithm;
  }
  run->Start();
  return algorithm;
}

Result<CollectiveResult> RunCollective(Network* network, CollectiveKind kind,
                                       std::vector<NodeId> ranks, Bytes bytes,
                                       CollectiveOptions options) {
  std::optional<CollectiveResult> done;
  AIF_RETURN_IF_ERROR(StartCollective(
                          network, kind, std::move(ranks), bytes,
                          [&done](const CollectiveResult& r) { done = r; }, options)
                          .status());
  network->RunUntilIdle();
  if (!done) {
    return Internal(fmt::format("{}: the simulator ran dry before the collective finished",
                                CollectiveKindName(kind)));
  }
  if (!done->status.ok()) return done->status;
  return *done;
}

}  // namespace aif::net
