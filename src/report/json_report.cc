#include "aifactory/report/json_report.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "job_json.h"
#include "rounding.h"

namespace aif::report {
namespace {

using ordered = nlohmann::ordered_json;

double Round(double x) { return RoundSignificant(x); }

ordered Stats(const train::ErrorStats& s) {
  ordered j;
  j["rows"] = s.rows;
  j["predicted"] = s.predicted;
  j["skipped"] = s.skipped;
  j["mape_pct"] = Round(s.mape_pct);
  j["median_ape_pct"] = Round(s.median_ape_pct);
  j["p90_ape_pct"] = Round(s.p90_ape_pct);
  return j;
}

}  // namespace

std::string ValidationJson(const std::vector<train::ValidationRow>& rows, const train::ValidationSummary& summary) {
  ordered doc;
  ordered list = ordered::array();
  for (const auto& r : rows) {
    ordered j;
    j["row_id"] = r.row_id;
    j["metric"] = r.metric;
    j["measured"] = r.measured ? ordered(Round(*r.measured)) : ordered(nullptr);
    j["predicted"] = r.ok ? ordered(Round(r.predicted)) : ordered(nullptr);
    j["ape_pct"] = r.ok ? ordered(Round(r.ape_pct)) : ordered(nullptr);
    j["status"] = r.ok ? "ok" : "skipped";
    j["reason"] = r.reason;
    j["accelerator_id"] = r.accelerator_id;
    j["line"] = r.line;
    j["assumptions"] = r.assumptions;
    list.push_back(std::move(j));
  }
  doc["rows"] = std::move(list);
  ordered s = Stats(summary.all);
  ordered by = ordered::object();
  for (const auto& [acc, st] : summary.by_accelerator) by[acc] = Stats(st);
  s["by_accelerator"] = std::move(by);
  doc["summary"] = std::move(s);
  return doc.dump(2) + "\n";
}

std::string StepJson(const train::StepEstimate& e, const train::TrainingJob& job, const train::Cluster& cluster,
                     const train::ParallelPlan& plan) {
  ordered j;
  j["model"] = job.model.id;
  j["system"] = cluster.system.id;
  j["accelerator"] = cluster.accelerator.id;
  j["gpus"] = cluster.gpus;
  AddJobSettings(job, j);
  j["plan"] = plan.ToString();
  j["recompute"] = train::RecomputeName(e.recompute);
  j["recompute_layers"] = e.recompute_layers;
  j["offload_layers"] = e.offload_layers;
  j["step_time_s"] = Round(e.step_time.value());
  j["tokens_per_s_per_gpu"] = Round(e.tokens_per_second_per_gpu);
  j["mfu"] = Round(e.mfu);
  j["model_flops_per_step"] = Round(e.model_flops);
  ordered time = ordered::object();
  for (size_t i = 0; i < e.time.size(); ++i) {
    time[train::TimeComponentName(static_cast<train::TimeComponent>(i))] = Round(e.time[i].value());
  }
  j["time_s"] = std::move(time);
  ordered mem = ordered::object();
  for (size_t i = 0; i < e.memory.size(); ++i) {
    mem[train::MemoryComponentName(static_cast<train::MemoryComponent>(i))] = Round(e.memory[i].value());
  }
  j["memory_bytes"] = std::move(mem);
  j["memory_total_bytes"] = Round(e.memory_total.value());
  j["memory_capacity_bytes"] = Round(e.memory_capacity.value());
  if (e.host_memory_used.value() > 0) {
    j["offloaded_to_host_bytes"] = Round(e.host_memory_used.value());
    j["host_memory_capacity_bytes"] = Round(e.host_memory_capacity.value());  // 0: the system gives none
  }
  j["fits_in_memory"] = e.fits_in_memory;
  return j.dump(2) + "\n";
}

}  // namespace aif::report
