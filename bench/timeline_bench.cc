// One training iteration of a whole factory as a discrete-event simulation (timeline module):
//  - BM_TimelineIteration/GPUS/MODE: the built-in scenario's job (Llama 3.1 405B, seq 8192,
//    global batch 2304 on GB300 NVL72 racks) on 1,152 / 4,608 / 16,128 / 110,592 GPUs with the
//    best plan the search finds there; MODE 0: the full factory on its network (every replica,
//    every flow), 1: --replicate (one pipeline replica and one DP group per stage), 2: the
//    step model's communication times (no network), 3: the full factory with static ECMP
//    instead of adaptive routing. Counters: simulated iteration, the analytic
//    step, des events, flows, peak RSS of the process (getrusage; run one size per process for a
//    clean figure, e.g. --benchmark_filter='BM_TimelineIteration/110592/0').
//  - BM_ScenarioAgreement/I: every built-in scenario's best plan, timeline with the step model's
//    communication against the step model, with and without PP send time.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/scenario.h"
#include "aifactory/timeline/iteration.h"
#include "aifactory/train/plan_search.h"

namespace {

using aif::Seconds;

template <typename T>
T OrDie(aif::Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

const aif::catalog::Catalog& Catalog() {
  static const aif::catalog::Catalog* cat =
      new aif::catalog::Catalog(OrDie(aif::config::LoadBuiltinCatalog()));
  return *cat;
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct Setup {
  aif::config::Scenario scenario;
  aif::train::ParallelPlan plan;
};

Setup Prepare(int gpus) {
  Setup s{OrDie(aif::config::LoadDefaultScenario(Catalog())), {}};
  if (gpus > 0) {
    s.scenario.cluster =
        OrDie(aif::train::MakeCluster(Catalog(), s.scenario.cluster.system.id, gpus));
  }
  aif::train::SearchOptions search = s.scenario.RunInputs().search;
  search.threads = 1;
  search.top = 1;
  auto found = OrDie(aif::train::SearchPlans(s.scenario.job, s.scenario.cluster, search));
  if (found.best.empty()) {
    std::fprintf(stderr, "no plan fits %d GPUs\n", gpus);
    std::abort();
  }
  s.plan = found.best.front().plan;
  return s;
}

void BM_TimelineIteration(benchmark::State& state) {
  const auto gpus = static_cast<int>(state.range(0));
  const auto mode = static_cast<int>(state.range(1));
  const Setup s = Prepare(gpus);
  aif::timeline::IterationOptions o;
  o.network = mode != 2;
  o.replicate = mode == 1;
  if (mode == 3) o.routing = aif::net::RoutingPolicy::kEcmp;
  aif::timeline::IterationResult r;
  for (auto _ : state) {
    r = OrDie(aif::timeline::SimulateIteration(s.scenario.job, s.scenario.cluster, s.plan, o));
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(s.plan.ToString());
  state.counters["sim_iter_s"] = r.iteration_time.value();
  state.counters["analytic_s"] = r.estimate.step_time.value();
  state.counters["events"] = static_cast<double>(r.des_events);
  state.counters["tasks"] = static_cast<double>(r.events.size());
  state.counters["flows"] = r.network ? static_cast<double>(r.network->flows) : 0.0;
  state.counters["rate_updates"] =
      r.network ? static_cast<double>(r.network->flow_rate_updates) : 0.0;
  state.counters["peak_rss_MB"] = PeakRssMb();
}
BENCHMARK(BM_TimelineIteration)
    ->ArgsProduct({{1152, 4608, 16128, 110592}, {0, 1, 2, 3}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

const std::vector<std::string>& Scenarios() {
  static const std::vector<std::string> names = {"default", "gb300-46k-next-gen", "h100-15k-moe",
                                                 "llama3-405b-16k-h100", "tens-of-trillions"};
  return names;
}

void BM_ScenarioAgreement(benchmark::State& state) {
  const std::string name = Scenarios()[static_cast<std::size_t>(state.range(0))];
  const std::string path = std::string(AIF_SOURCE_DIR) + "/data/scenarios/" + name + ".yaml";
  const auto scenario = OrDie(aif::config::LoadScenarioFile(path, Catalog()));
  aif::train::ParallelPlan plan;
  if (scenario.plan) {
    plan = *scenario.plan;
  } else {
    aif::train::SearchOptions search = scenario.RunInputs().search;
    search.threads = 1;
    search.top = 1;
    plan = OrDie(aif::train::SearchPlans(scenario.job, scenario.cluster, search)).best.front().plan;
  }
  aif::timeline::IterationResult r, z;
  aif::timeline::IterationOptions no_send;
  no_send.send_time = Seconds(0);
  for (auto _ : state) {
    r = OrDie(aif::timeline::SimulateIteration(scenario.job, scenario.cluster, plan));
    z = OrDie(aif::timeline::SimulateIteration(scenario.job, scenario.cluster, plan, no_send));
  }
  const double analytic = r.estimate.step_time.value();
  const double pp = r.estimate.at(aif::train::TimeComponent::kPpComm).value();
  state.SetLabel(name + " " + plan.ToString());
  state.counters["analytic_s"] = analytic;
  state.counters["timeline_s"] = r.iteration_time.value();
  state.counters["diff_pct"] = 100 * (r.iteration_time.value() / analytic - 1);
  // Without PP send time on both sides: the schedule alone.
  state.counters["nosend_diff_pct"] = 100 * (z.iteration_time.value() / (analytic - pp) - 1);
  state.counters["pp_comm_s"] = pp;
}
BENCHMARK(BM_ScenarioAgreement)->DenseRange(0, 4)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
