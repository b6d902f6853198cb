// JSON documents of results (nlohmann::json underneath; keys in a fixed order so the output is
// byte-identical for the same input).
#pragma once

#include <string>
#include <vector>

#include "aifactory/train/step_model.h"
#include "aifactory/train/validation.h"

namespace aif::report {

// The `aifactory validate --json` document of shared/validation/README.md.
std::string ValidationJson(const std::vector<train::ValidationRow>& rows, const train::ValidationSummary& summary);

// One configuration's estimate: step time, components, memory, FLOPs.
std::string StepJson(const train::StepEstimate& estimate, const train::TrainingJob& job,
                     const train::Cluster& cluster, const train::ParallelPlan& plan);

}  // namespace aif::report
