#include "aifactory/train/plan_search.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "aifactory/core/strings.h"

namespace aif::train {

const char* RankByName(RankBy rank_by) { return rank_by == RankBy::kCost ? "cost" : "time"; }

Result<RankBy> ParseRankBy(std::string_view name) {
  for (RankBy r : {RankBy::kTime, RankBy::kCost}) {
    if (name == RankByName(r)) return r;
  }
  return InvalidArgument(
      fmt::format("unknown ranking '{}', expected time or cost{}", name, DidYouMean(name, {"time", "cost"})));
}

std::string SearchLimits(const SearchOptions& o) {
  const SearchOptions d;
  std::vector<std::string> parts;
  auto list = [&](const char* what, const std::vector<int>& v, const std::vector<int>& dv) {
    if (v != dv) parts.push_back(fmt::format("{} {}", what, fmt::join(v, ", ")));
  };
  list("micro-batches", o.micro_batches, d.micro_batches);
  list("virtual stages", o.virtual_stages, d.virtual_stages);
  list("context parallel", o.context_parallel, d.context_parallel);
  list("ZeRO stages", o.zero_stages, d.zero_stages);
  if (o.recompute != d.recompute) {
    std::vector<std::string> modes;
    for (Recompute r : o.recompute) modes.push_back(RecomputeName(r));
    parts.push_back(fmt::format("recompute {}", fmt::join(modes, ", ")));
  }
  if (!o.offload) parts.push_back("no activation offload");
  if (o.max_tp > 0) parts.push_back(fmt::format("tp at most {}", o.max_tp));
  if (o.max_pp > 0) parts.push_back(fmt::format("pp at most {}", o.max_pp));
  if (o.max_ep > 0) parts.push_back(fmt::format("ep at most {}", o.max_ep));
  return fmt::format("{}", fmt::join(parts, "; "));
}

const char* ScheduleRejection(const TrainingJob& job, int dp, int pp, int vp, int micro_batch) {
  const long long per_step = 1LL * micro_batch * dp;
  if (per_step <= 0 || job.global_batch % per_step != 0) return "global batch not divisible by micro_batch*dp";
  if (vp > 1 && pp <= 1) return "interleaved schedule needs pp > 1";
  if (vp > 1 && (job.global_batch / per_step) % pp != 0) return "interleaved schedule needs micro-batches divisible by pp";
  return nullptr;
}

namespace {

std::vector<int> Divisors(int n, int limit) {
  std::vector<int> d;
  for (int i = 1; i <= std::min(n, limit); ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

struct Outcome {
  std::vector<RankedPlan> feasible;
  std::map<std::string, long long> rejected;
  long long evaluated = 0;
};

std::string OutOfMemoryReason(bool full_recompute, bool offload) {
  if (full_recompute && offload) return "out of memory (even with full recompute or activation offload)";
  if (full_recompute) return "out of memory (even with full recompute)";
  if (offload) return "out of memory (even with activation offload)";
  return "out of memory (with the recompute modes allowed)";
}

bool Faster(const RankedPlan& a, const RankedPlan& b) {
  if (a.estimate.step_time != b.estimate.step_time) return a.estimate.step_time < b.estimate.step_time;
  return a.plan.ToString() < b.plan.ToString();
}

}  // namespace

Result<SearchResult> SearchPlans(const TrainingJob& job, const Cluster& cluster, const SearchOptions& options) {
  auto start = std::chrono::steady_clock::now();
  const catalog::Model& m = job.model;
  if (cluster.gpus <= 0) return InvalidArgument("the cluster has no GPUs");
  SearchResult result;
  std::vector<ParallelPlan> candidates;
  auto reject = [&](const std::string& why, long long n = 1) { result.rejected[why] += n; };

  int max_tp = options.max_tp > 0 ? options.max_tp : cluster.system.nvlink_domain;
  for (int tp : Divisors(cluster.gpus, max_tp)) {
    if (m.heads % tp != 0) { reject("attention heads not divisible by tp"); continue; }
    if (!m.mla && m.kv_heads % tp != 0 && tp % m.kv_heads != 0) { reject("kv heads and tp do not divide"); continue; }
    // Ranks are laid out domain by domain: a tensor-parallel size that does not divide the
    // NVLink domain (16 in a rack of 72) puts some groups across two domains, whose every layer's
    // collectives then cross the scale-out network and hold back the whole job.
    if (cluster.system.nvlink_domain % tp != 0) { reject("tp groups would straddle NVLink domains"); continue; }
    const int max_pp = options.max_pp > 0 ? std::min(options.max_pp, m.layers + 2) : m.layers + 2;
    for (int pp : Divisors(cluster.gpus / tp, max_pp)) {
      for (int cp : options.context_parallel) {
        if ((cluster.gpus / tp / pp) % cp != 0) continue;
        if (job.seq_len % (2 * cp) != 0 && cp > 1) { reject("sequence not divisible by 2*cp"); continue; }
        int dp = cluster.gpus / (tp * pp * cp);
        std::vector<int> eps = {1};
        if (m.is_moe()) eps = Divisors(m.moe->experts, options.max_ep > 0 ? std::min(options.max_ep, tp * cp * dp) : tp * cp * dp);
        for (int ep : eps) {
          if (m.is_moe() && (tp * cp * dp) % ep != 0) continue;
          for (int vp : options.virtual_stages) {
            if (vp > 1 && pp == 1) continue;
            if (m.layers + 2 < pp * vp) { reject("fewer layers than pipeline chunks"); continue; }
            for (int mbs : options.micro_batches) {
              if (const char* why = ScheduleRejection(job, dp, pp, vp, mbs)) { reject(why); continue; }
              for (int zero : options.zero_stages) {
                ParallelPlan c;
                c.tp = tp; c.pp = pp; c.vp = vp; c.cp = cp; c.ep = ep; c.dp = dp;
                c.micro_batch = mbs; c.zero_stage = zero;
                c.ep_overlap = options.ep_overlap && EpOverlapAllowed(c);
                c.cuda_graphs = options.cuda_graphs;
                c.cuda_graph_modules = options.cuda_graph_modules;
                candidates.push_back(c);
              }
            }
          }
        }
      }
    }
  }

  int threads = std::max(1, std::min<int>(options.threads, static_cast<int>(candidates.size() / 64) + 1));
  std::vector<Outcome> outcomes(static_cast<size_t>(threads));
  const bool can_offload = options.offload && cluster.system.host_link_bandwidth.value() > 0;
  auto work = [&](int t) {
    Outcome& out = outcomes[static_cast<size_t>(t)];
    for (size_t i = static_cast<size_t>(t); i < candidates.size(); i += static_cast<size_t>(threads)) {
      // Recompute only ever costs time: the lightest mode that fits is the plan's best, so the
      // heavier modes are not estimated once one fits.
      ParallelPlan plan = candidates[i];
      bool placed = false;
      auto place = [&](Result<StepEstimate> e) {
        if (e.ok()) {
          plan.recompute = e->recompute;
          plan.recompute_layers = e->recompute_layers;
          plan.offload_layers = e->offload_layers;
          plan.ep_overlap = e->ep_overlap;
        }
        ++out.evaluated;
        if (!e.ok()) {
          ++out.rejected[e.status().message()];
          return true;
        }
        if (!e->fits_in_memory) return false;
        out.feasible.push_back({plan, *e});
        return true;
      };
      bool full_tried = false;
      for (Recompute r : options.recompute) {
        plan.recompute = r;
        plan.ep_overlap = candidates[i].ep_overlap;  // a full-recompute estimate turns it off
        // Past selective recompute: full recompute or activation offload of the fewest layers.
        full_tried = full_tried || r == Recompute::kFull;
        placed = place(r == Recompute::kFull
                           ? EstimateStepLeastRecomputeOrOffload(job, cluster, plan, options.offload)
                           : EstimateStep(job, cluster, plan));
        if (placed) break;
      }
      // Full recompute ruled out: offload alone, where allowed and the system has a host link.
      const bool offload_tried = can_offload && OffloadAllowed(candidates[i]);
      if (!placed && !full_tried && offload_tried) {
        plan.ep_overlap = candidates[i].ep_overlap;
        placed = place(EstimateStepFewestOffloadLayers(job, cluster, plan));
      }
      if (!placed) ++out.rejected[OutOfMemoryReason(full_tried, offload_tried)];
    }
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
  }
  std::vector<RankedPlan> all;
  for (auto& o : outcomes) {
    result.evaluated += o.evaluated;
    for (const auto& [k, v] : o.rejected) result.rejected[k] += v;
    all.insert(all.end(), std::make_move_iterator(o.feasible.begin()), std::make_move_iterator(o.feasible.end()));
  }
  result.feasible = static_cast<long long>(all.size());
  if (options.count_faster_than_s > 0) {
    result.faster = std::count_if(all.begin(), all.end(), [&](const RankedPlan& r) {
      return r.estimate.step_time.value() < options.count_faster_than_s;
    });
  }
  size_t keep = std::min<size_t>(all.size(), static_cast<size_t>(std::max(1, options.top)));
  std::partial_sort(all.begin(), all.begin() + static_cast<long>(keep), all.end(), Faster);
  all.resize(keep);
  result.best = std::move(all);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace aif::train
