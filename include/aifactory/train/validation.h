// Predicting measured training runs (the `aifactory validate` contract of
// shared/validation/README.md): metrics, per-row errors and their summary statistics.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "aifactory/train/step_model.h"

namespace aif::train {

// kPeakMemoryGbPerGpu: the peak HBM a GPU's state takes (weights, gradients, optimizer state,
// activations, transient buffers; decimal GB), as a framework's peak allocated memory counts it.
enum class Metric {
  kStepTime,
  kTokensPerSecondPerGpu,
  kTokensPerSecondTotal,
  kModelTflopsPerGpu,
  kHwTflopsPerGpu,
  kPeakMemoryGbPerGpu
};
const char* MetricName(Metric m);
Result<Metric> ParseMetric(std::string_view name);

// The metric's value for an estimated step. TFLOP/s use the Megatron FLOP formula that the
// published figures use (flops.h), so their error equals the step-time error.
double PredictMetric(Metric metric, const StepEstimate& estimate, const TrainingJob& job, const Cluster& cluster);

// One measured run, ready to predict.
struct ValidationCase {
  Metric metric = Metric::kStepTime;
  double measured = 0;
  TrainingJob job;
  Cluster cluster;
  ParallelPlan plan;
  bool recompute_given = false;  // else the lightest mode that fits is used
  // The row states its micro-batch (or gradient accumulation). Else the row does not give a full
  // plan to compare the search with, and it is predicted with the fastest micro-batch that fits,
  // and the fastest virtual stages too where it states none (vp_given): a published benchmark was
  // tuned, as recompute is taken to be the lightest that fits.
  bool micro_batch_given = true;
  bool vp_given = true;
};

// One row of the result; `status` is "ok" or "skipped" (with the reason).
struct ValidationRow {
  std::string row_id;
  int line = 0;
  std::string metric;
  std::string accelerator_id;
  std::optional<double> measured;
  double predicted = 0;
  double ape_pct = 0;
  bool ok = false;
  std::string reason;
  std::vector<std::string> assumptions;  // what was chosen where the row was silent
  std::optional<ValidationCase> input;    // present for rows that can be predicted
};

// Predicts `row.input` in place: fills predicted and ape_pct, or marks the row skipped.
void EvaluateRow(ValidationRow& row);

struct ErrorStats {
  int rows = 0, predicted = 0, skipped = 0;
  double mape_pct = 0, median_ape_pct = 0, p90_ape_pct = 0;
};

struct ValidationSummary {
  ErrorStats all;
  std::map<std::string, ErrorStats> by_accelerator;
};

// Percentiles interpolate linearly between order statistics.
ValidationSummary Summarize(const std::vector<ValidationRow>& rows);

// The published plan of a row against the best plan the search finds for the same model, GPUs,
// batch and precision: how much faster the searched plan is predicted to be.
struct SearchComparison {
  ParallelPlan published;
  ParallelPlan searched;
  StepEstimate published_estimate, searched_estimate;
  long long faster = 0;    // searched plans that fit and are faster than the published one
  long long feasible = 0;  // searched plans that fit

  // 100 * (published / searched step time - 1): > 0 when the search finds faster.
  double GainPct() const {
    return 100.0 * (published_estimate.step_time.value() / searched_estimate.step_time.value() - 1);
  }
  // Share of the published plan's step spent waiting on kernel launches, in percent.
  double PublishedHostPct() const {
    return 100.0 * published_estimate.at(TimeComponent::kHostLaunch).value() / published_estimate.step_time.value();
  }
};
Result<SearchComparison> CompareWithSearch(const ValidationCase& c);

}  // namespace aif::train
