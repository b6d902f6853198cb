#include "aifactory/timeline/iteration.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "aifactory/des/sim_time.h"
#include "aifactory/des/simulator.h"

namespace aif::timeline {

const char* LaneName(Lane lane) {
  switch (lane) {
    case Lane::kCompute: return "compute";
    case Lane::kComm: return "comm";
  }
  return "?";
}

namespace {

using des::SimTime;
using train::TimeComponent;

struct Op {
  bool forward = true;
  int micro_batch = 0;
};

// Non-interleaved 1F1B (PipeDream-Flush / Megatron): stage s runs min(pp - s - 1, m) warm-up
// forwards, then alternates one forward and one backward, then drains the remaining backwards.
std::vector<Op> OneFOneBOrder(int stage, int stages, int m) {
  const int warmup = std::min(stages - stage - 1, m);
  std::vector<Op> order;
  order.reserve(static_cast<std::size_t>(2 * m));
  for (int i = 0; i < warmup; ++i) order.push_back({true, i});
  for (int i = 0; i < m - warmup; ++i) {
    order.push_back({true, warmup + i});
    order.push_back({false, i});
  }
  for (int i = m - warmup; i < m; ++i) order.push_back({false, i});
  return order;
}

// The pipeline of one replica on the simulator.
class Pipeline {
 public:
  Pipeline(des::Simulator* sim, int stages, int m, std::vector<SimTime> fwd, std::vector<SimTime> bwd,
           SimTime send, std::vector<TraceEvent>* events)
      : sim_(sim), stages_(stages), m_(m), fwd_(std::move(fwd)), bwd_(std::move(bwd)), send_(send),
        events_(events), state_(static_cast<std::size_t>(stages)) {
    for (int s = 0; s < stages_; ++s) {
      StageState& st = state_[static_cast<std::size_t>(s)];
      st.order = OneFOneBOrder(s, stages_, m_);
      st.fwd_in.assign(static_cast<std::size_t>(m_), s == 0);
      st.bwd_in.assign(static_cast<std::size_t>(m_), false);
    }
  }

  void Start() {
    for (int s = 0; s < stages_; ++s) TryStart(s);
  }
  SimTime end() const { return end_; }
  bool done() const {
    return std::all_of(state_.begin(), state_.end(),
                       [](const StageState& st) { return !st.busy && st.next == st.order.size(); });
  }

 private:
  struct StageState {
    std::vector<Op> order;
    std::size_t next = 0;
    bool busy = false;
    std::vector<bool> fwd_in;  // the micro-batch's activations have arrived
    std::vector<bool> bwd_in;  // its gradients have arrived (last stage: its own forward is done)
  };

  StageState& at(int s) { return state_[static_cast<std::size_t>(s)]; }

  void Record(std::string name, int stage, Lane lane, SimTime duration) {
    events_->push_back({std::move(name), stage, lane, sim_->Now().ToSeconds(), duration.ToSeconds()});
  }

  void TryStart(int s) {
    StageState& st = at(s);
    if (st.busy || st.next == st.order.size()) return;
    const Op op = st.order[st.next];
    const auto i = static_cast<std::size_t>(op.micro_batch);
    if (!(op.forward ? st.fwd_in[i] : st.bwd_in[i])) return;
    st.busy = true;
    ++st.next;
    const SimTime d = op.forward ? fwd_[static_cast<std::size_t>(s)] : bwd_[static_cast<std::size_t>(s)];
    Record(fmt::format("{}{}", op.forward ? 'F' : 'B', op.micro_batch), s, Lane::kCompute, d);
    sim_->ScheduleAfter(d, [this, s, op] { Done(s, op); });
  }

  void Done(int s, Op op) {
    at(s).busy = false;
    end_ = std::max(end_, sim_->Now());
    const auto i = static_cast<std::size_t>(op.micro_batch);
    if (op.forward && s == stages_ - 1) {
      at(s).bwd_in[i] = true;
    } else if (op.forward) {
      Send(s, s + 1, true, op.micro_batch);
    } else if (s > 0) {
      Send(s, s - 1, false, op.micro_batch);
    }
    TryStart(s);
  }

  void Send(int from, int to, bool forward, int micro_batch) {
    auto arrive = [this, to, forward, micro_batch] {
      StageState& st = at(to);
      (forward ? st.fwd_in : st.bwd_in)[static_cast<std::size_t>(micro_batch)] = true;
      TryStart(to);
    };
    if (send_ == SimTime::Zero()) {
      arrive();
      return;
    }
    Record(fmt::format("send {}{}", forward ? 'F' : 'B', micro_batch), from, Lane::kComm, send_);
    sim_->ScheduleAfter(send_, arrive);
  }

  des::Simulator* sim_;
  int stages_;
  int m_;
  std::vector<SimTime> fwd_;
  std::vector<SimTime> bwd_;
  SimTime send_;
  std::vector<TraceEvent>* events_;
  std::vector<StageState> state_;
  SimTime end_;
};

void AppendEscaped(std::string* out, const std::string& s) {
  for (char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
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

Result<IterationResult> SimulateIteration(const train::TrainingJob& job, const train::Cluster& cluster,
                                          const train::ParallelPlan& plan, const IterationOptions& options) {
  if (plan.vp > 1) {
    return Unsupported(fmt::format("timeline: interleaved 1F1B (vp = {}) is not simulated yet; use vp = 1",
                                   plan.vp));
  }
  AIF_ASSIGN_OR_RETURN(train::StepEstimate e, train::EstimateStep(job, cluster, plan));
  const int pp = plan.pp;
  const int m = e.grad_accumulation;
  if (m < 1) return InvalidArgument(fmt::format("timeline: gradient accumulation {} < 1", m));
  for (double scale : options.stage_compute_scale) {
    if (!(scale > 0) || !std::isfinite(scale)) {
      return InvalidArgument(fmt::format("timeline: stage_compute_scale {} must be positive and finite", scale));
    }
  }
  if (options.send_time && (!(options.send_time->value() >= 0) || !std::isfinite(options.send_time->value()))) {
    return InvalidArgument("timeline: send_time must be non-negative and finite");
  }

  double per_mb = 0;
  for (TimeComponent c : {TimeComponent::kGemm, TimeComponent::kAttention, TimeComponent::kMoeGemm,
                          TimeComponent::kElementwise, TimeComponent::kRecompute, TimeComponent::kTpComm,
                          TimeComponent::kCpComm, TimeComponent::kEpComm, TimeComponent::kHostLaunch,
                          TimeComponent::kOffload}) {
    per_mb += e.at(c).value();
  }
  per_mb /= m;
  const double recompute = e.at(TimeComponent::kRecompute).value() / m;
  const double f = (per_mb - recompute) / 3;
  const double b = 2 * (per_mb - recompute) / 3 + recompute;
  const double send = options.send_time ? options.send_time->value()
                      : pp > 1          ? e.at(TimeComponent::kPpComm).value() / (2.0 * (pp - 1))
                                        : 0.0;

  IterationResult r;
  r.stages = pp;
  r.micro_batches = m;
  r.forward_time = Seconds(f);
  r.backward_time = Seconds(b);
  r.send_time = Seconds(send);
  r.dp_time = e.at(TimeComponent::kDpComm);
  r.optimizer_time = e.at(TimeComponent::kOptimizer);

  std::vector<SimTime> fwd, bwd;
  for (int s = 0; s < pp; ++s) {
    const auto su = static_cast<std::size_t>(s);
    const double scale = su < options.stage_compute_scale.size() ? options.stage_compute_scale[su] : 1.0;
    fwd.push_back(SimTime::FromSeconds(Seconds(f * scale)));
    bwd.push_back(SimTime::FromSeconds(Seconds(b * scale)));
  }

  des::Simulator sim;
  Pipeline pipeline(&sim, pp, m, std::move(fwd), std::move(bwd), SimTime::FromSeconds(Seconds(send)), &r.events);
  pipeline.Start();
  sim.Run();
  if (!pipeline.done()) return Internal("timeline: the 1F1B schedule deadlocked");

  const SimTime pipeline_end = pipeline.end();
  const SimTime dp = SimTime::FromSeconds(r.dp_time);
  const SimTime opt = SimTime::FromSeconds(r.optimizer_time);
  for (int s = 0; s < pp; ++s) {
    if (dp > SimTime::Zero()) r.events.push_back({"dp comm", s, Lane::kComm, pipeline_end.ToSeconds(), dp.ToSeconds()});
  }
  for (int s = 0; s < pp; ++s) {
    if (opt > SimTime::Zero()) {
      r.events.push_back({"optimizer", s, Lane::kCompute, (pipeline_end + dp).ToSeconds(), opt.ToSeconds()});
    }
  }
  r.pipeline_time = pipeline_end.ToSeconds();
  r.iteration_time = (pipeline_end + dp + opt).ToSeconds();
  r.estimate = e;
  return r;
}

std::string ChromeTraceJson(const IterationResult& result) {
  std::string out = "{\"traceEvents\":[";
  bool first = true;
  for (const TraceEvent& ev : result.events) {
    if (!first) out += ',';
    first = false;
    out += "\n{\"name\":\"";
    AppendEscaped(&out, ev.name);
    out += fmt::format("\",\"cat\":\"{}\",\"ph\":\"X\",\"ts\":{:.3f},\"dur\":{:.3f},\"pid\":{},\"tid\":{}}}",
                       LaneName(ev.lane), ev.start.value() * 1e6, ev.duration.value() * 1e6, ev.stage,
                       ev.lane == Lane::kCompute ? 0 : 1);
  }
  out += "\n],\"displayTimeUnit\":\"ms\"}\n";
  return out;
}

}  // namespace aif::timeline
