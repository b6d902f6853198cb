// Plan search: every parallel plan (TP, PP, VP, CP, EP, DP, micro-batch, ZeRO stage, recompute)
// of a job on a cluster, estimated, ranked, and the rejected ones counted by reason. TP sizes
// run up to the NVLink domain and must divide it (so that no tensor-parallel group straddles two
// domains), heads must divide by TP, a pipeline stage must not straddle two sites.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "aifactory/train/step_model.h"

namespace aif::train {

// What a factory run ranks by. On one cluster size every plan keeps all the GPUs for the whole
// run, so the cheapest plan is the fastest; cost ranking chooses between cluster sizes.
enum class RankBy { kTime, kCost };

const char* RankByName(RankBy rank_by);                 // "time", "cost"
Result<RankBy> ParseRankBy(std::string_view name);      // the inverse; an error names the choices

struct SearchOptions {
  int threads = 1;
  int top = 10;              // plans kept in the ranking
  // Candidate sets; empty means the defaults below.
  std::vector<int> micro_batches = {1, 2, 4, 8};
  std::vector<int> virtual_stages = {1, 2, 4, 8};
  std::vector<int> context_parallel = {1, 2, 4, 8, 16};
  std::vector<int> zero_stages = {1, 3};
  // Tried in this order for each plan; the first that fits is kept (lightest first).
  std::vector<Recompute> recompute = {Recompute::kNone, Recompute::kSelective, Recompute::kFull};
  // Where neither no nor selective recompute fits: also try offloading activations to host
  // memory (and keep the faster of that and full recompute).
  bool offload = true;
  int max_tp = 0;  // 0: up to the NVLink domain
  int max_pp = 0;  // 0: no limit beyond the layers
  int max_ep = 0;  // 0: no limit beyond the experts
  // Framework settings every plan takes where it allows them (ParallelPlan::ep_overlap where
  // EpOverlapAllowed; ParallelPlan::cuda_graphs and cuda_graph_modules always).
  bool ep_overlap = false;
  bool cuda_graphs = false;
  unsigned cuda_graph_modules = 0;
  // When > 0: count the fitting plans whose step is shorter than this many seconds
  // (SearchResult::faster), e.g. to rank a plan the user chose among the searched ones.
  double count_faster_than_s = 0;
};

struct RankedPlan {
  ParallelPlan plan;
  StepEstimate estimate;
};

struct SearchResult {
  std::vector<RankedPlan> best;                 // fastest first; ties broken by plan text
  long long evaluated = 0;                      // plans estimated by the step model
  long long feasible = 0;                       // plans that fit (each with its lightest recompute)
  long long faster = 0;                         // of those, shorter than options.count_faster_than_s
  std::map<std::string, long long> rejected;    // reason -> count (divisibility, memory, ...)
  double seconds = 0;                           // wall time of the search
};

// What `options` changed from the default search (candidate sets, limits, offload), in words,
// "micro-batches 1, 2; no activation offload"; empty when nothing.
std::string SearchLimits(const SearchOptions& options);

// The pipeline schedule's conditions on a plan's micro-batches, as the search applies them: the
// global batch splits into whole micro-batches on every data-parallel rank, and the interleaved
// schedule (vp > 1) needs pipeline stages and a whole number of micro-batches per stage. nullptr
// where the plan meets them, else the reason the search counts the plan under.
const char* ScheduleRejection(const TrainingJob& job, int dp, int pp, int vp, int micro_batch);

// Enumerates and estimates every plan; deterministic for any thread count.
Result<SearchResult> SearchPlans(const TrainingJob& job, const Cluster& cluster, const SearchOptions& options);

}  // namespace aif::train
