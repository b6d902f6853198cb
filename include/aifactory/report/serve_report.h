// The report of a serving simulation (`aifactory serve`): serve.json and a self-contained
// serve.html (inline SVG, no scripts). Deterministic: the same result gives byte-identical text;
// doubles are rounded to 6 significant digits.
#pragma once

#include <string>

#include "aifactory/core/status.h"
#include "aifactory/serve/capacity.h"
#include "aifactory/serve/simulator.h"

namespace aif::report {

inline constexpr const char* kServeJsonFile = "serve.json";
inline constexpr const char* kServeHtmlFile = "serve.html";

// `capacity` may be null (a plain simulation).
std::string ServeJson(const std::string& scenario_name, const serve::ServeResult& result,
                      const serve::CapacityResult* capacity);
std::string ServeHtml(const std::string& scenario_name, const serve::ServeResult& result,
                      const serve::CapacityResult* capacity);
// Creates `out_dir` if missing and writes serve.json and serve.html into it atomically.
Status WriteServeReport(const std::string& scenario_name, const serve::ServeResult& result,
                        const serve::CapacityResult* capacity, const std::string& out_dir);

}  // namespace aif::report
