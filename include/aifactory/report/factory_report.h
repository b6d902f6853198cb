// The report of a factory run (`aifactory run`): summary.json, plans.csv and a self-contained
// report.html with inline SVG plots. Every writer is deterministic: the same FactoryRun gives
// byte-identical text (no wall-clock time, no unordered iteration), and every double is rounded to
// 6 significant digits before it is written, so the HTML shows the same numbers as the JSON.
#pragma once

#include <string>
#include <string_view>

#include "aifactory/core/status.h"
#include "aifactory/train/factory_run.h"

namespace aif::report {

// File names written by WriteFactoryReport; fixed, never derived from the input.
inline constexpr const char* kSummaryJsonFile = "summary.json";
inline constexpr const char* kPlansCsvFile = "plans.csv";
inline constexpr const char* kReportHtmlFile = "report.html";

// summary.json: the scenario, the best plan with its time and memory breakdown, time to train with
// failures, cost, the search counts, the ranked plans, the scaling curve (each size with its
// energy and cost), the smallest cluster, the cheapest cluster size (ranked by cost) and the notes.
// Keys are in a fixed order; an infinite job MTBF (failures not modelled) is written as null.
std::string FactorySummaryJson(const train::FactoryRun& run);

// plans.csv: a header and one row per ranked plan (the best plan alone when the plan was fixed):
// rank,tp,pp,vp,cp,ep,dp,micro_batch,zero_stage,recompute,step_time_s,tokens_per_s_per_gpu,mfu,
// memory_gb,days_to_train. days_to_train includes the failure overhead of the run's goodput.
std::string PlansCsv(const train::FactoryRun& run);

// report.html: one offline HTML5 page (inline CSS and SVG, no scripts, no external resources).
// Every string from the input is HTML-escaped.
std::string FactoryHtml(const train::FactoryRun& run);

// Creates `out_dir` if missing and writes summary.json, plans.csv and report.html into it, each
// atomically (a reader never sees a half-written file). Fails with the path when `out_dir` exists
// and is not a directory, cannot be created, or a file cannot be written.
Status WriteFactoryReport(const train::FactoryRun& run, const std::string& out_dir);

// One RFC 4180 CSV field: quoted (with quotes doubled) when it holds a comma, a quote, CR or LF.
std::string CsvField(std::string_view field);

// Text escaped for HTML element content and quoted attribute values: & < > " '.
std::string HtmlEscape(std::string_view text);

}  // namespace aif::report
