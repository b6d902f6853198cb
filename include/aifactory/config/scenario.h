// A scenario file: the cluster, the model, the training run and (optionally) its parallel plan.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <vector>
#include <string>

#include "aifactory/catalog/catalog.h"
#include "aifactory/train/factory_run.h"
#include "aifactory/train/job.h"

namespace aif::config {

struct Scenario {
  std::string name;
  train::Cluster cluster;
  train::TrainingJob job;
  double tokens = 0;  // tokens to train on
  std::optional<train::ParallelPlan> plan;
  // The plan search's candidate sets and limits (`search:`); threads and the ranking length come
  // from the command line.
  train::SearchOptions search;
  train::ReliabilityInputs reliability;  // checkpoint write time from the model's size
  // Interruption rates by cause (name, per GPU-hour), when the scenario gives them; they add up
  // to reliability.interruptions_per_gpu_hour.
  std::vector<std::pair<std::string, double>> failure_components;
  train::CostInputs costs;
  std::vector<int> scaling_gpus;
  bool find_min_gpus = false;
  train::RankBy rank_by = train::RankBy::kTime;  // `rank_by: cost` picks the cheapest cluster size
  std::map<std::string, std::string> sources;  // "costs.pue" -> citation

  // Inputs of the main job (plan search unless the scenario fixes the plan).
  train::FactoryRunInputs RunInputs() const;
};

// Bytes of a full training checkpoint: BF16 weights, FP32 master weights and the two FP32 Adam
// moments (14 bytes per parameter; Megatron distributed checkpoints hold these four).
double CheckpointBytes(const catalog::Model& model);

// Parses scenario YAML against the catalog; errors read `file:line:col: key.path: message`.
Result<Scenario> ParseScenario(std::string_view text, const std::string& file, const catalog::Catalog& catalog);
Result<Scenario> LoadScenarioFile(const std::string& path, const catalog::Catalog& catalog);
// The built-in default scenario (data/scenarios/default.yaml).
Result<Scenario> LoadDefaultScenario(const catalog::Catalog& catalog);

// "15T" -> 1.5e13 (K, M, B/G, T suffixes; a plain number is taken as is).
Result<double> ParseCount(std::string_view text);

}  // namespace aif::config
