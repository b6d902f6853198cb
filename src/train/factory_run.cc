#include "aifactory/train/factory_run.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace aif::train {

TrainingCost CostOf(const Cluster& cluster, Seconds wall, const CostInputs& c) {
  TrainingCost t;
  const double hours = wall.value() / 3600.0;
  const double racks = std::ceil(1.0 * cluster.gpus / std::max(1, cluster.system.nvlink_domain));
  t.gpu_hours = hours * cluster.gpus;
  t.it_power_w = cluster.gpus * cluster.accelerator.tdp.value() + racks * c.rack_overhead_w;
  t.facility_power_w = t.it_power_w * std::max(1.0, c.pue);
  t.energy_kwh = t.facility_power_w * hours / 1000.0;
  t.energy_usd = t.energy_kwh * c.electricity_usd_per_kwh;
  if (c.amortization_years > 0) {
    double capex = cluster.gpus * c.gpu_capex_usd + racks * c.rack_capex_usd;
    t.capex_usd = capex * hours / (c.amortization_years * 365.0 * 24.0);
  }
  t.total_usd = t.energy_usd + t.capex_usd;
  t.co2_tonnes = t.energy_kwh * c.grid_kg_co2_per_kwh / 1000.0;
  return t;
}

bool HasPrices(const CostInputs& c) {
  return c.electricity_usd_per_kwh > 0 || (c.amortization_years > 0 && (c.gpu_capex_usd > 0 || c.rack_capex_usd > 0));
}

double StepsToTrain(const TrainingJob& job, double tokens) {
  const double tokens_per_step = 1.0 * job.global_batch * job.seq_len;
  return tokens > 0 ? std::ceil(tokens / tokens_per_step) : 0;
}

ScalingPoint EvaluatePlan(const FactoryRunInputs& in, const Cluster& cluster, const RankedPlan& ranked,
                          double steps) {
  ScalingPoint p;
  p.gpus = cluster.gpus;
  p.feasible = ranked.estimate.fits_in_memory;
  p.plan = ranked.plan;
  p.step_time_s = ranked.estimate.step_time.value();
  p.mfu = ranked.estimate.mfu;
  const Goodput g = EstimateGoodput(Seconds(steps * p.step_time_s), cluster.gpus, in.reliability);
  p.days_to_train = g.wall_time.value() / 86400.0;
  p.cost = CostOf(cluster, g.wall_time, in.costs);
  return p;
}

std::vector<ScalingPoint> ClusterSizesByCost(const FactoryRun& run) {
  std::vector<ScalingPoint> candidates = {EvaluatePlan(run.inputs, run.inputs.cluster, run.best, run.steps)};
  candidates.insert(candidates.end(), run.scaling.begin(), run.scaling.end());
  if (run.min_cluster) candidates.push_back(*run.min_cluster);
  std::vector<ScalingPoint> sizes;
  for (const ScalingPoint& p : candidates) {
    const bool seen = std::any_of(sizes.begin(), sizes.end(), [&](const ScalingPoint& s) { return s.gpus == p.gpus; });
    if (p.feasible && !seen) sizes.push_back(p);
  }
  std::sort(sizes.begin(), sizes.end(), [](const ScalingPoint& a, const ScalingPoint& b) {
    if (a.cost.total_usd != b.cost.total_usd) return a.cost.total_usd < b.cost.total_usd;
    return a.gpus < b.gpus;
  });
  return sizes;
}

namespace {

// The best plan of a job on a cluster: the fixed one, or the searched fastest.
Result<RankedPlan> BestPlan(const TrainingJob& job, const Cluster& cluster, const FactoryRunInputs& in,
                            SearchResult* search) {
  if (in.fixed_plan) {
    AIF_ASSIGN_OR_RETURN(StepEstimate e, EstimateStep(job, cluster, *in.fixed_plan));
    return RankedPlan{*in.fixed_plan, e};
  }
  AIF_ASSIGN_OR_RETURN(SearchResult r, SearchPlans(job, cluster, in.search));
  if (r.best.empty()) {
    return OutOfMemory(fmt::format("no plan of {} fits {} x {} ({} plans tried)", job.model.id, cluster.gpus,
                                   cluster.accelerator.id, r.evaluated));
  }
  RankedPlan best = r.best.front();
  if (search) *search = std::move(r);
  return best;
}

ScalingPoint Point(const FactoryRunInputs& in, const FactoryRunInputs& search_inputs, int gpus, double steps) {
  Cluster c = in.cluster;
  c.gpus = gpus;
  // A job spans only the sites it needs: as many of the scenario's sites as its GPUs fill.
  if (in.cluster.sites > 1) {
    const int site = in.cluster.SiteSize();
    c.sites = std::max(1, (gpus + site - 1) / site);
  }
  auto best = BestPlan(in.job, c, search_inputs, nullptr);
  if (!best.ok()) {
    ScalingPoint p;
    p.gpus = gpus;
    return p;
  }
  return EvaluatePlan(in, c, *best, steps);
}

// The notes of a run ranked by cost: what the ranking can and cannot choose.
void AddCostRankingNotes(const FactoryRunInputs& in, std::vector<std::string>* notes) {
  std::string note = fmt::format(
      "ranked by cost: on {} GPUs every plan keeps all of them for the whole run, so the cheapest plan is the "
      "fastest",
      in.cluster.gpus);
  const bool other_sizes = !in.scaling_gpus.empty() || in.find_min_gpus;
  if (!other_sizes) {
    note += "; cost ranking chooses between cluster sizes (give `scaling` or `find_min_gpus: true`)";
  } else {
    note += "; across cluster sizes the cheapest has the least total cost (energy and amortized capital over the "
            "elapsed time with failures), however long it takes";
  }
  notes->push_back(std::move(note));
  if (other_sizes && !HasPrices(in.costs)) {
    notes->push_back(
        "no prices given (costs.electricity, or costs.gpu_capex or costs.rack_capex with costs.amortization): "
        "no cheapest cluster size");
  }
}

// Bisection over multiples of the job's rack unit (the largest divisor of the scenario's GPU
// count that fits in an NVLink domain), up to the largest feasible size the inputs name. Plans
// exist for more GPUs when they exist for fewer in all but divisibility corner cases, which
// bisection may step over: the result is a cluster that fits, not a proof that none smaller does.
std::optional<ScalingPoint> MinCluster(const FactoryRunInputs& in, const FactoryRunInputs& search_inputs,
                                       double steps) {
  const int unit = std::max(1, in.cluster.DomainSize());
  std::vector<int> sizes = in.scaling_gpus;
  sizes.push_back(in.cluster.gpus);
  std::sort(sizes.begin(), sizes.end());
  std::optional<ScalingPoint> best;
  long long hi = 0;
  for (int g : sizes) {
    if (g % unit != 0) continue;
    ScalingPoint p = Point(in, search_inputs, g, steps);
    if (p.feasible) {
      best = p;
      hi = g / unit;
      break;
    }
  }
  if (!best) return std::nullopt;
  long long lo = 0;  // 0 units: infeasible
  while (hi - lo > 1) {
    long long mid = lo + (hi - lo) / 2;
    ScalingPoint p = Point(in, search_inputs, static_cast<int>(mid * unit), steps);
    if (p.feasible) {
      hi = mid;
      best = p;
    } else {
      lo = mid;
    }
  }
  return best;
}

}  // namespace

Result<FactoryRun> RunFactory(const FactoryRunInputs& in) {
  FactoryRun run;
  run.inputs = in;
  AIF_ASSIGN_OR_RETURN(run.best, BestPlan(in.job, in.cluster, in, &run.search));
  run.steps = StepsToTrain(in.job, in.tokens);
  run.compute_time = Seconds(run.steps * run.best.estimate.step_time.value());
  run.goodput = EstimateGoodput(run.compute_time, in.cluster.gpus, in.reliability);
  run.cost = CostOf(in.cluster, run.goodput.wall_time, in.costs);
  if (in.reliability.interruptions_per_gpu_hour > 0) {
    for (const auto& [cause, rate] : in.failure_components) {
      run.interruptions_by_cause.emplace_back(
          cause, run.goodput.expected_interruptions * rate / in.reliability.interruptions_per_gpu_hour);
    }
  }
  if (in.reliability.interruptions_per_gpu_hour <= 0) run.notes.push_back("failures not modelled (no interruption rate given)");
  if (in.costs.rack_overhead_w <= 0) run.notes.push_back("power counts GPUs at TDP only (no rack overhead given)");
  if (!run.best.estimate.fits_in_memory) run.notes.push_back("the fixed plan does not fit in memory");
  if (catalog::MathClassOf(in.job.precision) != catalog::MathClass::k16Bit) {
    const char* format = catalog::PrecisionName(in.job.precision);
    run.notes.push_back(in.job.low_precision_weights
                            ? fmt::format("weights kept in {} alone, as Megatron-Core's fp8/fp4_param_gather "
                                          "(training.low_precision_weights; false, or ZeRO stage 0, keeps BF16 "
                                          "weights too)", format)
                            : fmt::format("weights kept in BF16 beside their {} copies "
                                          "(training.low_precision_weights: false)", format));
  }
  if (in.cluster.sites > 1) {
    // What the WAN costs: the same plan with every GPU in one site.
    Cluster one_site = in.cluster;
    one_site.sites = 1;
    auto local = EstimateStep(in.job, one_site, run.best.plan);
    if (local.ok()) {
      run.notes.push_back(fmt::format(
          "{} sites: the WAN adds {:.1f}% to the step time of the same plan on one site of {} GPUs", in.cluster.sites,
          100 * (run.best.estimate.step_time.value() / local->step_time.value() - 1), in.cluster.gpus));
    }
  }
  if (in.rank_by == RankBy::kCost) AddCostRankingNotes(in, &run.notes);
  // The limits bound every search of the run: the best plan's, the scaling points', the smallest
  // cluster's.
  if (std::string limits = SearchLimits(in.search); !limits.empty()) {
    run.notes.push_back("plan searches were limited by the scenario: " + limits);
  }
  if (in.cluster.memory_reserve.value() > 0) {
    run.notes.push_back(fmt::format("plans leave {:.1f} GB of each GPU's HBM free (cluster.memory_reserve)",
                                    in.cluster.memory_reserve.value() / 1e9));
  }

  // Scaling curve: the same job on other GPU counts of the same system.
  FactoryRunInputs point_inputs = in;
  point_inputs.fixed_plan.reset();
  point_inputs.search.top = 1;
  for (int gpus : in.scaling_gpus) run.scaling.push_back(Point(in, point_inputs, gpus, run.steps));
  if (in.find_min_gpus) run.min_cluster = MinCluster(in, point_inputs, run.steps);
  const bool other_sizes = !in.scaling_gpus.empty() || in.find_min_gpus;
  if (in.rank_by == RankBy::kCost && other_sizes && HasPrices(in.costs) && run.steps > 0) {
    std::vector<ScalingPoint> sizes = ClusterSizesByCost(run);
    if (!sizes.empty()) run.cheapest = sizes.front();
  }
  return run;
}

}  // namespace aif::train
