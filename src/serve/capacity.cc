#include "aifactory/serve/capacity.h"

#include <fmt/format.h>

#include <algorithm>

namespace aif::serve {
namespace {

double At(const Percentiles& p, double percentile) {
  if (percentile <= 0.5) return p.p50;
  if (percentile <= 0.9) return p.p90;
  return p.p99;
}

// The scenario restricted to one backend: the tasks whose first backend it is, served by it alone
// (a prefill pool keeps its decode pool).
ServeScenario Restrict(const ServeScenario& s, const std::string& backend) {
  ServeScenario out;
  out.name = s.name;
  out.seed = s.seed;
  out.hash_block_tokens = s.hash_block_tokens;
  std::string decode;
  for (const LlmPool& p : s.pools) {
    if (p.name == backend && p.role == PoolRole::kPrefill) decode = p.decode_pool;
  }
  for (const LlmPool& p : s.pools) {
    if (p.name == backend || (!decode.empty() && p.name == decode)) out.pools.push_back(p);
  }
  for (const SpeechPool& p : s.speech) {
    if (p.name == backend) out.speech.push_back(p);
  }
  std::vector<int> task_map(s.tasks.size(), -1);
  for (size_t t = 0; t < s.tasks.size(); ++t) {
    if (s.tasks[t].backends.empty() || s.tasks[t].backends.front() != backend) continue;
    TaskClass tc = s.tasks[t];
    tc.backends = {backend};
    tc.policy = "ordered";
    task_map[t] = static_cast<int>(out.tasks.size());
    out.tasks.push_back(tc);
  }
  for (const Request& r : s.requests) {
    if (task_map[r.task] < 0) continue;
    Request q = r;
    q.task = task_map[r.task];
    out.requests.push_back(q);
  }
  return out;
}

// Smallest count in [1, max] for which `meets(n)` holds, or 0.
template <typename F>
Result<int> SmallestCount(int max, F meets, int* simulations) {
  int lo = 0, hi = 1;
  for (;;) {
    ++*simulations;
    AIF_ASSIGN_OR_RETURN(bool ok, meets(hi));
    if (ok) break;
    lo = hi;
    if (hi >= max) return 0;
    hi = std::min(max, hi * 2);
  }
  while (hi - lo > 1) {
    int mid = lo + (hi - lo) / 2;
    ++*simulations;
    AIF_ASSIGN_OR_RETURN(bool ok, meets(mid));
    if (ok)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

// The pool of `s` named `name`.
size_t PoolIndex(const ServeScenario& s, const std::string& name) {
  for (size_t i = 0; i < s.pools.size(); ++i) {
    if (s.pools[i].name == name) return i;
  }
  return s.pools.size();
}

// Tries every plan for the pool at `index` of `base`, its engine built by factory(pool, plan):
// per plan the smallest count that meets the targets (`not_met` notes a plan that none meets).
// Keeps in `pc` the plan that meets them on the fewest GPUs and returns its engine, or null.
Result<std::shared_ptr<const EngineModel>> TryPlans(const ServeScenario& base, size_t index, size_t pool,
                                                    const std::vector<InstancePlan>& plans,
                                                    const EngineFactory& factory, const CapacityOptions& options,
                                                    const std::string& not_met, PoolCapacity* pc) {
  std::shared_ptr<const EngineModel> best;
  for (const InstancePlan& plan : plans) {
    PlanTrial trial;
    trial.plan = plan;
    auto engine = factory(pool, plan);
    if (!engine.ok()) {
      trial.note = engine.status().message();
      pc->trials.push_back(trial);
      continue;
    }
    ServeScenario trial_scenario = base;
    trial_scenario.pools[index].engine = *engine;
    auto meets = [&](int n) -> Result<bool> {
      trial_scenario.pools[index].instances = n;
      AIF_ASSIGN_OR_RETURN(ServeResult r, Simulate(trial_scenario));
      return MeetsTargets(trial_scenario, r, options.percentile);
    };
    AIF_ASSIGN_OR_RETURN(int n, SmallestCount(options.max_instances, meets, &trial.simulations));
    trial.instances = n;
    trial.gpus = n * plan.gpus();
    if (n == 0) trial.note = not_met;
    if (n > 0 && (!pc->met || trial.gpus < pc->gpus)) {
      pc->met = true;
      pc->plan = plan;
      pc->instances = n;
      pc->gpus = trial.gpus;
      best = *engine;
    }
    pc->trials.push_back(trial);
  }
  return best;
}

// Sizes the disaggregated pair of prefill pool `p` (scenario index) and its decode pool, and
// writes the chosen plans and counts into `out->sized`. First the prefill pool, on the TTFT
// targets alone (a request's first token comes from the prefill pool, before its KV leaves, so
// the decode pool's size cannot change it): for every plan, the smallest count. Then the decode
// pool, with the chosen prefill pool, on all the targets; if no decode plan meets them (an e2e
// target the prefill pool's share does not leave room for), the prefill count doubles and the
// decode search runs again. Both searches assume that more instances of a pool never make the
// tail worse.
Status SizePair(const ServeScenario& scenario, size_t p, const EngineFactory& factory,
                const CapacityOptions& options, CapacityResult* out) {
  const LlmPool& prefill = scenario.pools[p];
  const size_t d = PoolIndex(scenario, prefill.decode_pool);
  ServeScenario sub = Restrict(scenario, prefill.name);
  if (sub.requests.empty()) return Status::Ok();
  const size_t sp = PoolIndex(sub, prefill.name);
  const size_t sd = PoolIndex(sub, prefill.decode_pool);
  PoolCapacity pc_prefill, pc_decode;
  pc_prefill.pool = prefill.name;
  pc_decode.pool = prefill.decode_pool;
  pc_prefill.kind = pc_decode.kind = "llm";
  int feeders = 0;
  for (const LlmPool& q : scenario.pools) {
    feeders += q.role == PoolRole::kPrefill && q.decode_pool == prefill.decode_pool;
  }
  if (feeders > 1) {  // a decode pool shared by several prefill pools keeps its size
    PlanTrial t;
    t.plan = scenario.pools[d].engine->plan();
    t.note = "decode pool fed by several prefill pools: not searched";
    pc_prefill.trials.push_back(t);
    out->pools.push_back(pc_prefill);
    return Status::Ok();
  }
  std::vector<InstancePlan> plans = options.plans;

  // 1. The prefill pool on the TTFT targets.
  ServeScenario ttft_only = sub;
  for (TaskClass& t : ttft_only.tasks) t.targets.tpot = t.targets.e2e = Seconds(0);
  AIF_ASSIGN_OR_RETURN(std::shared_ptr<const EngineModel> prefill_engine,
                       TryPlans(ttft_only, sp, p, plans.empty() ? std::vector{prefill.engine->plan()} : plans, factory,
                                options, fmt::format("TTFT not met with {} instances", options.max_instances),
                                &pc_prefill));
  if (!pc_prefill.met) {
    out->pools.push_back(pc_prefill);
    return Status::Ok();
  }

  // 2. The decode pool with that prefill pool, on all the targets.
  sub.pools[sp].engine = prefill_engine;
  std::shared_ptr<const EngineModel> decode_engine;
  for (;;) {
    sub.pools[sp].instances = pc_prefill.instances;
    pc_decode.trials.clear();
    const LlmPool& decode = scenario.pools[d];
    AIF_ASSIGN_OR_RETURN(decode_engine,
                         TryPlans(sub, sd, d, plans.empty() ? std::vector{decode.engine->plan()} : plans, factory,
                                  options,
                                  fmt::format("targets not met with {} instances (prefill {} x{})",
                                              options.max_instances, pc_prefill.plan.ToString(), pc_prefill.instances),
                                  &pc_decode));
    if (pc_decode.met || pc_prefill.instances >= options.max_instances) break;
    pc_prefill.instances = std::min(options.max_instances, 2 * pc_prefill.instances);
    pc_prefill.gpus = pc_prefill.instances * pc_prefill.plan.gpus();
  }
  if (pc_decode.met) {
    out->sized.pools[p].engine = prefill_engine;
    out->sized.pools[p].instances = pc_prefill.instances;
    out->sized.pools[d].engine = decode_engine;
    out->sized.pools[d].instances = pc_decode.instances;
  } else {
    pc_prefill.met = false;  // the pair as a whole did not meet the targets
  }
  out->pools.push_back(pc_prefill);
  out->pools.push_back(pc_decode);
  return Status::Ok();
}

}  // namespace

bool MeetsTargets(const ServeScenario& s, const ServeResult& r, double percentile) {
  if (r.rejected > 0) return false;
  for (size_t t = 0; t < s.tasks.size() && t < r.tasks.size(); ++t) {
    const LatencyTargets& g = s.tasks[t].targets;
    const TaskResult& tr = r.tasks[t];
    if (tr.completed == 0) continue;
    if (g.ttft.value() > 0 && At(tr.ttft, percentile) > g.ttft.value()) return false;
    if (g.tpot.value() > 0 && At(tr.tpot, percentile) > g.tpot.value()) return false;
    if (g.e2e.value() > 0 && At(tr.e2e, percentile) > g.e2e.value()) return false;
  }
  return true;
}

Result<CapacityResult> FindCapacity(const ServeScenario& scenario, const EngineFactory& factory,
                                    const CapacityOptions& options) {
  AIF_RETURN_IF_ERROR(ValidateScenario(scenario));
  CapacityResult out;
  out.sized = scenario;
  for (size_t p = 0; p < scenario.pools.size(); ++p) {
    const LlmPool& pool = scenario.pools[p];
    if (pool.role == PoolRole::kPrefill) {
      AIF_RETURN_IF_ERROR(SizePair(scenario, p, factory, options, &out));
      continue;
    }
    if (pool.role != PoolRole::kUnified) continue;  // decode pools: with their prefill pool
    ServeScenario sub = Restrict(scenario, pool.name);
    if (sub.requests.empty()) continue;
    PoolCapacity pc;
    pc.pool = pool.name;
    pc.kind = "llm";
    std::vector<InstancePlan> plans = options.plans;
    if (plans.empty()) plans.push_back(pool.engine->plan());
    AIF_ASSIGN_OR_RETURN(std::shared_ptr<const EngineModel> best_engine,
                         TryPlans(sub, 0, p, plans, factory, options,
                                  fmt::format("targets not met with {} instances", options.max_instances), &pc));
    if (pc.met) {
      out.sized.pools[p].engine = best_engine;
      out.sized.pools[p].instances = pc.instances;
    }
    out.pools.push_back(pc);
  }
  for (size_t k = 0; k < scenario.speech.size(); ++k) {
    ServeScenario sub = Restrict(scenario, scenario.speech[k].name);
    if (sub.requests.empty()) continue;
    PoolCapacity pc;
    pc.pool = scenario.speech[k].name;
    pc.kind = "speech";
    PlanTrial trial;
    trial.plan.tp = scenario.speech[k].gpus_per_instance;
    auto meets = [&](int n) -> Result<bool> {
      sub.speech.front().instances = n;
      AIF_ASSIGN_OR_RETURN(ServeResult r, Simulate(sub));
      return MeetsTargets(sub, r, options.percentile);
    };
    AIF_ASSIGN_OR_RETURN(int n, SmallestCount(options.max_instances, meets, &trial.simulations));
    trial.instances = n;
    trial.gpus = n * scenario.speech[k].gpus_per_instance;
    pc.trials.push_back(trial);
    if (n > 0) {
      pc.met = true;
      pc.plan = trial.plan;
      pc.instances = n;
      pc.gpus = trial.gpus;
      out.sized.speech[k].instances = n;
    }
    out.pools.push_back(pc);
  }
  AIF_ASSIGN_OR_RETURN(out.result, Simulate(out.sized));
  out.gpus = out.result.gpus;
  return out;
}

}  // namespace aif::serve
