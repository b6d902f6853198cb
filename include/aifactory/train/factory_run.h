// The factory's main job: the best plan for a model on a cluster, its time to train with
// failures, its energy, money and CO2, and how it scales with the number of GPUs.
#pragma once

#include <string>
#include <optional>
#include <utility>
#include <vector>

#include "aifactory/train/goodput.h"
#include "aifactory/train/plan_search.h"

namespace aif::train {

// Prices and power beyond the accelerators, each from the scenario (with its source).
struct CostInputs {
  // A "rack" is one NVLink domain of the system: an NVL72 rack, or one 8-GPU HGX/DGX server.
  double gpu_capex_usd = 0;        // per GPU, installed
  double rack_capex_usd = 0;       // per rack, beyond gpu_capex (or all of it)
  double amortization_years = 0;   // straight-line; 0 = no capital cost
  double electricity_usd_per_kwh = 0;
  double pue = 1;                  // facility power / IT power
  double rack_overhead_w = 0;      // per rack: CPUs, NICs, switches, fans, power conversion
  double grid_kg_co2_per_kwh = 0;  // 0 = not reported
};

struct TrainingCost {
  double gpu_hours = 0;            // elapsed time x GPUs
  double it_power_w = 0;           // GPUs at TDP + node overhead
  double facility_power_w = 0;     // x PUE
  double energy_kwh = 0;           // facility energy over the elapsed time
  double energy_usd = 0;
  double capex_usd = 0;            // amortized capital for the elapsed time
  double total_usd = 0;
  double co2_tonnes = 0;
};

// The job on one cluster size of the same system, with the best plan found there.
struct ScalingPoint {
  int gpus = 0;
  bool feasible = false;
  ParallelPlan plan;
  double step_time_s = 0;
  double mfu = 0;
  double days_to_train = 0;  // with failures
  TrainingCost cost;         // of the whole run at this size, over its elapsed time with failures
};

struct FactoryRunInputs {
  std::string name;
  TrainingJob job;
  Cluster cluster;
  double tokens = 0;                          // tokens to train on
  std::optional<ParallelPlan> fixed_plan;     // evaluate this plan instead of searching
  ReliabilityInputs reliability;              // zero rate: failures not modelled
  CostInputs costs;
  RankBy rank_by = RankBy::kTime;
  SearchOptions search;
  std::vector<int> scaling_gpus;              // GPU counts of the scaling curve (empty: none)
  bool find_min_gpus = false;                 // also find the smallest cluster with a plan that fits
  std::vector<std::pair<std::string, double>> failure_components;  // rate per GPU-hour by cause
};

struct FactoryRun {
  FactoryRunInputs inputs;
  SearchResult search;        // empty when the plan was fixed
  RankedPlan best;
  double steps = 0;
  Seconds compute_time;       // steps x step time
  Goodput goodput;            // wall time with failures
  // Expected interruptions by cause (the run's total split by the components' rates).
  std::vector<std::pair<std::string, double>> interruptions_by_cause;
  TrainingCost cost;
  std::vector<ScalingPoint> scaling;
  // The smallest whole number of racks (NVLink domains) with a plan that fits, when asked.
  std::optional<ScalingPoint> min_cluster;
  // Ranked by cost with other cluster sizes to compare (scaling, find_min_gpus) and prices given:
  // the front of ClusterSizesByCost(run), the cheapest size that fits. Empty otherwise.
  std::optional<ScalingPoint> cheapest;
  std::vector<std::string> notes;  // assumptions and what was left out
};

// Cost of running `gpus` GPUs of `cluster`'s system for `wall` seconds.
TrainingCost CostOf(const Cluster& cluster, Seconds wall, const CostInputs& costs);

// Whether the costs put a price on the run: electricity, or capital with an amortization period.
bool HasPrices(const CostInputs& costs);

// Steps to train `tokens`: whole steps of global batch x sequence length; 0 without tokens.
double StepsToTrain(const TrainingJob& job, double tokens);

// The whole run of `ranked` on `cluster` for `steps` steps: elapsed days with the inputs'
// failures and its cost, as RunFactory computes them for the main run. Feasible when it fits.
ScalingPoint EvaluatePlan(const FactoryRunInputs& inputs, const Cluster& cluster, const RankedPlan& ranked,
                          double steps);

// Every cluster size the run evaluated with a plan that fits (its own size first, then the scaling
// points, then the smallest cluster; one per GPU count), cheapest first: by total cost, then by
// fewer GPUs. Without prices every cost is 0 and the order is by GPUs.
std::vector<ScalingPoint> ClusterSizesByCost(const FactoryRun& run);

Result<FactoryRun> RunFactory(const FactoryRunInputs& inputs);

}  // namespace aif::train
