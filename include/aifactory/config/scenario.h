// A scenario file: the cluster, the model, the training run and (optionally) its parallel plan.
#pragma once

#include <optional>
#include <string>

#include "aifactory/catalog/catalog.h"
#include "aifactory/train/job.h"

namespace aif::config {

struct Scenario {
  std::string name;
  train::Cluster cluster;
  train::TrainingJob job;
  double tokens = 0;  // tokens to train on
  std::optional<train::ParallelPlan> plan;
};

// Parses scenario YAML against the catalog; errors read `file:line:col: key.path: message`.
Result<Scenario> ParseScenario(std::string_view text, const std::string& file, const catalog::Catalog& catalog);
Result<Scenario> LoadScenarioFile(const std::string& path, const catalog::Catalog& catalog);
// The built-in default scenario (data/scenarios/default.yaml).
Result<Scenario> LoadDefaultScenario(const catalog::Catalog& catalog);

// "15T" -> 1.5e13 (K, M, B/G, T suffixes; a plain number is taken as is).
Result<double> ParseCount(std::string_view text);

}  // namespace aif::config
