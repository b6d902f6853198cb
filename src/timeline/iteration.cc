#include "aifactory/timeline/iteration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aifactory/des/sim_time.h"
#include "aifactory/des/simulator.h"
#include "aifactory/net/network.h"
#include "aifactory/net/topology.h"
#include "aifactory/net/topology_builders.h"
#include "aifactory/perf/collective.h"
#include "aifactory/train/flops.h"

namespace aif::timeline {

const char* LaneName(Lane lane) {
  switch (lane) {
    case Lane::kCompute:
      return "compute";
    case Lane::kComm:
      return "comm";
  }
  return "?";
}

const char* TaskKindName(TaskKind kind) {
  switch (kind) {
    case TaskKind::kForward:
      return "forward";
    case TaskKind::kBackward:
      return "backward";
    case TaskKind::kSendForward:
      return "PP send (activations)";
    case TaskKind::kSendBackward:
      return "PP send (gradients)";
    case TaskKind::kDpReduceScatter:
      return "DP reduce-scatter (exposed)";
    case TaskKind::kDpAllGather:
      return "DP all-gather (exposed)";
    case TaskKind::kOptimizer:
      return "optimizer";
  }
  return "?";
}

Lane LaneOf(TaskKind kind) {
  switch (kind) {
    case TaskKind::kForward:
    case TaskKind::kBackward:
    case TaskKind::kOptimizer:
      return Lane::kCompute;
    default:
      return Lane::kComm;
  }
}

std::string TraceEvent::Name() const {
  const std::string chunk_suffix = chunk > 0 ? fmt::format(".{}", chunk) : "";
  switch (kind) {
    case TaskKind::kForward:
      return fmt::format("F{}{}", micro_batch, chunk_suffix);
    case TaskKind::kBackward:
      return fmt::format("B{}{}", micro_batch, chunk_suffix);
    case TaskKind::kSendForward:
      return fmt::format("send F{}{}", micro_batch, chunk_suffix);
    case TaskKind::kSendBackward:
      return fmt::format("send B{}{}", micro_batch, chunk_suffix);
    case TaskKind::kDpReduceScatter:
      return "dp reduce-scatter";
    case TaskKind::kDpAllGather:
      return "dp all-gather";
    case TaskKind::kOptimizer:
      return "optimizer";
  }
  return "?";
}

namespace {

using des::SimTime;
using train::TimeComponent;

constexpr std::int64_t kNotArrived = -2;  // arrival slot: nothing yet
constexpr std::int64_t kAtStart = -1;     // arrival slot: available at t = 0, no producing task

struct Op {
  bool forward = true;
  int chunk = 0;
  int micro_batch = 0;
};

// The order in which one pipeline rank runs its forward and backward chunks.
//  - vp = 1: non-interleaved 1F1B (PipeDream-Flush, Megatron): min(pp - s - 1, m) warm-up
//    forwards, then one forward and one backward alternately, then the remaining backwards.
//  - vp > 1: Megatron-LM's interleaved schedule (Narayanan et al. 2021, sec. 2.2;
//    megatron/core/pipeline_parallel/schedules.py, forward_backward_pipelining_with_interleaving):
//    micro-batches go in groups of pp; each group runs through chunk 0, then chunk 1, ...;
//    backwards in the same groups with the chunks reversed; (pp - s - 1) * 2 + (vp - 1) * pp
//    warm-up forwards, then 1F1B. A last group smaller than pp (m not a multiple of pp) keeps its
//    size, as Megatron's microbatch_group_size_per_vp_stage does.
std::vector<Op> ScheduleOrder(int stage, int pp, int vp, int m) {
  std::vector<Op> fwd, bwd;
  fwd.reserve(static_cast<std::size_t>(m * vp));
  bwd.reserve(static_cast<std::size_t>(m * vp));
  for (int first = 0; first < m; first += pp) {
    const int group = std::min(pp, m - first);
    for (int c = 0; c < vp; ++c) {
      for (int j = 0; j < group; ++j) {
        fwd.push_back({true, c, first + j});
        bwd.push_back({false, vp - 1 - c, first + j});
      }
    }
  }
  const int total = m * vp;
  const int warmup =
      vp == 1 ? std::min(pp - stage - 1, m) : std::min(total, (pp - stage - 1) * 2 + (vp - 1) * pp);
  std::vector<Op> order;
  order.reserve(static_cast<std::size_t>(2 * total));
  for (int i = 0; i < warmup; ++i) order.push_back(fwd[static_cast<std::size_t>(i)]);
  for (int i = 0; i < total - warmup; ++i) {
    order.push_back(fwd[static_cast<std::size_t>(warmup + i)]);
    order.push_back(bwd[static_cast<std::size_t>(i)]);
  }
  for (int i = total - warmup; i < total; ++i) order.push_back(bwd[static_cast<std::size_t>(i)]);
  return order;
}

// Time a collective of `comm` seconds adds beside `compute` seconds of work: the step model's
// overlap rule (train/step_model.cc, StepModel::Overlap).
double Exposed(double comm, double compute, double slowdown) {
  return std::max(0.0, comm - compute) + slowdown * std::min(comm, compute);
}

// What the network mode needs to know about the plan's GPUs and the DP traffic.
struct NetSetup {
  int tp = 1, cp = 1, dp = 1, ep = 1, pp = 1;
  int stage_gpus = 1;       // tp * cp * dp
  int domain = 1;           // GPUs per NVLink domain
  Bytes send_bytes;         // one GPU's activations (or gradients) per micro-batch chunk boundary
  Bytes dense_grad_bytes;   // per GPU, dense parameters' gradients (the DP reduce-scatter input)
  Bytes dense_param_bytes;  // per GPU, parameters as gathered (the all-gather output)
  Bytes expert_grad_bytes;
  Bytes expert_param_bytes;
  int zero_stage = 1;
  Seconds latency_in_domain;
  Seconds latency_across;
  int site_gpus = 0;  // GPUs per site when the factory has several sites, else 0
  Seconds latency_wan;
  double overlap_slowdown = 0;
  bool replicate = false;
  // The DP communicators as the step model prices them (dense: dp x cp ranks of stride tp;
  // experts: stride ep); their reduce-scatters run the algorithm perf picks for them.
  perf::CommGroup dense_group;
  perf::CommGroup expert_group;
  // TP, CP and EP groups that leave their NVLink domain: their exposed time per chunk runs as
  // flows at the end of each compute task (ring over the group: every GPU sends to the next
  // member as much as its path carries in that time, so alone they take exactly the step model's
  // time, and contention with PP and DP traffic stretches them).
  struct CrossGroup {
    const char* name;
    int size = 1;    // ranks
    int stride = 1;  // between consecutive ranks, in the job's GPU layout
    SimTime forward, backward;  // per chunk
  };
  std::vector<CrossGroup> cross_groups;

  net::NodeId Gpu(int replica, int stage, int j) const {
    return static_cast<net::NodeId>(j + tp * cp * (replica + dp * stage));
  }
};

class Engine {
 public:
  Engine(des::Simulator* sim, int pp, int vp, int m, int replicas, std::vector<SimTime> fwd,
         std::vector<SimTime> bwd, int straggler_replica, std::vector<SimTime> straggler_fwd,
         std::vector<SimTime> straggler_bwd, IterationResult* result)
      : sim_(sim),
        pp_(pp),
        vp_(vp),
        m_(m),
        replicas_(replicas),
        r_(result),
        fwd_(std::move(fwd)),
        bwd_(std::move(bwd)),
        straggler_replica_(straggler_replica),
        straggler_fwd_(std::move(straggler_fwd)),
        straggler_bwd_(std::move(straggler_bwd)) {
    for (int s = 0; s < pp_; ++s) orders_.push_back(ScheduleOrder(s, pp_, vp_, m_));
    for (int s = 0; s < pp_; ++s) {
      int left = 0;
      for (const Op& op : orders_[static_cast<std::size_t>(s)]) left += op.forward ? 0 : 1;
      last_backwards_.push_back(left);
    }
    units_.resize(static_cast<std::size_t>(replicas_ * pp_));
    const auto slots = static_cast<std::size_t>(vp_ * m_);
    for (int rep = 0; rep < replicas_; ++rep) {
      for (int s = 0; s < pp_; ++s) {
        Unit& u = unit(rep, s);
        u.fwd_in.assign(slots, kNotArrived);
        u.bwd_in.assign(slots, kNotArrived);
        if (s == 0) {
          for (int i = 0; i < m_; ++i) u.fwd_in[static_cast<std::size_t>(i)] = kAtStart;
        }
      }
    }
    stage_done_.assign(static_cast<std::size_t>(pp_), 0);
    stage_last_event_.assign(static_cast<std::size_t>(pp_), -1);
    stage_dp_start_.assign(static_cast<std::size_t>(pp_), SimTime::Zero());
    stage_dp_started_.assign(static_cast<std::size_t>(pp_), 0);
  }
  virtual ~Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void Start() {
    for (int rep = 0; rep < replicas_; ++rep) {
      for (int s = 0; s < pp_; ++s) TryStart(rep, s);
    }
  }

  bool done() const {
    return std::all_of(stage_done_.begin(), stage_done_.end(),
                       [this](int d) { return d == replicas_; });
  }
  SimTime pipeline_end() const { return pipeline_end_; }
  SimTime end() const { return end_; }

 protected:
  struct Unit {
    std::size_t next = 0;
    bool busy = false;
    int backwards_done = 0;
    std::int64_t last_event = -1;      // the unit's last compute task
    std::vector<std::int64_t> fwd_in;  // per (chunk, micro-batch): the arrival's event
    std::vector<std::int64_t> bwd_in;
  };

  Unit& unit(int replica, int stage) {
    return units_[static_cast<std::size_t>(replica * pp_ + stage)];
  }
  std::size_t Slot(int chunk, int micro_batch) const {
    return static_cast<std::size_t>(chunk * m_ + micro_batch);
  }

  std::int64_t Record(TaskKind kind, int replica, int stage, int chunk, int micro_batch,
                      SimTime start, SimTime duration, std::int64_t predecessor) {
    r_->events.push_back({kind, replica, stage, chunk, micro_batch, start.ToSeconds(),
                          duration.ToSeconds(), predecessor});
    ends_.push_back(start + duration);
    return static_cast<std::int64_t>(r_->events.size()) - 1;
  }
  SimTime EndOf(std::int64_t event) const {
    return event < 0 ? SimTime::Zero() : ends_[static_cast<std::size_t>(event)];
  }
  void SetDuration(std::int64_t event, SimTime duration) {
    r_->events[static_cast<std::size_t>(event)].duration = duration.ToSeconds();
    ends_[static_cast<std::size_t>(event)] =
        SimTime::FromSeconds(r_->events[static_cast<std::size_t>(event)].start) + duration;
  }

  // A send from (replica, stage) after `producer` finished; `arrive` when it is through. The
  // analytic engine waits a fixed time, the network engine runs flows.
  virtual void Send(int replica, int from_stage, int to_stage, bool forward, int chunk,
                    int micro_batch, std::int64_t producer) = 0;
  // Every replica has finished stage `stage` (its last task: `last`); runs DP comm and the
  // optimizer and calls Finish.
  virtual void StageDone(int stage, std::int64_t last) = 0;
  // The stage's final backwards are starting on every replica (network: DP reduce-scatter
  // starts to overlap with them).
  virtual void StageFinalBackwards(int /*stage*/) {}

  void Arrive(int replica, int to_stage, bool forward, int chunk, int micro_batch,
              std::int64_t event) {
    Unit& u = unit(replica, to_stage);
    (forward ? u.fwd_in : u.bwd_in)[Slot(chunk, micro_batch)] = event;
    TryStart(replica, to_stage);
  }

  void Finish(SimTime at) { end_ = std::max(end_, at); }

  // Runs one compute task of `d` (recorded as event `ev`) and calls TaskDone when it is over. The
  // network engine runs the task's cross-domain TP/CP/EP traffic as flows at its end.
  virtual void RunTask(int replica, int s, Op op, SimTime d, std::int64_t ev) {
    sim_->ScheduleAfter(d, [this, replica, s, op, ev] { TaskDone(replica, s, op, ev); });
  }
  void TaskDone(int replica, int s, Op op, std::int64_t ev) { Done(replica, s, op, ev); }

  des::Simulator* sim_;
  int pp_, vp_, m_, replicas_;
  IterationResult* r_;
  std::vector<SimTime> ends_;
  std::vector<int> stage_done_;
  std::vector<std::int64_t> stage_last_event_;  // the latest-ending last task over replicas
  std::vector<SimTime> stage_dp_start_;
  std::vector<int> stage_dp_started_;

 private:
  void TryStart(int replica, int s) {
    Unit& u = unit(replica, s);
    const auto& order = orders_[static_cast<std::size_t>(s)];
    if (u.busy || u.next == order.size()) return;
    const Op op = order[u.next];
    const std::int64_t arrival = (op.forward ? u.fwd_in : u.bwd_in)[Slot(op.chunk, op.micro_batch)];
    if (arrival == kNotArrived) return;
    u.busy = true;
    ++u.next;
    if (!op.forward && last_backwards_[static_cast<std::size_t>(s)] - u.backwards_done == vp_) {
      // The first of the stage's final vp backwards.
      if (++stage_dp_started_[static_cast<std::size_t>(s)] == replicas_) StageFinalBackwards(s);
    }
    const bool slow = replica == straggler_replica_;
    const auto& fwd = slow ? straggler_fwd_ : fwd_;
    const auto& bwd = slow ? straggler_bwd_ : bwd_;
    const SimTime d =
        op.forward ? fwd[static_cast<std::size_t>(s)] : bwd[static_cast<std::size_t>(s)];
    // Predecessor: whichever of the data and the previous task on this rank came last.
    const std::int64_t pred = EndOf(arrival) >= EndOf(u.last_event) ? arrival : u.last_event;
    const std::int64_t ev =
        Record(op.forward ? TaskKind::kForward : TaskKind::kBackward, replica, s, op.chunk,
               op.micro_batch, sim_->Now(), d, pred == kAtStart ? -1 : pred);
    RunTask(replica, s, op, d, ev);
  }

  void Done(int replica, int s, Op op, std::int64_t ev) {
    Unit& u = unit(replica, s);
    u.busy = false;
    u.last_event = ev;
    pipeline_end_ = std::max(pipeline_end_, sim_->Now());
    const int v = op.chunk * pp_ + s;  // virtual stage
    const int last_v = pp_ * vp_ - 1;
    if (op.forward && v == last_v) {
      u.bwd_in[Slot(op.chunk, op.micro_batch)] = ev;
    } else if (op.forward) {
      const int to = (s + 1) % pp_;
      Send(replica, s, to, true, s == pp_ - 1 ? op.chunk + 1 : op.chunk, op.micro_batch, ev);
    } else if (v > 0) {
      const int to = (s + pp_ - 1) % pp_;
      Send(replica, s, to, false, s == 0 ? op.chunk - 1 : op.chunk, op.micro_batch, ev);
    }
    if (!op.forward) ++u.backwards_done;
    if (u.next == orders_[static_cast<std::size_t>(s)].size()) {
      auto& last = stage_last_event_[static_cast<std::size_t>(s)];
      if (last < 0 || EndOf(ev) > EndOf(last)) last = ev;
      if (++stage_done_[static_cast<std::size_t>(s)] == replicas_) StageDone(s, last);
      return;
    }
    TryStart(replica, s);
  }

  std::vector<SimTime> fwd_, bwd_;
  int straggler_replica_;
  std::vector<SimTime> straggler_fwd_, straggler_bwd_;
  std::vector<std::vector<Op>> orders_;
  std::vector<int> last_backwards_;  // backwards per stage
  std::vector<Unit> units_;
  SimTime pipeline_end_;
  SimTime end_;
};

// Sends take a fixed time; DP comm is the step model's exposed time.
class AnalyticEngine : public Engine {
 public:
  AnalyticEngine(des::Simulator* sim, int pp, int vp, int m, std::vector<SimTime> fwd,
                 std::vector<SimTime> bwd, std::vector<SimTime> slow_fwd,
                 std::vector<SimTime> slow_bwd, int straggler, SimTime send, SimTime dp,
                 SimTime optimizer, IterationResult* result)
      : Engine(sim, pp, vp, m, 1, std::move(fwd), std::move(bwd), straggler, std::move(slow_fwd),
               std::move(slow_bwd), result),
        send_(send),
        dp_(dp),
        optimizer_(optimizer) {}

 private:
  void Send(int replica, int from, int to, bool forward, int chunk, int micro_batch,
            std::int64_t producer) override {
    if (send_ == SimTime::Zero()) {
      Arrive(replica, to, forward, chunk, micro_batch, producer);
      return;
    }
    const std::int64_t ev = Record(forward ? TaskKind::kSendForward : TaskKind::kSendBackward,
                                   replica, from, chunk, micro_batch, sim_->Now(), send_, producer);
    sim_->ScheduleAfter(send_, [this, replica, to, forward, chunk, micro_batch, ev] {
      Arrive(replica, to, forward, chunk, micro_batch, ev);
    });
  }

  void StageDone(int stage, std::int64_t last) override {
    std::int64_t pred = last;
    SimTime t = sim_->Now();
    if (dp_ > SimTime::Zero()) {
      pred = Record(TaskKind::kDpReduceScatter, 0, stage, 0, -1, t, dp_, pred);
      t = t + dp_;
    }
    if (optimizer_ > SimTime::Zero()) {
      pred = Record(TaskKind::kOptimizer, 0, stage, 0, -1, t, optimizer_, pred);
      t = t + optimizer_;
    }
    Finish(t);
  }

  SimTime send_, dp_, optimizer_;
};

// Rings of one collective over a set of groups: a counter of outstanding flows and a callback.
struct Join {
  std::int64_t pending = 0;
  SimTime start;
  std::function<void(SimTime)> done;  // with the collective's duration
};

// Everything runs as flows on the cluster's topology.
class NetworkEngine : public Engine {
 public:
  NetworkEngine(des::Simulator* sim, net::Network* network, NetSetup setup, int pp, int vp, int m,
                int replicas, std::vector<SimTime> fwd, std::vector<SimTime> bwd,
                std::vector<SimTime> slow_fwd, std::vector<SimTime> slow_bwd, int straggler,
                SimTime optimizer, SimTime analytic_dp, Seconds b, Seconds f,
                IterationResult* result)
      : Engine(sim, pp, vp, m, replicas, std::move(fwd), std::move(bwd), straggler,
               std::move(slow_fwd), std::move(slow_bwd), result),
        network_(network),
        setup_(setup),
        optimizer_(optimizer),
        analytic_dp_(analytic_dp),
        b_(b),
        f_(f) {
    rs_end_.assign(static_cast<std::size_t>(pp), SimTime::Zero());
    rs_duration_.assign(static_cast<std::size_t>(pp), SimTime::Zero());
    rs_done_.assign(static_cast<std::size_t>(pp), 0);
    stage_finished_.assign(static_cast<std::size_t>(pp), 0);
    stage_last_.assign(static_cast<std::size_t>(pp), -1);
  }

  Status status() const { return status_; }

  // Joins live as long as the engine; flow callbacks hold a plain pointer (small enough for
  // std::function to keep inline, so a flow's callback allocates nothing).
  Join* NewJoin() { return &joins_.emplace_back(); }
  SimTime dp_simulated() const { return dp_simulated_; }

 private:
  void Fail(const Status& s) {
    if (status_.ok()) status_ = s;
  }

  Seconds LatencyBetween(net::NodeId a, net::NodeId b) const {
    return a / setup_.domain == b / setup_.domain ? setup_.latency_in_domain
                                                  : setup_.latency_across;
  }

  void Send(int replica, int from, int to, bool forward, int chunk, int micro_batch,
            std::int64_t producer) override {
    const std::int64_t ev =
        Record(forward ? TaskKind::kSendForward : TaskKind::kSendBackward, replica, from, chunk,
               micro_batch, sim_->Now(), SimTime::Zero(), producer);
    Join* join = NewJoin();
    join->start = sim_->Now();
    join->done = [this, replica, to, forward, chunk, micro_batch, ev](SimTime d) {
      SetDuration(ev, d);
      Arrive(replica, to, forward, chunk, micro_batch, ev);
    };
    // The tp x cp GPUs of the stage each send to their counterpart, on their own rails, at once;
    // the send is through when the last has arrived.
    const int per_stage = setup_.tp * setup_.cp;
    join->pending = 1;  // held until every flow has started
    for (int j = 0; j < per_stage; ++j) {
      const net::NodeId src = setup_.Gpu(replica, from, j), dst = setup_.Gpu(replica, to, j);
      StartFlow(src, dst, setup_.send_bytes, LatencyBetween(src, dst), join);
    }
    if (--join->pending == 0) join->done(SimTime::Zero());
  }

  // A compute task whose TP, CP or EP group leaves its NVLink domain: the compute, then the
  // groups' exposed time of this chunk as flows (all groups at once), and the task is over when
  // they are; its recorded duration is what it took.
  void RunTask(int replica, int s, Op op, SimTime d, std::int64_t ev) override {
    SimTime cross = SimTime::Zero();
    for (const auto& g : setup_.cross_groups) cross = cross + (op.forward ? g.forward : g.backward);
    if (cross == SimTime::Zero() || cross > d) {
      Engine::RunTask(replica, s, op, d, ev);
      return;
    }
    const SimTime start = sim_->Now();
    sim_->ScheduleAfter(d - cross, [this, replica, s, op, ev, start] {
      Join* join = NewJoin();
      join->start = start;
      join->pending = 1;  // held until every flow has started
      join->done = [this, replica, s, op, ev](SimTime took) {
        SetDuration(ev, took);
        TaskDone(replica, s, op, ev);
      };
      for (const auto& g : setup_.cross_groups) {
        const SimTime t = op.forward ? g.forward : g.backward;
        if (t > SimTime::Zero()) StartCrossRing(replica, s, g, t.ToSeconds(), join);
      }
      if (--join->pending == 0) join->done(sim_->Now() - join->start);
    });
  }

  // Every GPU of the stage (this replica's) sends to the next member of its group, ring-wise,
  // what its path carries in `seconds` when alone.
  void StartCrossRing(int replica, int s, const NetSetup::CrossGroup& g, Seconds seconds,
                      Join* join) {
    const int per_stage = setup_.tp * setup_.cp;
    for (int j = 0; j < per_stage; ++j) {
      const net::NodeId src = setup_.Gpu(replica, s, j);
      const int k = (src / g.stride) % g.size;  // position in its group
      const net::NodeId dst = k + 1 < g.size ? src + g.stride : src - (g.size - 1) * g.stride;
      Result<net::Path> path = network_->router().Route(src, dst, 0);
      if (!path.ok()) {
        Fail(path.status().WithContext(fmt::format("timeline: {} ring: ", g.name)));
        continue;
      }
      double capacity = std::numeric_limits<double>::infinity();
      for (net::LinkId l : *path) {
        capacity = std::min(capacity, network_->topology().link(l).usable_capacity().value());
      }
      StartFlow(src, dst, Bytes(capacity * seconds.value()), Seconds(0), join);
    }
  }

  void StartFlow(net::NodeId src, net::NodeId dst, Bytes bytes, Seconds extra, Join* join) {
    net::FlowOptions o;
    o.extra_latency = extra;
    ++join->pending;
    auto id = network_->StartFlow(
        src, dst, bytes,
        [this, join](const net::FlowRecord&) {
          if (--join->pending == 0) join->done(sim_->Now() - join->start);
        },
        o);
    if (!id.ok()) {
      Fail(id.status());
      if (--join->pending == 0) join->done(sim_->Now() - join->start);
    }
  }

  // A ring collective over `members` (sorted GPU ids): one ring per member of an NVLink domain
  // (each on 1/k of the data) when every domain holds k members and there are several domains,
  // entering even-numbered domains at local index c and leaving at c - 1 and running odd ones
  // backwards, so consecutive domains are joined by GPUs of the same rail. Each neighbour pair of
  // a ring is one flow carrying all `steps` chunks of bytes / (n k); every flow also carries
  // the ring's steps x step latency.
  void StartRing(const std::vector<net::NodeId>& members, double bytes, int steps, Join* join,
                 std::optional<Seconds> step_latency = std::nullopt) {
    const int n = static_cast<int>(members.size());
    if (n < 2 || bytes <= 0) return;
    std::vector<std::vector<net::NodeId>> domains;
    for (net::NodeId g : members) {
      if (domains.empty() || domains.back().front() / setup_.domain != g / setup_.domain) {
        domains.emplace_back();
      }
      domains.back().push_back(g);
    }
    int k = static_cast<int>(domains.front().size());
    for (const auto& d : domains) {
      if (static_cast<int>(d.size()) != k) k = 1;
    }
    if (domains.size() == 1) k = 1;
    const Seconds latency =
        step_latency.value_or(domains.size() > 1 ? setup_.latency_across : setup_.latency_in_domain) *
        static_cast<double>(steps);
    const Bytes per_flow(bytes * steps / (static_cast<double>(n) * k));
    std::vector<net::NodeId> ring;
    ring.reserve(static_cast<std::size_t>(n));
    for (int c = 0; c < k; ++c) {
      ring.clear();
      if (k == 1) {
        ring = members;
      } else {
        for (std::size_t d = 0; d < domains.size(); ++d) {
          const auto& local = domains[d];
          for (int i = 0; i < k; ++i) {
            const int idx = d % 2 == 0 ? (c + i) % k : ((c - 1 - i) % k + 2 * k) % k;
            ring.push_back(local[static_cast<std::size_t>(idx)]);
          }
        }
      }
      for (int i = 0; i < n; ++i) {
        StartFlow(ring[static_cast<std::size_t>(i)], ring[static_cast<std::size_t>((i + 1) % n)],
                  per_flow, latency, join);
      }
    }
  }

  // Runs `first`, then `second`, each starting its flows on the join it is given; `join` is
  // through when `second`'s flows are.
  void Chain(Join* join, const std::function<void(Join*)>& first, std::function<void(Join*)> second) {
    ++join->pending;  // held until `second` has started
    Join* a = NewJoin();
    a->start = sim_->Now();
    a->pending = 1;
    a->done = [this, join, second = std::move(second)](SimTime) {
      second(join);
      if (--join->pending == 0) join->done(sim_->Now() - join->start);
    };
    first(a);
    if (--a->pending == 0) a->done(SimTime::Zero());
  }

  // One DP group's collective, by the algorithm perf::ChooseScatterGather picks for its
  // communicator (the one the step model prices). Rail rings (and the other one-level schemes):
  // ring(s) over rails, `steps` ring steps (n - 1 for a reduce-scatter or an all-gather,
  // 2 (n - 1) for an all-reduce). Two levels: inside each NVLink domain, then rings across the
  // domains among the GPUs of the same local index on 1/k of the data (an all-gather the other
  // way round). A group that spans sites runs hierarchically, as perf prices it: a
  // reduce-scatter inside each site (two levels when perf picks three), then across sites among
  // the GPUs of the same index on 1/per-site of the data; an all-gather the other way round; an
  // all-reduce both, with an all-reduce across sites in the middle.
  enum class DpKind { kReduceScatter, kAllGather, kAllReduce };

  // Splits `members` (sorted) into runs of the same `block` (NVLink domain, site).
  static std::vector<std::vector<net::NodeId>> SplitBy(const std::vector<net::NodeId>& members,
                                                       int block) {
    std::vector<std::vector<net::NodeId>> parts;
    for (net::NodeId g : members) {
      if (parts.empty() || parts.back().front() / block != g / block) parts.emplace_back();
      parts.back().push_back(g);
    }
    return parts;
  }
  static bool SameSizes(const std::vector<std::vector<net::NodeId>>& parts) {
    for (const auto& p : parts) {
      if (p.size() != parts.front().size()) return false;
    }
    return true;
  }

  // The in-domain level: a ring inside each domain at perf's switch-phase latency
  // (ceil(log2 k) steps) with the ring's bytes.
  void StartInDomains(const std::vector<std::vector<net::NodeId>>& domains, double bytes, Join* join) {
    const int k = static_cast<int>(domains.front().size());
    const Seconds step = setup_.latency_in_domain * (std::ceil(std::log2(k)) / (k - 1));
    for (const auto& d : domains) StartRing(d, bytes, k - 1, join, step);
  }
  // The across-domain level: rings among the GPUs of the same local index, `times` x (D - 1)
  // steps each on `bytes`.
  void StartAcrossDomains(const std::vector<std::vector<net::NodeId>>& domains, double bytes,
                          int times, Join* join) {
    const int count = static_cast<int>(domains.size());
    std::vector<net::NodeId> ring(static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < domains.front().size(); ++i) {
      for (int d = 0; d < count; ++d) ring[static_cast<std::size_t>(d)] = domains[static_cast<std::size_t>(d)][i];
      StartRing(ring, bytes, times * (count - 1), join);
    }
  }
  // A collective of `kind` over `members`, which lie in one site: rail rings, or two levels when
  // `two_level` and the members spread evenly, more than one per domain, over several domains.
  void StartInSite(const std::vector<net::NodeId>& members, double bytes, DpKind kind,
                   bool two_level, Join* join) {
    const int n = static_cast<int>(members.size());
    const auto domains = SplitBy(members, setup_.domain);
    const int k = static_cast<int>(domains.front().size());
    if (!two_level || domains.size() < 2 || k < 2 || !SameSizes(domains)) {
      StartRing(members, bytes, (kind == DpKind::kAllReduce ? 2 : 1) * (n - 1), join);
      return;
    }
    auto inside = [this, domains, bytes](Join* j) { StartInDomains(domains, bytes, j); };
    auto across = [this, domains, bytes, k](int times) {
      return [this, domains, bytes, k, times](Join* j) { StartAcrossDomains(domains, bytes / k, times, j); };
    };
    switch (kind) {
      case DpKind::kReduceScatter:
        Chain(join, inside, across(1));
        break;
      case DpKind::kAllGather:
        Chain(join, across(1), inside);
        break;
      case DpKind::kAllReduce:
        Chain(join, inside, [this, inside, across](Join* j) { Chain(j, across(2), inside); });
        break;
    }
  }

  void StartDpGroup(const std::vector<net::NodeId>& members, double bytes, DpKind kind,
                    const perf::CommGroup& group, Join* join) {
    const NetSetup& s = setup_;
    const perf::ScatterGatherScheme scheme = perf::ChooseScatterGather(group, Bytes(bytes));
    const bool two_level = scheme == perf::ScatterGatherScheme::kTwoLevel ||
                           scheme == perf::ScatterGatherScheme::kThreeLevel;
    std::vector<std::vector<net::NodeId>> sites;
    if (s.site_gpus > 0) sites = SplitBy(members, s.site_gpus);
    if (sites.size() < 2 || !SameSizes(sites)) {
      StartInSite(members, bytes, kind, two_level, join);  // one site, or an uneven spread
      return;
    }
    const int per_site = static_cast<int>(sites.front().size());
    const int count = static_cast<int>(sites.size());
    auto inside = [this, sites, bytes, two_level](DpKind phase) {
      return [this, sites, bytes, two_level, phase](Join* j) {
        for (const auto& site : sites) StartInSite(site, bytes, phase, two_level, j);
      };
    };
    auto across = [this, sites, bytes, per_site, count](int times) {
      return [this, sites, bytes, per_site, count, times](Join* j) {
        std::vector<net::NodeId> ring(static_cast<std::size_t>(count));
        for (int i = 0; i < per_site; ++i) {
          for (int k = 0; k < count; ++k) ring[static_cast<std::size_t>(k)] = sites[static_cast<std::size_t>(k)][static_cast<std::size_t>(i)];
          StartRing(ring, bytes / per_site, times * (count - 1), j, setup_.latency_wan);
        }
      };
    };
    switch (kind) {
      case DpKind::kReduceScatter:
        Chain(join, inside(DpKind::kReduceScatter), across(1));
        break;
      case DpKind::kAllGather:
        Chain(join, across(1), inside(DpKind::kAllGather));
        break;
      case DpKind::kAllReduce:
        Chain(join, inside(DpKind::kReduceScatter), [this, inside, across](Join* j) {
          Chain(j, across(2), inside(DpKind::kAllGather));
        });
        break;
    }
  }

  // Starts the DP collective of a stage (all its groups, or one with `replicate`).
  void StartDp(int stage, bool gradients, Join* join) {
    const NetSetup& s = setup_;
    const int base = stage * s.stage_gpus;
    const DpKind kind = !gradients             ? DpKind::kAllGather
                        : s.zero_stage == 0    ? DpKind::kAllReduce
                                               : DpKind::kReduceScatter;
    auto groups = [&](int stride, int count, double bytes, const perf::CommGroup& group) {
      if (bytes <= 0) return;
      const int size = s.stage_gpus / stride;
      for (int g = 0; g < (s.replicate ? 1 : count); ++g) {
        std::vector<net::NodeId> members;
        members.reserve(static_cast<std::size_t>(size));
        for (int i = 0; i < size; ++i) members.push_back(base + g + stride * i);
        StartDpGroup(members, bytes, kind, group, join);
      }
    };
    // Dense parameters: groups of dp x cp GPUs, stride tp; expert parameters: stride ep.
    groups(s.tp, s.tp, (gradients ? s.dense_grad_bytes : s.dense_param_bytes).value(), s.dense_group);
    groups(s.ep, s.ep, (gradients ? s.expert_grad_bytes : s.expert_param_bytes).value(), s.expert_group);
  }

  void StageFinalBackwards(int stage) override {
    if (setup_.zero_stage == 3) return;
    Join* join = NewJoin();
    join->start = sim_->Now();
    join->pending = 1;  // held until every ring has started
    join->done = [this, stage](SimTime d) {
      const auto st = static_cast<std::size_t>(stage);
      rs_duration_[st] = d;
      rs_end_[st] = sim_->Now();
      rs_done_[st] = 1;
      MaybeOptimizer(stage);
    };
    StartDp(stage, true, join);
    if (--join->pending == 0) join->done(SimTime::Zero());
  }

  void StageDone(int stage, std::int64_t last) override {
    const auto st = static_cast<std::size_t>(stage);
    stage_finished_[st] = 1;
    stage_last_[st] = last;
    if (setup_.zero_stage == 3) rs_done_[st] = 1;
    MaybeOptimizer(stage);
  }

  // Once the stage's backwards and its gradient reduce-scatter are both over: the exposed part
  // of the reduce-scatter by the step model's overlap rule, then the optimizer, then the
  // parameter all-gather, whose exposed part overlaps the next iteration's first forward.
  void MaybeOptimizer(int stage) {
    const auto st = static_cast<std::size_t>(stage);
    if (!stage_finished_[st] || !rs_done_[st]) return;
    const SimTime backward_end = EndOf(stage_last_[st]);
    SimTime t = backward_end;
    if (setup_.zero_stage == 3) {
      t = t + analytic_dp_;  // FSDP gathers and scatters per micro-batch: the step model's figure
    } else {
      // The reduce-scatter ran beside the stage's final backwards; the step model's rule says how
      // much of its simulated duration shows beyond them. It cannot end before its flows did.
      const double rs = rs_duration_[st].ToSeconds().value();
      t = std::max(
          t + SimTime::FromSeconds(Seconds(Exposed(rs, b_.value(), setup_.overlap_slowdown))),
          rs_end_[st]);
      dp_simulated_ = std::max(dp_simulated_, rs_duration_[st]);
    }
    std::int64_t pred = stage_last_[st];
    if (t > backward_end) {
      pred = Record(TaskKind::kDpReduceScatter, LastReplica(st), stage, 0, -1, backward_end,
                    t - backward_end, pred);
    }
    const SimTime wait = t > sim_->Now() ? t - sim_->Now() : SimTime::Zero();
    sim_->ScheduleAfter(wait, [this, stage, pred] { Optimizer(stage, pred); });
  }

  int LastReplica(std::size_t stage) const {
    return stage_last_[stage] < 0
               ? 0
               : r_->events[static_cast<std::size_t>(stage_last_[stage])].replica;
  }

  void Optimizer(int stage, std::int64_t pred) {
    const auto st = static_cast<std::size_t>(stage);
    const std::int64_t opt =
        Record(TaskKind::kOptimizer, LastReplica(st), stage, 0, -1, sim_->Now(), optimizer_, pred);
    sim_->ScheduleAfter(optimizer_, [this, stage, opt] { AllGather(stage, opt); });
  }

  void AllGather(int stage, std::int64_t opt) {
    if (setup_.zero_stage == 0 || setup_.zero_stage == 3) {
      Finish(sim_->Now());
      return;
    }
    const SimTime start = sim_->Now();
    Join* join = NewJoin();
    join->start = start;
    join->pending = 1;
    join->done = [this, stage, opt, start](SimTime d) {
      const double exposed = Exposed(d.ToSeconds().value(), f_.value(), setup_.overlap_slowdown);
      const SimTime e = SimTime::FromSeconds(Seconds(exposed));
      if (e > SimTime::Zero()) {
        Record(TaskKind::kDpAllGather, r_->events[static_cast<std::size_t>(opt)].replica, stage, 0,
               -1, start, e, opt);
      }
      Finish(start + e);
    };
    StartDp(stage, false, join);
    if (--join->pending == 0) join->done(SimTime::Zero());
  }

  net::Network* network_;
  std::deque<Join> joins_;
  NetSetup setup_;
  SimTime optimizer_, analytic_dp_;
  Seconds b_, f_;
  Status status_;
  std::vector<SimTime> rs_end_, rs_duration_;
  std::vector<int> rs_done_, stage_finished_;
  std::vector<std::int64_t> stage_last_;
  SimTime dp_simulated_;
};

Result<net::Topology> BuildTopology(const train::Cluster& c, int switch_radix, int* tiers,
                                    int* radix) {
  const int domain = c.DomainSize();
  const int site_gpus = c.SiteSize();
  net::FatTreeSpec spec;
  spec.gpus = site_gpus;
  spec.gpus_per_server = std::max(1, std::min(c.system.gpus_per_node, domain));
  // Links carry line rate x the calibrated collective efficiency of their class, as the step
  // model's tiers do (calibration scale_up / scale_out, data/catalog/calibration.yaml).
  spec.nic_bandwidth = BytesPerSecond(c.fabric.port_bandwidth.value() * c.system.nics_per_gpu *
                                      c.efficiency.scale_out);
  spec.oversubscription = std::max(1.0, c.scale_out_oversubscription);
  spec.nvlink_domain = domain > 1 ? domain : 0;
  spec.nvlink_bandwidth =
      BytesPerSecond(c.accelerator.scale_up_bandwidth.value() * c.efficiency.scale_up);
  int r = switch_radix;
  if (r == 0) r = net::FatTreeMaxGpus(64, 3, spec.gpus_per_server) >= site_gpus ? 64 : 128;
  spec.radix = r;
  spec.tiers = net::FatTreeMaxGpus(r, 2, spec.gpus_per_server) >= site_gpus ? 2 : 3;
  *tiers = spec.tiers;
  *radix = r;
  if (c.sites <= 1) return net::BuildRailFatTree(spec);
  net::MultiSiteSpec ms;
  ms.sites.assign(static_cast<std::size_t>(c.sites), spec);
  // The WAN: wan_bandwidth per site and direction (train::Cluster), split over the site's
  // links to the others, at the fabric's efficiency as in the step model.
  ms.wan = net::FullMeshWan(
      c.sites, BytesPerSecond(c.wan_bandwidth.value() * c.efficiency.scale_out / (c.sites - 1)),
      c.wan_latency);
  return net::BuildMultiSite(ms);
}

std::string TierOf(const net::Topology& t, const net::Link& l) {
  using net::NodeKind;
  const NodeKind a = t.node(l.from).kind, b = t.node(l.to).kind;
  auto is = [&](NodeKind x, NodeKind y) { return (a == x && b == y) || (a == y && b == x); };
  if (is(NodeKind::kGpu, NodeKind::kNvSwitch)) return "nvlink";
  if (is(NodeKind::kGpu, NodeKind::kLeaf)) return "nic";
  if (is(NodeKind::kLeaf, NodeKind::kSpine)) return "leaf-spine";
  if (is(NodeKind::kSpine, NodeKind::kCore)) return "spine-core";
  if (is(NodeKind::kGateway, NodeKind::kGateway)) return "wan";
  if (a == NodeKind::kGateway || b == NodeKind::kGateway) return "gateway";
  return "other";
}

void FillCriticalPath(IterationResult* r) {
  if (r->events.empty()) return;
  std::int64_t last = 0;
  double last_end = -1;
  for (std::size_t i = 0; i < r->events.size(); ++i) {
    const double end = r->events[i].start.value() + r->events[i].duration.value();
    if (end > last_end) {  // first of equal ends: the earliest recorded
      last_end = end;
      last = static_cast<std::int64_t>(i);
    }
  }
  std::vector<double> by_kind(static_cast<std::size_t>(TaskKind::kOptimizer) + 1, 0.0);
  for (std::int64_t e = last; e >= 0; e = r->events[static_cast<std::size_t>(e)].predecessor) {
    r->critical_path.events.push_back(e);
    const TraceEvent& ev = r->events[static_cast<std::size_t>(e)];
    by_kind[static_cast<std::size_t>(ev.kind)] += ev.duration.value();
  }
  std::reverse(r->critical_path.events.begin(), r->critical_path.events.end());
  r->critical_path.replica = r->events[static_cast<std::size_t>(last)].replica;
  for (std::size_t k = 0; k < by_kind.size(); ++k) {
    if (by_kind[k] > 0)
      r->critical_path.time_by_kind.emplace_back(static_cast<TaskKind>(k), Seconds(by_kind[k]));
  }
}

void FillUtilization(IterationResult* r) {
  const int replica = r->straggler_replica >= 0 ? r->straggler_replica : 0;
  r->utilization.assign(static_cast<std::size_t>(r->stages), {});
  for (int s = 0; s < r->stages; ++s) r->utilization[static_cast<std::size_t>(s)].stage = s;
  const double t = r->iteration_time.value();
  if (t <= 0) return;
  for (const TraceEvent& ev : r->events) {
    // DP comm and the optimizer are recorded once per stage (on the replica that ended it).
    if (ev.replica != replica && ev.micro_batch >= 0) continue;
    StageUtilization& u = r->utilization[static_cast<std::size_t>(ev.stage)];
    (ev.lane() == Lane::kCompute ? u.compute : u.comm) += ev.duration.value() / t;
  }
}

void AppendEscaped(std::string* out, const std::string& s) {
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          *out += c;
        }
    }
  }
}

}  // namespace

Result<net::Topology> BuildClusterTopology(const train::Cluster& cluster, int switch_radix) {
  int tiers = 0, radix = 0;
  return BuildTopology(cluster, switch_radix, &tiers, &radix);
}

Result<IterationResult> SimulateIteration(const train::TrainingJob& job,
                                          const train::Cluster& cluster,
                                          const train::ParallelPlan& plan,
                                          const IterationOptions& options) {
  AIF_ASSIGN_OR_RETURN(train::StepEstimate e, train::EstimateStep(job, cluster, plan));
  const int pp = plan.pp;
  const int vp = std::max(1, plan.vp);
  const int m = e.grad_accumulation;
  if (m < 1) return InvalidArgument(fmt::format("timeline: gradient accumulation {} < 1", m));
  for (double scale : options.stage_compute_scale) {
    if (!(scale > 0) || !std::isfinite(scale)) {
      return InvalidArgument(
          fmt::format("timeline: stage_compute_scale {} must be positive and finite", scale));
    }
  }
  if (static_cast<int>(options.stage_compute_scale.size()) > pp) {
    return InvalidArgument(fmt::format("timeline: stage_compute_scale has {} entries for {} stages",
                                       options.stage_compute_scale.size(), pp));
  }
  if (options.straggler_replica < 0 || options.straggler_replica >= plan.dp) {
    return InvalidArgument(fmt::format("timeline: straggler replica {} is not in [0, {})",
                                       options.straggler_replica, plan.dp));
  }
  if (options.send_time &&
      (!(options.send_time->value() >= 0) || !std::isfinite(options.send_time->value()))) {
    return InvalidArgument("timeline: send_time must be non-negative and finite");
  }

  double per_mb = 0;
  for (TimeComponent c : {TimeComponent::kGemm, TimeComponent::kAttention, TimeComponent::kMoeGemm,
                          TimeComponent::kElementwise, TimeComponent::kRecompute,
                          TimeComponent::kTpComm, TimeComponent::kCpComm, TimeComponent::kEpComm,
                          TimeComponent::kHostLaunch, TimeComponent::kOffload}) {
    per_mb += e.at(c).value();
  }
  per_mb /= m;
  const double recompute = e.at(TimeComponent::kRecompute).value() / m;
  const double f = (per_mb - recompute) / 3;
  const double b = 2 * (per_mb - recompute) / 3 + recompute;
  // The sends the step model puts on the critical path: vp x pp - 1 each way in the first
  // forward and the last backward, plus those of the steady state.
  const double sends = 2.0 * (vp * pp - 1) + train::PipelineSteadyStateSends(pp, vp, m);
  const double send = options.send_time ? options.send_time->value()
                      : pp > 1          ? e.at(TimeComponent::kPpComm).value() / sends
                                        : 0.0;

  IterationResult r;
  r.stages = pp;
  r.virtual_stages = vp;
  r.micro_batches = m;
  r.replicas = plan.dp;
  r.forward_time = Seconds(f);
  r.backward_time = Seconds(b);
  r.send_time = Seconds(send);
  r.dp_time = e.at(TimeComponent::kDpComm);
  r.optimizer_time = e.at(TimeComponent::kOptimizer);
  bool slow = false;
  for (double s : options.stage_compute_scale) slow = slow || s != 1.0;
  r.straggler_replica = slow ? options.straggler_replica : -1;

  std::vector<SimTime> fwd, bwd, slow_fwd, slow_bwd;
  for (int s = 0; s < pp; ++s) {
    const auto su = static_cast<std::size_t>(s);
    const double scale =
        su < options.stage_compute_scale.size() ? options.stage_compute_scale[su] : 1.0;
    fwd.push_back(SimTime::FromSeconds(Seconds(f / vp)));
    bwd.push_back(SimTime::FromSeconds(Seconds(b / vp)));
    slow_fwd.push_back(SimTime::FromSeconds(Seconds(f / vp * scale)));
    slow_bwd.push_back(SimTime::FromSeconds(Seconds(b / vp * scale)));
  }
  const SimTime optimizer = SimTime::FromSeconds(r.optimizer_time);
  const SimTime dp = SimTime::FromSeconds(r.dp_time);

  des::Simulator sim;
  if (!options.network) {
    const int straggler = slow ? 0 : -1;
    AnalyticEngine engine(&sim, pp, vp, m, std::move(fwd), std::move(bwd), std::move(slow_fwd),
                          std::move(slow_bwd), straggler, SimTime::FromSeconds(Seconds(send)), dp,
                          optimizer, &r);
    if (slow) r.straggler_replica = 0;
    engine.Start();
    sim.Run();
    if (!engine.done()) {
      return Internal(fmt::format("timeline: the pipeline schedule deadlocked (pp {}, vp {}, m {})",
                                  pp, vp, m));
    }
    r.pipeline_time = engine.pipeline_end().ToSeconds();
    r.iteration_time = engine.end().ToSeconds();
  } else {
    int tiers = 0, radix = 0;
    AIF_ASSIGN_OR_RETURN(net::Topology topo,
                         BuildTopology(cluster, options.switch_radix, &tiers, &radix));
    NetSetup setup;
    setup.tp = plan.tp;
    setup.cp = plan.cp;
    setup.dp = plan.dp;
    setup.ep = std::max(1, plan.ep);
    setup.pp = pp;
    setup.stage_gpus = plan.tp * plan.cp * plan.dp;
    setup.domain = std::max(1, cluster.DomainSize());
    setup.zero_stage = plan.zero_stage;
    setup.replicate = options.replicate;
    setup.latency_in_domain = cluster.efficiency.scale_up_latency;
    setup.latency_across = cluster.fabric.latency;
    if (cluster.sites > 1) {
      setup.site_gpus = cluster.SiteSize();
      setup.latency_wan = cluster.wan_latency;
    }
    setup.overlap_slowdown = cluster.efficiency.overlap_slowdown;
    // TP, CP and EP groups that leave their NVLink domain run their exposed time as flows.
    auto cross = [&](const char* name, int size, int stride, TimeComponent c) {
      if (size <= 1 || perf::RanksPerDomain(size, stride, setup.domain) >= size) return;
      const double per_chunk = e.at(c).value() / m / vp;
      if (!(per_chunk > 0)) return;
      setup.cross_groups.push_back(
          {name, size, stride, SimTime::FromSeconds(Seconds(per_chunk / 3)),
           SimTime::FromSeconds(Seconds(2 * per_chunk / 3))});
    };
    cross("tp", plan.tp, 1, TimeComponent::kTpComm);
    cross("cp", plan.cp, plan.tp, TimeComponent::kCpComm);
    cross("ep", setup.ep, 1, TimeComponent::kEpComm);
    setup.dense_group = train::CommGroupOf(cluster, plan.dp * plan.cp, plan.tp, job.nccl_max_ctas.dp);
    setup.expert_group =
        train::CommGroupOf(cluster, std::max(1, plan.dp * plan.cp * plan.tp / setup.ep), setup.ep);
    // One micro-batch's activations per GPU at a stage boundary, as the step model sends them:
    // micro_batch x seq / cp tokens (/ tp with sequence parallelism) x hidden, BF16.
    double tokens = 1.0 * plan.micro_batch * job.seq_len / plan.cp;
    if (plan.sequence_parallel) tokens /= plan.tp;
    setup.send_bytes = Bytes(tokens * job.model.hidden * 2.0);
    // DP traffic per GPU, as the step model counts it (train/step_model.cc): the heaviest
    // stage's dense parameters (its layers' share plus the embedding) / tp, experts / ep; BF16
    // gradients, parameters gathered as train::GatheredBytesPerParameter says. LoRA trains no
    // base weights and sends none.
    if (job.task != train::TaskKind::kLora) {
      const train::ParameterCount pc = train::CountParameters(job.model);
      const double dense =
          pc.attention + pc.dense_mlp + pc.shared_experts + pc.router + pc.norms + pc.mtp;
      const double experts = pc.routed_experts + pc.mtp_routed_experts;
      const double dense_local =
          dense / pp / plan.tp + 1.0 * job.model.vocab * job.model.hidden / plan.tp;
      const double expert_local = experts / pp / setup.ep;
      setup.dense_grad_bytes = Bytes(dense_local * 2);
      const double gathered = train::GatheredBytesPerParameter(job, plan);
      setup.dense_param_bytes = Bytes(dense_local * gathered);
      setup.expert_grad_bytes = Bytes(expert_local * 2);
      setup.expert_param_bytes = Bytes(expert_local * gathered);
    }
    if (!(options.wan_capacity_scale > 0) || !std::isfinite(options.wan_capacity_scale)) {
      return InvalidArgument(fmt::format("timeline: wan_capacity_scale {} must be positive",
                                         options.wan_capacity_scale));
    }
    // Millions of flows start over an iteration of a whole factory; only those in progress are
    // kept (the engine reads each through its completion callback).
    const net::RoutingPolicy routing = options.routing.value_or(
        cluster.adaptive_routing ? net::RoutingPolicy::kAdaptive : net::RoutingPolicy::kEcmp);
    net::Network network(&sim, std::move(topo),
                         net::NetworkOptions{.keep_completed_flows = false, .routing = routing});
    std::vector<std::string> failed;
    for (int l : options.failed_links) {
      AIF_RETURN_IF_ERROR(network.FailLink(l).WithContext("timeline: "));
      failed.push_back(network.topology().LinkName(l));
    }
    if (options.wan_capacity_scale != 1) {
      const net::Topology& t = network.topology();
      for (net::LinkId l = 0; l < t.link_count(); ++l) {
        if (TierOf(t, t.link(l)) == "wan") {
          AIF_RETURN_IF_ERROR(network.ScaleLinkCapacity(l, options.wan_capacity_scale));
        }
      }
    }
    const int replicas = options.replicate ? 1 : plan.dp;
    const int straggler = slow ? std::min(options.straggler_replica, replicas - 1) : -1;
    if (slow) r.straggler_replica = straggler;
    NetworkEngine engine(&sim, &network, setup, pp, vp, m, replicas, std::move(fwd), std::move(bwd),
                         std::move(slow_fwd), std::move(slow_bwd), straggler, optimizer, dp,
                         Seconds(b), Seconds(f), &r);
    engine.Start();
    sim.Run();
    AIF_RETURN_IF_ERROR(engine.status());
    if (!engine.done()) {
      return Internal(fmt::format("timeline: the pipeline schedule deadlocked (pp {}, vp {}, m {})",
                                  pp, vp, m));
    }
    r.pipeline_time = engine.pipeline_end().ToSeconds();
    r.iteration_time = engine.end().ToSeconds();
    r.dp_time =
        Seconds(r.iteration_time.value() - r.pipeline_time.value() - r.optimizer_time.value());

    NetworkSummary ns;
    const net::Topology& t = network.topology();
    ns.gpus = t.gpu_count();
    ns.nodes = t.node_count();
    ns.links = t.link_count();
    ns.tiers = tiers;
    ns.radix = radix;
    ns.routing = routing;
    const net::NetworkStats& st = network.stats();
    ns.flows = static_cast<std::int64_t>(st.flows_started);
    ns.recomputations = static_cast<std::int64_t>(st.recomputations);
    ns.flow_rate_updates = static_cast<std::int64_t>(st.flow_rate_updates);
    ns.bytes_started = st.bytes_started;
    ns.bytes_delivered = st.bytes_delivered;
    ns.replicas = plan.dp;
    ns.failed_links = std::move(failed);
    ns.replicas_simulated = replicas;
    ns.dp_comm_simulated = engine.dp_simulated().ToSeconds();
    const double iter = r.iteration_time.value();
    std::vector<std::string> order = {"nvlink",  "nic", "leaf-spine", "spine-core",
                                      "gateway", "wan", "other"};
    std::vector<LinkTierUsage> tiers_usage(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) tiers_usage[i].tier = order[i];
    for (net::LinkId l = 0; l < t.link_count(); ++l) {
      const net::Link& link = t.link(l);
      const std::string tier = TierOf(t, link);
      const auto idx =
          static_cast<std::size_t>(std::find(order.begin(), order.end(), tier) - order.begin());
      const net::LinkUsage u = network.link_usage(l);
      const double cap = link.usable_capacity().value();
      LinkTierUsage& tu = tiers_usage[idx];
      ++tu.links;
      tu.carried = tu.carried + u.carried;
      const double util = iter > 0 ? u.carried.value() / (cap * iter) : 0;
      tu.mean_utilization += util;
      tu.max_utilization = std::max(tu.max_utilization, util);
      if (u.busy.value() > 0) {
        ns.max_link_load = std::max(ns.max_link_load, u.carried.value() / (cap * u.busy.value()));
      }
    }
    for (LinkTierUsage& tu : tiers_usage) {
      if (tu.links == 0) continue;
      tu.mean_utilization /= tu.links;
      ns.tiers_usage.push_back(tu);
    }
    r.network = std::move(ns);
  }
  r.des_events = static_cast<std::int64_t>(sim.events_run());
  r.estimate = e;
  // Start order; ties keep the recording order. Predecessor indices follow the permutation.
  std::vector<std::size_t> perm(r.events.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::stable_sort(perm.begin(), perm.end(), [&](std::size_t a, std::size_t b2) {
    return r.events[a].start.value() < r.events[b2].start.value();
  });
  std::vector<std::int64_t> where(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) where[perm[i]] = static_cast<std::int64_t>(i);
  std::vector<TraceEvent> sorted;
  sorted.reserve(perm.size());
  for (std::size_t i : perm) {
    TraceEvent ev = r.events[i];
    if (ev.predecessor >= 0) ev.predecessor = where[static_cast<std::size_t>(ev.predecessor)];
    sorted.push_back(ev);
  }
  r.events = std::move(sorted);
  FillCriticalPath(&r);
  FillUtilization(&r);
  return r;
}

std::string ChromeTraceJson(const IterationResult& result, bool all_replicas) {
  std::set<int> shown = {0, result.critical_path.replica};
  if (result.straggler_replica >= 0) shown.insert(result.straggler_replica);
  auto show = [&](int replica) { return all_replicas || shown.count(replica) > 0; };
  std::string out = "{\"traceEvents\":[";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ',';
    first = false;
  };
  std::set<int> replicas;
  for (const TraceEvent& ev : result.events) {
    if (show(ev.replica)) replicas.insert(ev.replica);
  }
  for (int rep : replicas) {
    sep();
    out += fmt::format(
        "\n{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"args\":{{\"name\":"
        "\"replica {}\"}}}}",
        rep, rep);
    for (int s = 0; s < result.stages; ++s) {
      for (int lane = 0; lane < 2; ++lane) {
        sep();
        out += fmt::format(
            "\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},"
            "\"args\":{{\"name\":\"stage {} {}\"}}}}",
            rep, 2 * s + lane, s, lane == 0 ? "compute" : "comm");
      }
    }
  }
  for (const TraceEvent& ev : result.events) {
    if (!show(ev.replica)) continue;
    sep();
    out += "\n{\"name\":\"";
    AppendEscaped(&out, ev.Name());
    out += fmt::format(
        "\",\"cat\":\"{}\",\"ph\":\"X\",\"ts\":{:.3f},\"dur\":{:.3f},\"pid\":{},\"tid\":{}}}",
        LaneName(ev.lane()), ev.start.value() * 1e6, ev.duration.value() * 1e6, ev.replica,
        2 * ev.stage + (ev.lane() == Lane::kCompute ? 0 : 1));
  }
  out += "\n],\"displayTimeUnit\":\"ms\"}\n";
  return out;
}

}  // namespace aif::timeline
