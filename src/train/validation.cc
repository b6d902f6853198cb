#include "aifactory/train/validation.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "aifactory/train/flops.h"
#include "aifactory/train/plan_search.h"

namespace aif::train {

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::kStepTime: return "step_time_s";
    case Metric::kTokensPerSecondPerGpu: return "tokens_per_s_per_gpu";
    case Metric::kTokensPerSecondTotal: return "tokens_per_s_total";
    case Metric::kModelTflopsPerGpu: return "model_tflops_per_gpu";
    case Metric::kHwTflopsPerGpu: return "hw_tflops_per_gpu";
    case Metric::kPeakMemoryGbPerGpu: return "peak_memory_gb_per_gpu";
  }
  return "?";
}

Result<Metric> ParseMetric(std::string_view name) {
  for (Metric m : {Metric::kStepTime, Metric::kTokensPerSecondPerGpu, Metric::kTokensPerSecondTotal,
                   Metric::kModelTflopsPerGpu, Metric::kHwTflopsPerGpu, Metric::kPeakMemoryGbPerGpu}) {
    if (name == MetricName(m)) return m;
  }
  return InvalidArgument(fmt::format(
      "unknown metric '{}', expected step_time_s, tokens_per_s_per_gpu, tokens_per_s_total, "
      "model_tflops_per_gpu, hw_tflops_per_gpu or peak_memory_gb_per_gpu", name));
}

double PredictMetric(Metric metric, const StepEstimate& e, const TrainingJob& job, const Cluster& cluster) {
  const double step = e.step_time.value();
  const double tokens = 1.0 * job.global_batch * job.seq_len;
  switch (metric) {
    case Metric::kStepTime: return step;
    case Metric::kTokensPerSecondPerGpu: return tokens / step / cluster.gpus;
    case Metric::kTokensPerSecondTotal: return tokens / step;
    case Metric::kModelTflopsPerGpu: return e.model_flops / step / cluster.gpus / 1e12;
    case Metric::kHwTflopsPerGpu: return e.hardware_flops / step / cluster.gpus / 1e12;
    case Metric::kPeakMemoryGbPerGpu: return e.memory_total.value() / 1e9;
  }
  return 0;
}

namespace {

// The row's plan with its stated recompute, or the lightest that fits when it states none.
Result<StepEstimate> EstimatePlan(const ValidationCase& c, const ParallelPlan& plan) {
  return c.recompute_given ? EstimateStep(c.job, c.cluster, plan) : EstimateStepLightestRecompute(c.job, c.cluster, plan);
}

// As EstimatePlan; where the row states no micro-batch (and perhaps no virtual stages), the
// fastest of the plan search's candidates for them that fits, the row's other fields fixed.
Result<RankedPlan> EstimateCase(const ValidationCase& c) {
  auto ranked = [](const ParallelPlan& p, Result<StepEstimate> e) -> Result<RankedPlan> {
    if (!e.ok()) return e.status();
    return RankedPlan{p, *std::move(e)};
  };
  if (c.micro_batch_given) return ranked(c.plan, EstimatePlan(c, c.plan));
  const SearchOptions defaults;
  const std::vector<int> vps = c.vp_given ? std::vector<int>{c.plan.vp} : defaults.virtual_stages;
  std::optional<RankedPlan> best;
  for (int mbs : defaults.micro_batches) {
    for (int vp : vps) {
      if (ScheduleRejection(c.job, c.plan.dp, c.plan.pp, vp, mbs) != nullptr) continue;
      ParallelPlan p = c.plan;
      p.micro_batch = mbs;
      p.vp = vp;
      if (!ValidatePlan(c.job, c.cluster, p).ok()) continue;
      Result<StepEstimate> e = EstimatePlan(c, p);
      if (!e.ok() || !e->fits_in_memory) continue;
      if (!best || e->step_time.value() < best->estimate.step_time.value()) best = RankedPlan{p, *e};
    }
  }
  if (best) return *best;
  return ranked(c.plan, EstimatePlan(c, c.plan));  // nothing fits: the row's plan as read, to say so
}

}  // namespace

void EvaluateRow(ValidationRow& row) {
  if (!row.input) return;
  const ValidationCase& c = *row.input;
  Result<RankedPlan> r = EstimateCase(c);
  if (!r.ok()) {
    row.ok = false;
    row.reason = r.status().message();
    return;
  }
  const StepEstimate* e = &r->estimate;
  if (!c.micro_batch_given) {
    row.assumptions.push_back(fmt::format("micro_batch={}{} (not stated: the fastest that fits)", r->plan.micro_batch,
                                          c.vp_given ? "" : fmt::format(", vp={}", r->plan.vp)));
  }
  if (!c.recompute_given) {
    std::string layers = e->recompute_layers > 0 ? fmt::format(" of {} layers per pipeline rank", e->recompute_layers) : "";
    if (e->offload_layers > 0) {
      layers += fmt::format(", activations of {} layers per pipeline rank offloaded to host memory", e->offload_layers);
    }
    row.assumptions.push_back(fmt::format("recompute={}{} (lightest that fits)", RecomputeName(e->recompute), layers));
  }
  row.predicted = PredictMetric(c.metric, *e, c.job, c.cluster);
  row.ape_pct = 100.0 * std::fabs(row.predicted - c.measured) / std::fabs(c.measured);
  row.ok = true;
}

namespace {

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

ErrorStats Stats(const std::vector<const ValidationRow*>& rows) {
  ErrorStats s;
  std::vector<double> errors;
  for (const ValidationRow* r : rows) {
    ++s.rows;
    if (r->ok) errors.push_back(r->ape_pct);
  }
  s.predicted = static_cast<int>(errors.size());
  s.skipped = s.rows - s.predicted;
  if (!errors.empty()) {
    double sum = 0;
    for (double x : errors) sum += x;
    s.mape_pct = sum / errors.size();
    s.median_ape_pct = Percentile(errors, 0.5);
    s.p90_ape_pct = Percentile(errors, 0.9);
  }
  return s;
}

}  // namespace

Result<SearchComparison> CompareWithSearch(const ValidationCase& c) {
  SearchComparison out;
  AIF_ASSIGN_OR_RETURN(RankedPlan row_plan, EstimateCase(c));
  const StepEstimate& published = row_plan.estimate;
  SearchOptions options;
  options.top = 1;
  // The search keeps the run's framework settings and changes only the plan.
  options.ep_overlap = c.plan.ep_overlap;
  options.cuda_graphs = c.plan.cuda_graphs;
  options.cuda_graph_modules = c.plan.cuda_graph_modules;
  if (published.fits_in_memory) options.count_faster_than_s = published.step_time.value();
  AIF_ASSIGN_OR_RETURN(SearchResult r, SearchPlans(c.job, c.cluster, options));
  if (r.best.empty()) return OutOfMemory("the search found no plan that fits");
  out.published = row_plan.plan;
  out.published.recompute = published.recompute;
  out.published.recompute_layers = published.recompute_layers;
  out.published.offload_layers = published.offload_layers;
  out.published.ep_overlap = published.ep_overlap;
  out.searched = r.best.front().plan;
  out.published_estimate = published;
  out.searched_estimate = r.best.front().estimate;
  out.faster = r.faster;
  out.feasible = r.feasible;
  return out;
}

ValidationSummary Summarize(const std::vector<ValidationRow>& rows) {
  ValidationSummary summary;
  std::vector<const ValidationRow*> all;
  std::map<std::string, std::vector<const ValidationRow*>> groups;
  for (const auto& r : rows) {
    all.push_back(&r);
    groups[r.accelerator_id.empty() ? std::string("(none)") : r.accelerator_id].push_back(&r);
  }
  summary.all = Stats(all);
  for (const auto& [acc, list] : groups) summary.by_accelerator[acc] = Stats(list);
  return summary;
}

}  // namespace aif::train
