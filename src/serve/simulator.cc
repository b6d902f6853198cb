#include "aifactory/serve/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <list>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>

#include "aifactory/core/check.h"
#include "aifactory/core/strings.h"
#include "aifactory/des/simulator.h"
#include "aifactory/net/network.h"
#include "aifactory/net/topology.h"

namespace aif::serve {
namespace {

enum class BackendKind { kLlm, kSpeech, kProvider };

struct BackendRef {
  BackendKind kind = BackendKind::kLlm;
  int index = 0;
};

// Per-request progress.
struct RequestState {
  int fill_target = 0;  // tokens the next prefill must put in the cache
  int prefilled = 0;
  int generated = 0;
  int blocks = 0;
  int engine = -1;
  double first_token_s = -1;
  double done_s = -1;
  bool rejected = false;
  bool fallback = false;
  bool prefill_only = false;  // leaves its engine after the first token (disaggregated prefill)
};

// One engine: an instance, or one pipeline slot of an instance with PP > 1 (PP stages run PP
// batches at once, each through all stages: vLLM's virtual engines).
struct Engine {
  int pool = 0;
  int instance = 0;
  long long capacity = 0;
  long long free_blocks = 0;
  long long peak_used = 0;
  std::deque<int> waiting;
  long long waiting_tokens = 0;  // prompt tokens of the waiting requests
  std::vector<int> running;
  bool busy = false;
  double busy_s = 0;
  long long iterations = 0;
  // The batch in flight: requests with the tokens each gets this iteration.
  std::vector<std::pair<int, int>> batch;
  std::map<uint32_t, long long> prefix_cache;  // prefix group -> last use (iteration counter)
  // Block-hash prefix cache (LRU, at most block_cache_capacity hashes): lookups only, never
  // iterated, so its order cannot reach the results.
  std::list<uint32_t> block_lru;
  std::unordered_map<uint32_t, std::list<uint32_t>::iterator> block_cache;
  size_t block_cache_capacity = 0;
};

struct Event {
  double t;
  uint64_t seq;
  int kind;  // 0 iteration end (id = engine), 1 KV arrives at decode pool (id = request), 2
             // departure
  int id;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

double Interpolate(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  double pos = (sorted.size() - 1) * p;
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

class Simulation {
 public:
  Simulation(const ServeScenario& s, const SimulateOptions& o) : s_(s), options_(o) {}

  Result<ServeResult> Run();

 private:
  Status Setup();
  void Arrive(int r, double now);
  bool RouteTo(int r, const BackendRef& b, double now);
  void EnqueueLlm(int r, int pool, double now, bool decode_only, int engine = -1);
  Status SetupKvNetwork();
  void StartKvTransfer(int r, int prefill_engine, double now);
  // Runs the KV network's events up to `t` (the next serve event), stopping early at the first
  // transfer that completes (it pushes a serve event at its time). Returns whether one did.
  bool AdvanceKvNetwork(double t);
  void StartIteration(int e, double now);
  void EndIteration(int e, double now);
  void Complete(int r, double now);
  void Advance(double now) {
    area_ += in_system_ * (now - last_t_);
    last_t_ = now;
  }
  void Push(double t, int kind, int id) { events_.push(Event{t, seq_++, kind, id}); }
  bool PoolSaturated(int pool) const;
  BackendView View(int r, const BackendRef& b, double now);

  const ServeScenario& s_;
  SimulateOptions options_;
  std::vector<RequestState> st_;
  std::vector<Engine> engines_;
  std::vector<std::vector<int>> pool_engines_;
  std::vector<int> decode_pool_of_;   // prefill pool -> decode pool index
  std::vector<double> prefill_rate_;  // tokens/s at a full token budget, per pool
  std::vector<double> decode_step_;   // iteration time of a 64-sequence decode batch, per pool
  std::vector<std::vector<BackendRef>> task_backends_;
  std::vector<std::unique_ptr<RoutingPolicy>> policies_;
  std::vector<std::vector<std::deque<double>>> speech_queue_;  // per pool, per instance: ends
  std::vector<std::vector<double>> speech_free_;
  std::vector<std::deque<double>> provider_window_;  // admissions in the last minute
  std::vector<std::priority_queue<double, std::vector<double>, std::greater<>>> provider_inflight_;
  std::vector<BackendResult> backend_results_;
  std::vector<int> served_by_;  // backend result index per request
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  uint64_t seq_ = 0;
  double area_ = 0, last_t_ = 0;
  long long in_system_ = 0;
  std::vector<BackendView> views_;
  std::vector<int> order_;
  // KV transfers of disaggregated pools: flows on a star network, one node per prefill and per
  // decode instance, each with its kv_link to / from one non-blocking switch.
  std::unique_ptr<des::Simulator> kv_des_;
  std::unique_ptr<net::Network> kv_net_;
  std::vector<net::NodeId> first_node_;  // per pool: the node of its instance 0 (-1: none)
  std::vector<int> kv_engine_;           // per request: the decode engine its KV goes to
  std::vector<double> kv_start_;         // per request: when its transfer started
  std::vector<int> incoming_;            // per engine: KV transfers heading to it
  std::vector<double> kv_durations_;
  double kv_bytes_ = 0;
  bool kv_arrived_ = false;
  bool kv_reached_ = false;
};

Status Simulation::Setup() {
  AIF_RETURN_IF_ERROR(ValidateScenario(s_));
  std::map<std::string, BackendRef> by_name;
  for (size_t i = 0; i < s_.pools.size(); ++i)
    by_name[s_.pools[i].name] = {BackendKind::kLlm, static_cast<int>(i)};
  for (size_t i = 0; i < s_.speech.size(); ++i)
    by_name[s_.speech[i].name] = {BackendKind::kSpeech, static_cast<int>(i)};
  for (size_t i = 0; i < s_.providers.size(); ++i) {
    by_name[s_.providers[i].name] = {BackendKind::kProvider, static_cast<int>(i)};
  }
  pool_engines_.resize(s_.pools.size());
  decode_pool_of_.assign(s_.pools.size(), -1);
  for (size_t p = 0; p < s_.pools.size(); ++p) {
    const LlmPool& pool = s_.pools[p];
    const EngineModel& m = *pool.engine;
    const int slots = m.plan().pp;
    for (int i = 0; i < pool.instances; ++i) {
      for (int k = 0; k < slots; ++k) {
        Engine e;
        e.pool = static_cast<int>(p);
        e.instance = i;
        e.capacity = std::max<long long>(1, m.kv_blocks() / slots);
        e.free_blocks = e.capacity;
        e.block_cache_capacity = static_cast<size_t>(std::max<long long>(
            1, e.capacity * m.options().block_tokens / std::max(1, s_.hash_block_tokens)));
        pool_engines_[p].push_back(static_cast<int>(engines_.size()));
        engines_.push_back(std::move(e));
      }
    }
    if (pool.role == PoolRole::kPrefill) decode_pool_of_[p] = by_name.at(pool.decode_pool).index;
    IterationShape full;
    full.prefill_tokens = m.options().max_batch_tokens;
    full.prefill_attention = full.prefill_tokens * 1024.0;
    full.logits = 1;
    prefill_rate_.push_back(full.prefill_tokens / m.IterationTime(full).value());
    IterationShape dec;
    dec.decode_sequences = 64;
    dec.decode_context = 64 * 1024.0;
    dec.logits = 64;
    decode_step_.push_back(m.IterationTime(dec).value());
    BackendResult br;
    br.name = pool.name;
    br.kind = "llm";
    br.plan = m.plan().ToString();
    br.instances = pool.instances;
    br.gpus = pool.instances * m.plan().gpus();
    br.kv_blocks = engines_[pool_engines_[p].front()].capacity;
    backend_results_.push_back(br);
  }
  for (const SpeechPool& sp : s_.speech) {
    speech_queue_.emplace_back(sp.instances);
    speech_free_.emplace_back(sp.instances, 0.0);
    BackendResult br;
    br.name = sp.name;
    br.kind = "speech";
    br.plan = fmt::format("{} GPU per instance", sp.gpus_per_instance);
    br.instances = sp.instances;
    br.gpus = sp.instances * sp.gpus_per_instance;
    backend_results_.push_back(br);
  }
  provider_window_.resize(s_.providers.size());
  provider_inflight_.resize(s_.providers.size());
  for (const Provider& pr : s_.providers) {
    BackendResult br;
    br.name = pr.name;
    br.kind = "provider";
    br.plan = "external";
    backend_results_.push_back(br);
  }
  for (const TaskClass& t : s_.tasks) {
    std::vector<BackendRef> refs;
    for (const std::string& b : t.backends) refs.push_back(by_name.at(b));
    task_backends_.push_back(std::move(refs));
    AIF_ASSIGN_OR_RETURN(auto policy, MakePolicy(t.policy));
    policies_.push_back(std::move(policy));
  }
  st_.assign(s_.requests.size(), RequestState{});
  served_by_.assign(s_.requests.size(), -1);
  incoming_.assign(engines_.size(), 0);
  return SetupKvNetwork();
}

Status Simulation::SetupKvNetwork() {
  first_node_.assign(s_.pools.size(), -1);
  // A decode instance's link carries at the fastest kv_link of the prefill pools sending to it.
  std::vector<double> down(s_.pools.size(), 0);
  bool any = false;
  for (size_t p = 0; p < s_.pools.size(); ++p) {
    if (s_.pools[p].role != PoolRole::kPrefill) continue;
    any = true;
    down[decode_pool_of_[p]] =
        std::max(down[decode_pool_of_[p]], s_.pools[p].kv_link_bandwidth.value());
  }
  if (!any || options_.kv_dedicated_links) return Status::Ok();
  kv_engine_.assign(s_.requests.size(), -1);
  kv_start_.assign(s_.requests.size(), 0);
  net::Topology topo;
  const net::NodeId hub = topo.AddNode(net::NodeKind::kSwitch);
  for (size_t p = 0; p < s_.pools.size(); ++p) {
    const LlmPool& pool = s_.pools[p];
    if (pool.role == PoolRole::kUnified) continue;
    for (int i = 0; i < pool.instances; ++i) {
      const net::NodeId n = topo.AddNode(net::NodeKind::kGpu);
      if (i == 0) first_node_[p] = n;
      // The whole one-way latency sits on the sending side, so a path has exactly kv_link's.
      if (pool.role == PoolRole::kPrefill) {
        AIF_RETURN_IF_ERROR(
            topo.AddLink(n, hub, pool.kv_link_bandwidth, pool.kv_link_latency).status());
      } else if (down[p] > 0) {
        AIF_RETURN_IF_ERROR(topo.AddLink(hub, n, BytesPerSecond(down[p]), Seconds(0)).status());
      }
    }
  }
  kv_des_ = std::make_unique<des::Simulator>();
  net::NetworkOptions no;
  no.keep_completed_flows = false;
  kv_net_ = std::make_unique<net::Network>(kv_des_.get(), std::move(topo), no);
  return Status::Ok();
}

void Simulation::StartKvTransfer(int r, int prefill_engine, double now) {
  const Request& q = s_.requests[r];
  const int pool = engines_[prefill_engine].pool;
  const LlmPool& pp = s_.pools[pool];
  const double bytes = pp.engine->kv_bytes_per_token().value() * q.prompt_tokens;
  kv_bytes_ += bytes;
  if (!kv_net_) {  // dedicated link: latency + bytes / bandwidth
    kv_durations_.push_back(pp.kv_link_latency.value() + bytes / pp.kv_link_bandwidth.value());
    Push(now + kv_durations_.back(), 1, r);
    return;
  }
  // The decode engine is chosen now (fewest requests waiting, running or on their way; ties to
  // the lowest index), so that the flow has a destination.
  const int decode = decode_pool_of_[pool];
  int best = -1;
  size_t best_load = 0;
  for (int e : pool_engines_[decode]) {
    const size_t load =
        engines_[e].waiting.size() + engines_[e].running.size() + static_cast<size_t>(incoming_[e]);
    if (best < 0 || load < best_load) best = e, best_load = load;
  }
  kv_engine_[r] = best;
  kv_start_[r] = now;
  incoming_[best]++;
  const des::SimTime at = std::max(kv_des_->Now(), des::SimTime::FromSeconds(Seconds(now)));
  kv_des_->Run(at);  // no event is left before `at` (AdvanceKvNetwork ran to it)
  const net::NodeId src = first_node_[pool] + engines_[prefill_engine].instance;
  const net::NodeId dst = first_node_[decode] + engines_[best].instance;
  auto flow = kv_net_->StartFlow(src, dst, Bytes(bytes), [this, r](const net::FlowRecord& f) {
    kv_arrived_ = true;
    Push(std::max(f.finish.ToSeconds().value(), last_t_), 1, r);
  });
  AIF_CHECK_MSG(flow.ok(), "KV flow on the star network");
}

bool Simulation::AdvanceKvNetwork(double t) {
  if (!kv_des_ || kv_des_->pending() == 0) return false;
  kv_arrived_ = false;
  kv_reached_ = false;
  des::EventHandle stop;
  const bool bounded = std::isfinite(t);
  if (bounded) {
    const des::SimTime at = std::max(kv_des_->Now(), des::SimTime::FromSeconds(Seconds(t)));
    stop = kv_des_->Schedule(at, [this] { kv_reached_ = true; });
  }
  while (!kv_arrived_ && !kv_reached_ && kv_des_->Step()) {
  }
  if (bounded && !kv_reached_) kv_des_->Cancel(stop);
  return kv_arrived_;
}

int ResultIndex(const ServeScenario& s, const BackendRef& b) {
  switch (b.kind) {
    case BackendKind::kLlm:
      return b.index;
    case BackendKind::kSpeech:
      return static_cast<int>(s.pools.size()) + b.index;
    case BackendKind::kProvider:
      return static_cast<int>(s.pools.size() + s.speech.size()) + b.index;
  }
  return 0;
}

bool Simulation::PoolSaturated(int pool) const {
  long long waiting = 0;
  for (int e : pool_engines_[pool]) waiting += static_cast<long long>(engines_[e].waiting.size());
  return waiting >=
         static_cast<long long>(s_.pools[pool].max_queue_per_instance) * s_.pools[pool].instances;
}

BackendView Simulation::View(int r, const BackendRef& b, double now) {
  const Request& q = s_.requests[r];
  BackendView v;
  switch (b.kind) {
    case BackendKind::kLlm: {
      const LlmPool& pool = s_.pools[b.index];
      long long waiting_tokens = 0, load = 0;
      for (int e : pool_engines_[b.index]) {
        load += static_cast<long long>(engines_[e].waiting.size() + engines_[e].running.size());
        waiting_tokens += engines_[e].waiting_tokens;
      }
      const double engines = static_cast<double>(pool_engines_[b.index].size());
      v.saturated = PoolSaturated(b.index);
      v.estimated_ttft_s = (waiting_tokens / engines + q.prompt_tokens) / prefill_rate_[b.index];
      v.estimated_tpot_s = decode_step_[b.index];
      v.load = load / engines;
      const double gpu_s =
          pool.engine->plan().gpus() *
          (q.prompt_tokens / prefill_rate_[b.index] + q.output_tokens * decode_step_[b.index] / 64);
      v.price_per_request = gpu_s * pool.gpu_hour_price.value() / 3600;
      break;
    }
    case BackendKind::kSpeech: {
      const SpeechPool& sp = s_.speech[b.index];
      double earliest = 1e300;
      long long queued = 0;
      bool all_full = true;
      for (int i = 0; i < sp.instances; ++i) {
        auto& qd = speech_queue_[b.index][i];
        while (!qd.empty() && qd.front() <= now) qd.pop_front();
        queued += static_cast<long long>(qd.size());
        if (static_cast<int>(qd.size()) <= sp.max_queue_per_instance) all_full = false;
        earliest = std::min(earliest, std::max(now, speech_free_[b.index][i]));
      }
      v.saturated = all_full;
      v.estimated_ttft_s = earliest - now + sp.startup.value();
      v.load = static_cast<double>(queued) / sp.instances;
      v.price_per_request =
          sp.gpus_per_instance * q.audio_seconds / sp.audio_rate * sp.gpu_hour_price.value() / 3600;
      break;
    }
    case BackendKind::kProvider: {
      const Provider& pr = s_.providers[b.index];
      auto& w = provider_window_[b.index];
      while (!w.empty() && w.front() <= now - 60) w.pop_front();
      auto& inflight = provider_inflight_[b.index];
      while (!inflight.empty() && inflight.top() <= now) inflight.pop();
      v.saturated =
          (pr.rate_limit_rpm > 0 && static_cast<double>(w.size()) >= pr.rate_limit_rpm) ||
          (pr.max_concurrency > 0 && static_cast<int>(inflight.size()) >= pr.max_concurrency);
      v.estimated_ttft_s = pr.ttft.value();
      v.estimated_tpot_s = 1 / pr.output_tokens_per_s;
      v.load = static_cast<double>(inflight.size());
      v.price_per_request = (q.prompt_tokens * pr.price_per_m_input.value() +
                             q.output_tokens * pr.price_per_m_output.value()) /
                            1e6;
      break;
    }
  }
  return v;
}

void Simulation::Arrive(int r, double now) {
  const Request& q = s_.requests[r];
  const auto& backends = task_backends_[q.task];
  views_.clear();
  for (size_t i = 0; i < backends.size(); ++i) {
    BackendView v = View(r, backends[i], now);
    v.index = static_cast<int>(i);
    views_.push_back(v);
  }
  policies_[q.task]->Rank(q, views_, s_.tasks[q.task].targets.ttft.value(), &order_);
  bool first = true;
  for (int i : order_) {
    if (!views_[i].saturated) {
      st_[r].fallback = !first;
      RouteTo(r, backends[i], now);
      return;
    }
    first = false;
  }
  st_[r].rejected = true;
}

bool Simulation::RouteTo(int r, const BackendRef& b, double now) {
  const Request& q = s_.requests[r];
  const int result = ResultIndex(s_, b);
  served_by_[r] = result;
  BackendResult& br = backend_results_[result];
  br.requests++;
  ++in_system_;
  switch (b.kind) {
    case BackendKind::kLlm:
      br.input_tokens += q.prompt_tokens;
      EnqueueLlm(r, b.index, now, false);
      return true;
    case BackendKind::kSpeech: {
      const SpeechPool& sp = s_.speech[b.index];
      int best = 0;
      double start = 1e300;
      for (int i = 0; i < sp.instances; ++i) {
        double s = std::max(now, speech_free_[b.index][i]);
        if (s < start) start = s, best = i;
      }
      const double service = sp.startup.value() + q.audio_seconds / sp.audio_rate;
      const double end = start + service;
      speech_free_[b.index][best] = end;
      speech_queue_[b.index][best].push_back(end);
      st_[r].first_token_s = start + sp.startup.value();
      st_[r].done_s = end;
      br.audio_seconds += q.audio_seconds;
      br.busy_fraction += service;  // summed here, divided at the end
      Push(end, 2, r);
      return true;
    }
    case BackendKind::kProvider: {
      const Provider& pr = s_.providers[b.index];
      provider_window_[b.index].push_back(now);
      const double ttft = pr.ttft.value();
      const double end = now + ttft + std::max(0, q.output_tokens - 1) / pr.output_tokens_per_s;
      provider_inflight_[b.index].push(end);
      st_[r].first_token_s = now + ttft;
      st_[r].done_s = end;
      br.input_tokens += q.prompt_tokens;
      br.output_tokens += q.output_tokens;
      br.cost_usd += (q.prompt_tokens * pr.price_per_m_input.value() +
                      q.output_tokens * pr.price_per_m_output.value()) /
                     1e6;
      Push(end, 2, r);
      return true;
    }
  }
  return false;
}

void Simulation::EnqueueLlm(int r, int pool, double now, bool decode_only, int engine) {
  const Request& q = s_.requests[r];
  RequestState& rs = st_[r];
  // The instance with the fewest requests waiting or running; ties to the lowest index.
  int best = -1;
  size_t best_load = 0;
  for (int e : pool_engines_[pool]) {
    size_t load = engines_[e].waiting.size() + engines_[e].running.size();
    if (best < 0 || load < best_load) best = e, best_load = load;
  }
  if (engine >= 0) best = engine;  // chosen when its KV transfer started
  rs.engine = best;
  rs.prefill_only = s_.pools[pool].role == PoolRole::kPrefill;
  if (decode_only) {
    rs.fill_target = q.prompt_tokens;  // the KV arrived: nothing to compute
    rs.prefilled = q.prompt_tokens;
  } else {
    rs.fill_target = q.prompt_tokens;
    rs.prefilled = 0;
    rs.generated = 0;
  }
  engines_[best].waiting.push_back(r);
  engines_[best].waiting_tokens += q.prompt_tokens;
  if (!engines_[best].busy) StartIteration(best, now);
}

void Simulation::StartIteration(int ei, double now) {
  Engine& e = engines_[ei];
  const LlmPool& pool = s_.pools[e.pool];
  const EngineModel& m = *pool.engine;
  const int bt = m.options().block_tokens;
  auto blocks_for = [bt](long long tokens) { return static_cast<int>((tokens + bt - 1) / bt); };
  int budget = m.options().max_batch_tokens;
  IterationShape shape;
  e.batch.clear();

  // 1. Decodes of running sequences; a sequence that needs a block when none is free preempts the
  //    newest running sequence (recompute: its blocks are freed and it waits again at the front).
  for (size_t i = 0; i < e.running.size(); ++i) {
    const int r = e.running[i];
    RequestState& rs = st_[r];
    if (rs.prefilled < rs.fill_target) continue;  // still prefilling: step 2
    if (budget <= 0) break;
    const int cache_after = s_.requests[r].prompt_tokens + rs.generated;
    const int need = blocks_for(cache_after) - rs.blocks;
    bool preempted_self = false;
    while (need > 0 && e.free_blocks < need) {
      const int victim = e.running.back();
      RequestState& vs = st_[victim];
      e.free_blocks += vs.blocks;
      vs.blocks = 0;
      vs.prefilled = 0;
      vs.fill_target = s_.requests[victim].prompt_tokens + vs.generated;
      e.running.pop_back();
      e.waiting.push_front(victim);
      e.waiting_tokens += s_.requests[victim].prompt_tokens;
      backend_results_[e.pool].preemptions++;
      // Drop the victim from this iteration's batch if it was already scheduled.
      for (size_t k = 0; k < e.batch.size(); ++k) {
        if (e.batch[k].first == victim) {
          budget += e.batch[k].second;
          shape.decode_sequences--;
          shape.decode_context -= s_.requests[victim].prompt_tokens + vs.generated;
          shape.logits--;
          e.batch.erase(e.batch.begin() + static_cast<long>(k));
          break;
        }
      }
      if (victim == r) {
        preempted_self = true;
        break;
      }
    }
    if (preempted_self) break;
    if (need > 0) {
      e.free_blocks -= need;
      rs.blocks += need;
    }
    e.batch.emplace_back(r, 1);
    budget -= 1;
    shape.decode_sequences++;
    shape.decode_context += cache_after;
    shape.logits++;
  }
  // 2. Prefill chunks of running sequences that are part-way through their prompt.
  for (int r : e.running) {
    RequestState& rs = st_[r];
    if (rs.prefilled >= rs.fill_target || budget <= 0) continue;
    int chunk = std::min(rs.fill_target - rs.prefilled, budget);
    const long long avail_tokens =
        (rs.blocks + e.free_blocks) * static_cast<long long>(bt) - rs.prefilled;
    chunk = static_cast<int>(std::min<long long>(chunk, avail_tokens));
    if (chunk <= 0) continue;
    const int need = blocks_for(rs.prefilled + chunk) - rs.blocks;
    e.free_blocks -= need;
    rs.blocks += need;
    e.batch.emplace_back(r, chunk);
    budget -= chunk;
    shape.prefill_tokens += chunk;
    shape.prefill_attention += chunk * (rs.prefilled + chunk / 2.0);
    if (rs.prefilled + chunk == rs.fill_target) shape.logits++;
  }
  // 3. Admit waiting requests (FIFO) while tokens, sequences and blocks allow. A request must
  //    find blocks for its whole prompt (vLLM's admission) so that admitted prompts can finish.
  while (!e.waiting.empty() && budget > 0 &&
         static_cast<int>(e.running.size()) < m.options().max_batch_sequences) {
    const int r = e.waiting.front();
    RequestState& rs = st_[r];
    const Request& q = s_.requests[r];
    const bool arrived_with_kv = rs.prefilled >= rs.fill_target;
    const int need_total = blocks_for(arrived_with_kv ? rs.fill_target + 1 : rs.fill_target);
    if (need_total > e.capacity) {  // can never fit: reject instead of blocking the queue
      e.waiting.pop_front();
      e.waiting_tokens -= q.prompt_tokens;
      rs.rejected = true;
      --in_system_;
      continue;
    }
    if (e.free_blocks < need_total) break;
    e.waiting.pop_front();
    e.waiting_tokens -= q.prompt_tokens;
    e.free_blocks -= need_total;
    rs.blocks = need_total;
    e.running.push_back(r);
    if (arrived_with_kv) {  // disaggregated decode: first decode step now
      e.batch.emplace_back(r, 1);
      budget -= 1;
      shape.decode_sequences++;
      shape.decode_context += rs.fill_target + rs.generated;
      shape.logits++;
      continue;
    }
    if (pool.prefix_caching && !q.block_hashes.empty() && rs.generated == 0) {
      // Leading blocks already cached on this engine are not recomputed; then every block of
      // this prompt becomes the most recently used.
      size_t hits = 0;
      while (hits < q.block_hashes.size() && e.block_cache.count(q.block_hashes[hits])) ++hits;
      const long long hit_tokens = std::min<long long>(
          static_cast<long long>(hits) * s_.hash_block_tokens, rs.fill_target - 1);
      if (hit_tokens > 0) {
        rs.prefilled = static_cast<int>(hit_tokens);
        backend_results_[e.pool].prefix_hit_tokens += hit_tokens;
      }
      for (uint32_t h : q.block_hashes) {
        auto it = e.block_cache.find(h);
        if (it != e.block_cache.end()) {
          e.block_lru.splice(e.block_lru.begin(), e.block_lru, it->second);
        } else {
          e.block_lru.push_front(h);
          e.block_cache[h] = e.block_lru.begin();
          if (e.block_cache.size() > e.block_cache_capacity) {
            e.block_cache.erase(e.block_lru.back());
            e.block_lru.pop_back();
          }
        }
      }
    } else if (pool.prefix_caching && q.prefix_group != 0 && rs.generated == 0) {
      auto it = e.prefix_cache.find(q.prefix_group);
      if (it != e.prefix_cache.end()) {
        rs.prefilled = q.prefix_tokens;
        backend_results_[e.pool].prefix_hit_tokens += q.prefix_tokens;
      }
      e.prefix_cache[q.prefix_group] = e.iterations;
    }
    int chunk = std::min(rs.fill_target - rs.prefilled, budget);
    e.batch.emplace_back(r, chunk);
    budget -= chunk;
    shape.prefill_tokens += chunk;
    shape.prefill_attention += chunk * (rs.prefilled + chunk / 2.0);
    if (rs.prefilled + chunk == rs.fill_target) shape.logits++;
  }
  e.peak_used = std::max(e.peak_used, e.capacity - e.free_blocks);
  if (e.batch.empty()) {
    e.busy = false;
    return;
  }
  const double dt = m.IterationTime(shape).value();
  e.busy = true;
  e.busy_s += dt;
  e.iterations++;
  Push(now + dt, 0, ei);
}

void Simulation::Complete(int r, double now) {
  st_[r].done_s = now;
  --in_system_;
}

void Simulation::EndIteration(int ei, double now) {
  Engine& e = engines_[ei];
  BackendResult& br = backend_results_[e.pool];
  bool removed = false;
  for (auto [r, tokens] : e.batch) {
    RequestState& rs = st_[r];
    const Request& q = s_.requests[r];
    if (rs.prefilled < rs.fill_target) {  // a prefill chunk
      rs.prefilled += tokens;
      if (rs.prefilled < rs.fill_target) continue;
    }
    // The iteration sampled a token for this sequence.
    rs.generated++;
    br.output_tokens++;
    if (rs.first_token_s < 0) rs.first_token_s = now;
    if (rs.generated >= q.output_tokens) {
      e.free_blocks += rs.blocks;
      rs.blocks = 0;
      rs.engine = -2;  // finished: drop from running below
      removed = true;
      Complete(r, now);
    } else if (rs.prefill_only && rs.generated == 1) {
      // Disaggregated: the KV cache goes to the decode pool, the blocks here are freed.
      e.free_blocks += rs.blocks;
      rs.blocks = 0;
      rs.engine = -2;
      removed = true;
      StartKvTransfer(r, ei, now);
    }
  }
  if (removed) {
    std::erase_if(e.running, [&](int r) { return st_[r].engine == -2; });
  }
  e.batch.clear();
  e.busy = false;
  StartIteration(ei, now);
}

Result<ServeResult> Simulation::Run() {
  AIF_RETURN_IF_ERROR(Setup());
  const auto& req = s_.requests;
  size_t next = 0;
  double first = req.empty() ? 0 : req.front().arrival_s;
  last_t_ = first;
  double end = first;
  for (;;) {
    if (kv_des_) {
      // KV flows complete between serve events: run the network up to the next one.
      double t_next = next < req.size() ? req[next].arrival_s : HUGE_VAL;
      if (!events_.empty()) t_next = std::min(t_next, events_.top().t);
      AdvanceKvNetwork(t_next);
    }
    if (next >= req.size() && events_.empty()) break;
    const bool arrival =
        next < req.size() && (events_.empty() || req[next].arrival_s <= events_.top().t);
    if (arrival) {
      const double now = req[next].arrival_s;
      Advance(now);
      Arrive(static_cast<int>(next), now);
      ++next;
      continue;
    }
    Event ev = events_.top();
    events_.pop();
    Advance(ev.t);
    end = std::max(end, ev.t);
    if (ev.kind == 0) {
      EndIteration(ev.id, ev.t);
    } else if (ev.kind == 1) {
      const int r = ev.id;  // a prefilled request's KV reached its decode pool
      const int decode = decode_pool_of_[static_cast<size_t>(served_by_[r])];
      backend_results_[decode].requests++;
      int engine = -1;
      if (kv_des_) {
        engine = kv_engine_[r];
        incoming_[engine]--;
        kv_durations_.push_back(ev.t - kv_start_[r]);
      }
      EnqueueLlm(r, decode, ev.t, true, engine);
    } else {
      Complete(ev.id, ev.t);
    }
  }

  ServeResult out;
  out.requests = static_cast<long long>(req.size());
  out.makespan_s = std::max(end - first, 1e-12);
  out.mean_in_system = area_ / out.makespan_s;
  out.kv_transfers = static_cast<long long>(kv_durations_.size());
  out.kv_bytes = kv_bytes_;
  out.kv_transfer_s = ComputePercentiles(std::move(kv_durations_));
  std::vector<double> ttft, tpot, e2e;
  std::vector<std::vector<double>> t_ttft(s_.tasks.size()), t_tpot(s_.tasks.size()),
      t_e2e(s_.tasks.size());
  out.tasks.resize(s_.tasks.size());
  for (size_t t = 0; t < s_.tasks.size(); ++t) out.tasks[t].name = s_.tasks[t].name;
  for (size_t r = 0; r < req.size(); ++r) {
    const RequestState& rs = st_[r];
    const Request& q = req[r];
    TaskResult& tr = out.tasks[q.task];
    tr.requests++;
    if (rs.rejected || rs.done_s < 0) {
      tr.rejected++;
      out.rejected++;
      continue;
    }
    if (rs.fallback) out.fallbacks++;
    tr.completed++;
    out.completed++;
    const double a = rs.first_token_s - q.arrival_s;
    const double b = rs.done_s - q.arrival_s;
    const double c =
        q.output_tokens > 1 ? (rs.done_s - rs.first_token_s) / (q.output_tokens - 1) : 0;
    ttft.push_back(a);
    e2e.push_back(b);
    t_ttft[q.task].push_back(a);
    t_e2e[q.task].push_back(b);
    if (q.output_tokens > 1 && q.audio_seconds <= 0) {
      tpot.push_back(c);
      t_tpot[q.task].push_back(c);
    }
    const LatencyTargets& tg = s_.tasks[q.task].targets;
    if ((tg.ttft.value() <= 0 || a <= tg.ttft.value()) &&
        (tg.e2e.value() <= 0 || b <= tg.e2e.value()) &&
        (tg.tpot.value() <= 0 || c <= tg.tpot.value())) {
      tr.met_targets++;
    }
    out.input_tokens += q.prompt_tokens;
    out.output_tokens += q.output_tokens;
    if (options_.keep_request_latencies) {
      out.request_ttft.push_back(a);
      out.request_e2e.push_back(b);
    }
  }
  long long met = 0;
  for (size_t t = 0; t < s_.tasks.size(); ++t) {
    out.tasks[t].ttft = ComputePercentiles(std::move(t_ttft[t]));
    out.tasks[t].tpot = ComputePercentiles(std::move(t_tpot[t]));
    out.tasks[t].e2e = ComputePercentiles(std::move(t_e2e[t]));
    met += out.tasks[t].met_targets;
  }
  out.ttft = ComputePercentiles(std::move(ttft));
  out.tpot = ComputePercentiles(std::move(tpot));
  out.e2e = ComputePercentiles(std::move(e2e));
  out.throughput_rps = out.completed / out.makespan_s;
  out.output_tokens_per_s = out.output_tokens / out.makespan_s;
  out.goodput_rps = met / out.makespan_s;

  // GPUs, busy time, energy and cost per backend.
  const double hours = out.makespan_s / 3600;
  for (size_t p = 0; p < s_.pools.size(); ++p) {
    BackendResult& br = backend_results_[p];
    const LlmPool& pool = s_.pools[p];
    const int slots = pool.engine->plan().pp;
    double busy = 0;
    for (int e : pool_engines_[p]) {
      busy += engines_[e].busy_s / slots;
      br.peak_kv_blocks = std::max(br.peak_kv_blocks, engines_[e].peak_used);
      br.iterations += engines_[e].iterations;
    }
    busy = std::min(busy, pool.instances * out.makespan_s);
    br.busy_fraction = busy / (pool.instances * out.makespan_s);
    const double gpus_per = pool.engine->plan().gpus();
    br.energy_j = gpus_per * pool.gpu_power.value() *
                  (busy + (pool.instances * out.makespan_s - busy) * pool.idle_power_fraction);
    br.cost_usd = br.gpus * hours * pool.gpu_hour_price.value();
  }
  for (size_t k = 0; k < s_.speech.size(); ++k) {
    BackendResult& br = backend_results_[s_.pools.size() + k];
    const SpeechPool& sp = s_.speech[k];
    const double busy = std::min(br.busy_fraction, sp.instances * out.makespan_s);
    br.busy_fraction = busy / (sp.instances * out.makespan_s);
    br.energy_j = sp.gpus_per_instance * sp.gpu_power.value() *
                  (busy + (sp.instances * out.makespan_s - busy) * sp.idle_power_fraction);
    br.cost_usd = br.gpus * hours * sp.gpu_hour_price.value();
  }
  for (const BackendResult& br : backend_results_) {
    out.gpus += br.gpus;
    out.energy_j += br.energy_j;
    out.cost_usd += br.cost_usd;
  }
  out.cost_per_m_output_tokens =
      out.output_tokens > 0 ? out.cost_usd / (out.output_tokens / 1e6) : 0;
  const long long all_tokens = out.output_tokens + out.input_tokens;
  out.cost_per_m_tokens = all_tokens > 0 ? out.cost_usd / (all_tokens / 1e6) : 0;
  out.backends = backend_results_;
  return out;
}

}  // namespace

const char* PoolRoleName(PoolRole role) {
  switch (role) {
    case PoolRole::kUnified:
      return "unified";
    case PoolRole::kPrefill:
      return "prefill";
    case PoolRole::kDecode:
      return "decode";
  }
  return "?";
}

Percentiles ComputePercentiles(std::vector<double> values) {
  Percentiles p;
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  p.mean = sum / values.size();
  p.p50 = Interpolate(values, 0.50);
  p.p90 = Interpolate(values, 0.90);
  p.p99 = Interpolate(values, 0.99);
  return p;
}

Status ValidateScenario(const ServeScenario& s) {
  std::set<std::string> names;
  std::vector<std::string> all;
  auto add = [&](const std::string& n, const char* what) -> Status {
    if (n.empty()) return InvalidArgument(fmt::format("a {} has no name", what));
    if (!names.insert(n).second)
      return InvalidArgument(fmt::format("backend name '{}' is used twice", n));
    all.push_back(n);
    return Status::Ok();
  };
  for (const LlmPool& p : s.pools) {
    AIF_RETURN_IF_ERROR(add(p.name, "pool"));
    if (!p.engine) return InvalidArgument(fmt::format("pool '{}' has no engine", p.name));
    if (p.instances < 1)
      return InvalidArgument(fmt::format("pool '{}': instances must be >= 1", p.name));
  }
  for (const SpeechPool& p : s.speech) {
    AIF_RETURN_IF_ERROR(add(p.name, "speech pool"));
    if (p.instances < 1 || p.gpus_per_instance < 1 || !(p.audio_rate > 0)) {
      return InvalidArgument(
          fmt::format("speech pool '{}': instances, gpus and audio rate must be positive", p.name));
    }
  }
  for (const Provider& p : s.providers) {
    AIF_RETURN_IF_ERROR(add(p.name, "provider"));
    if (!(p.output_tokens_per_s > 0)) {
      return InvalidArgument(
          fmt::format("provider '{}': output tokens per second must be positive", p.name));
    }
  }
  for (const LlmPool& p : s.pools) {
    if (p.role != PoolRole::kPrefill) continue;
    auto it = std::find_if(s.pools.begin(), s.pools.end(),
                           [&](const LlmPool& d) { return d.name == p.decode_pool; });
    if (it == s.pools.end() || it->role != PoolRole::kDecode) {
      return InvalidArgument(
          fmt::format("prefill pool '{}': decode_pool '{}' is not a decode pool{}", p.name,
                      p.decode_pool, DidYouMean(p.decode_pool, all)));
    }
    if (!(p.kv_link_bandwidth.value() > 0)) {
      return InvalidArgument(
          fmt::format("prefill pool '{}': kv link bandwidth must be positive", p.name));
    }
  }
  if (s.tasks.empty()) return InvalidArgument("no task classes");
  for (const TaskClass& t : s.tasks) {
    if (t.backends.empty())
      return InvalidArgument(fmt::format("task '{}' has no backends", t.name));
    for (const std::string& b : t.backends) {
      if (!names.count(b)) {
        return NotFound(
            fmt::format("task '{}': unknown backend '{}'{}", t.name, b, DidYouMean(b, all)));
      }
      auto it = std::find_if(s.pools.begin(), s.pools.end(),
                             [&](const LlmPool& p) { return p.name == b; });
      if (it != s.pools.end() && it->role == PoolRole::kDecode) {
        return InvalidArgument(
            fmt::format("task '{}': '{}' is a decode pool; route to its prefill pool", t.name, b));
      }
    }
    AIF_RETURN_IF_ERROR(MakePolicy(t.policy).status());
  }
  // A task's backends are all speech pools or all text backends; its requests must match.
  std::vector<bool> speech_task;
  for (const TaskClass& t : s.tasks) {
    int speech = 0;
    for (const std::string& b : t.backends) {
      speech += std::any_of(s.speech.begin(), s.speech.end(),
                            [&](const SpeechPool& p) { return p.name == b; });
    }
    if (speech != 0 && speech != static_cast<int>(t.backends.size())) {
      return InvalidArgument(fmt::format("task '{}' mixes speech pools and text backends", t.name));
    }
    speech_task.push_back(speech > 0);
  }
  for (size_t i = 0; i < s.requests.size(); ++i) {
    const Request& r = s.requests[i];
    if (r.task < 0 || r.task >= static_cast<int>(s.tasks.size())) {
      return InvalidArgument(fmt::format("request {}: task index {} out of range", i, r.task));
    }
    if (i > 0 && r.arrival_s < s.requests[i - 1].arrival_s) {
      return InvalidArgument(fmt::format("request {}: arrivals are not sorted", i));
    }
    if (r.audio_seconds <= 0 && (r.prompt_tokens < 1 || r.output_tokens < 1)) {
      return InvalidArgument(fmt::format("request {}: prompt and output tokens must be >= 1", i));
    }
    const bool speech = r.audio_seconds > 0;
    if (speech != speech_task[r.task]) {
      return InvalidArgument(fmt::format(
          "task '{}' mixes speech and text requests, or routes {} requests to "
          "{} backends",
          s.tasks[r.task].name, speech ? "speech" : "text", speech ? "text" : "speech"));
    }
  }
  return Status::Ok();
}

Result<ServeResult> Simulate(const ServeScenario& scenario, const SimulateOptions& options) {
  Simulation sim(scenario, options);
  return sim.Run();
}

}  // namespace aif::serve
