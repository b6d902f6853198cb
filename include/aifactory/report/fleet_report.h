// The report of a fleet run (`aifactory fleet`): fleet.json and a self-contained fleet.html with
// inline SVG plots (utilization over time, queueing-delay CDF, power per site, interruptions by
// cause). Deterministic: the same result gives byte-identical files; doubles are rounded to 6
// significant digits.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/fleet/fleet_sim.h"

namespace aif::report {

inline constexpr const char* kFleetJsonFile = "fleet.json";
inline constexpr const char* kFleetHtmlFile = "fleet.html";

// What the report says beside the result: the scenario's name and file, the workload's notes
// (trace rows skipped, jobs left out), and, when several seeds ran, each seed's result summary.
struct FleetReportInputs {
  std::string name;
  std::string file;
  std::vector<std::pair<std::string, std::string>> workload;   // label -> value, in order
  std::vector<std::string> skipped_rows;                       // "file:line: ..." (all)
  std::vector<std::pair<std::string, std::int64_t>> left_out;  // reason -> jobs
  std::vector<fleet::FleetResult> seeds;                       // extra seeds (may be empty)
};

std::string FleetJson(const fleet::FleetResult& result, const FleetReportInputs& inputs);
std::string FleetHtml(const fleet::FleetResult& result, const FleetReportInputs& inputs);

// Creates `out_dir` if missing and writes fleet.json and fleet.html into it atomically.
Status WriteFleetReport(const fleet::FleetResult& result, const FleetReportInputs& inputs,
                        const std::string& out_dir);

}  // namespace aif::report
