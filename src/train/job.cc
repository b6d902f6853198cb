#include "aifactory/train/job.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <iterator>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace aif::train {
namespace {

// The tokens of `s` between separators (any of `seps`), empty ones skipped.
std::vector<std::string_view> Tokens(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(seps, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The one of `all` that `name` calls `s`, or an error of `unknown` (a format string taking `s`).
template <typename E>
Result<E> ByName(std::string_view s, std::initializer_list<E> all, const char* (*name)(E), const char* unknown) {
  for (E e : all) {
    if (s == name(e)) return e;
  }
  return InvalidArgument(fmt::format(fmt::runtime(unknown), s));
}

}  // namespace

const char* TaskKindName(TaskKind k) {
  switch (k) {
    case TaskKind::kPretrain: return "pretrain";
    case TaskKind::kSft: return "sft";
    case TaskKind::kLora: return "lora";
  }
  return "?";
}

Result<TaskKind> ParseTaskKind(std::string_view s) {
  return ByName(s, {TaskKind::kPretrain, TaskKind::kSft, TaskKind::kLora}, TaskKindName,
                "unknown task kind '{}', expected pretrain, sft or lora");
}

const char* RecomputeName(Recompute r) {
  switch (r) {
    case Recompute::kNone: return "none";
    case Recompute::kSelective: return "selective";
    case Recompute::kFull: return "full";
  }
  return "?";
}

Result<Recompute> ParseRecompute(std::string_view s) {
  return ByName(s, {Recompute::kNone, Recompute::kSelective, Recompute::kFull}, RecomputeName,
                "unknown recompute mode '{}', expected none, selective or full");
}

const char* MoeDispatcherName(MoeDispatcher d) {
  switch (d) {
    case MoeDispatcher::kFlex: return "flex";
    case MoeDispatcher::kAllToAll: return "alltoall";
  }
  return "?";
}

Result<MoeDispatcher> ParseMoeDispatcher(std::string_view s) {
  return ByName(s, {MoeDispatcher::kFlex, MoeDispatcher::kAllToAll}, MoeDispatcherName,
                "unknown MoE dispatcher '{}', expected flex (DeepEP, HybridEP) or alltoall (NCCL all-to-all)");
}

const char* Fp8ScalingName(Fp8Scaling s) {
  switch (s) {
    case Fp8Scaling::kCurrent: return "current";
    case Fp8Scaling::kDelayed: return "delayed";
  }
  return "?";
}

Result<Fp8Scaling> ParseFp8Scaling(std::string_view s) {
  return ByName(s, {Fp8Scaling::kCurrent, Fp8Scaling::kDelayed}, Fp8ScalingName,
                "unknown FP8 scaling '{}', expected current (scales from each tensor) or delayed (from an amax history)");
}

std::string NcclCtaCapsName(const NcclCtaCaps& caps) {
  std::string s;
  for (auto [field, name] : kNcclCtaCapFields) {
    if (caps.*field <= 0) continue;
    if (!s.empty()) s += ' ';
    s += fmt::format("{}={}", name, caps.*field);
  }
  return s.empty() ? "none" : s;
}

Result<NcclCtaCaps> ParseNcclCtaCaps(std::string_view s) {
  NcclCtaCaps caps;
  for (std::string_view pair : Tokens(s, ",; \t")) {
    if (pair == "none") continue;
    const size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, std::min(eq, pair.size()));
    auto known = std::find_if(std::begin(kNcclCtaCapFields), std::end(kNcclCtaCapFields),
                              [&](const auto& entry) { return name == entry.second; });
    if (eq == std::string_view::npos || known == std::end(kNcclCtaCapFields)) {
      return InvalidArgument(fmt::format("expected communicator=CTAs with communicator tp, cp, dp or pp (e.g. "
                                         "\"cp=1 dp=8 pp=2\"), got '{}'",
                                         pair.substr(0, 64)));
    }
    const std::string_view count = pair.substr(eq + 1);
    int v = 0;
    auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), v);
    if (ec != std::errc() || end != count.data() + count.size() || v < 1 || v > NcclCtaCaps::kMax) {
      return InvalidArgument(fmt::format("{}: expected a whole number of CTAs from 1 to {} (NCCL's channel limit), "
                                         "got '{}'",
                                         name, NcclCtaCaps::kMax, count.substr(0, 64)));
    }
    caps.*(known->first) = v;
  }
  return caps;
}

Status CheckNcclCtaCaps(const NcclCtaCaps& caps, const catalog::Accelerator& accelerator) {
  for (auto [field, name] : kNcclCtaCapFields) {
    if (caps.*field < 0 || caps.*field > NcclCtaCaps::kMax) {
      return InvalidArgument(fmt::format("nccl_max_ctas {}: expected 0 (not capped) or 1 to {} CTAs, got {}", name,
                                         NcclCtaCaps::kMax, caps.*field));
    }
  }
  if (caps.Any() && accelerator.nccl_channel_bandwidth.value() <= 0) {
    return InvalidArgument(fmt::format("nccl_max_ctas ({}) needs the NCCL channel bandwidth of {}, which the catalog "
                                       "does not give",
                                       NcclCtaCapsName(caps), accelerator.id));
  }
  return Status::Ok();
}

int Cluster::DomainSize() const {
  int limit = std::max(1, std::min(system.nvlink_domain, gpus));
  for (int d = limit; d > 1; --d) {
    if (gpus % d == 0) return d;
  }
  return 1;
}

Status CheckSiteSplit(const Cluster& cluster) {
  if (cluster.sites < 1) return InvalidArgument(fmt::format("sites must be at least 1, got {}", cluster.sites));
  if (cluster.sites > 1 && (cluster.gpus % cluster.sites != 0 || cluster.SiteSize() % cluster.DomainSize() != 0)) {
    return InvalidArgument(fmt::format("{} GPUs do not split into {} sites of whole NVLink domains of {}", cluster.gpus,
                                       cluster.sites, cluster.DomainSize()));
  }
  return Status::Ok();
}

Result<Cluster> MakeCluster(const catalog::Catalog& catalog, const std::string& system_id, int gpus) {
  if (gpus <= 0) return InvalidArgument(fmt::format("gpus must be positive, got {}", gpus));
  Cluster c;
  AIF_ASSIGN_OR_RETURN(const catalog::System* system, catalog.FindSystem(system_id));
  AIF_ASSIGN_OR_RETURN(const catalog::Accelerator* acc, catalog.FindAccelerator(system->accelerator));
  AIF_ASSIGN_OR_RETURN(const catalog::Fabric* fabric, catalog.FindFabric(system->scale_out_fabric));
  AIF_ASSIGN_OR_RETURN(const catalog::KernelEfficiency* eff, catalog.FindEfficiency(acc->id));
  c.system = *system;
  c.accelerator = *acc;
  c.fabric = *fabric;
  c.efficiency = *eff;
  c.gpus = gpus;
  return c;
}

std::string ParallelPlan::ToString() const {
  std::string s = fmt::format("tp{} pp{} dp{}", tp, pp, dp);
  if (vp > 1) s += fmt::format(" vp{}", vp);
  if (cp > 1) s += fmt::format(" cp{}", cp);
  if (ep > 1) s += fmt::format(" ep{}", ep);
  s += fmt::format(" mbs{}", micro_batch);
  if (zero_stage == 3) s += " fsdp";
  else if (zero_stage > 0) s += fmt::format(" zero{}", zero_stage);
  if (recompute != Recompute::kNone) s += fmt::format(" recompute={}", RecomputeName(recompute));
  if (recompute == Recompute::kFull && recompute_layers > 0) s += fmt::format("({} layers/stage)", recompute_layers);
  if (offload_layers > 0) s += fmt::format(" offload={} layers/stage", offload_layers);
  if (ep_overlap) s += " ep-overlap";
  if (cuda_graphs) s += " cuda-graphs";
  if (cuda_graph_modules != 0) s += " graphs=" + CudaGraphModulesName(cuda_graph_modules);
  return s;
}

namespace {
constexpr std::pair<CudaGraphModule, const char*> kGraphModuleNames[] = {
    {kGraphAttn, "attn"}, {kGraphMlp, "mlp"},           {kGraphMoe, "moe"},
    {kGraphMoeRouter, "moe_router"}, {kGraphMoePreprocess, "moe_preprocess"}};
}  // namespace

std::string CudaGraphModulesName(unsigned modules) {
  std::string s;
  for (auto [bit, name] : kGraphModuleNames) {
    if ((modules & bit) == 0) continue;
    if (!s.empty()) s += '+';
    s += name;
  }
  return s.empty() ? "none" : s;
}

Result<unsigned> ParseCudaGraphModules(std::string_view s) {
  unsigned modules = 0;
  for (std::string_view name : Tokens(s, "+,; \t")) {
    if (name == "none") continue;
    bool found = false;
    for (auto [bit, n] : kGraphModuleNames) {
      if (name == n) {
        modules |= bit;
        found = true;
      }
    }
    if (found) continue;
    return InvalidArgument(fmt::format("unknown CUDA graph module '{}' (expected attn, mlp, moe, moe_router, "
                                       "moe_preprocess or none)",
                                       name.substr(0, 64)));
  }
  return modules;
}

Status CheckCudaGraphModules(const TrainingJob& job, unsigned modules) {
  if ((modules & kGraphMoePreprocess) != 0 && (modules & kGraphMoeRouter) == 0) {
    return InvalidArgument("CUDA graph module moe_preprocess needs moe_router");
  }
  if ((modules & (kGraphMoeRouter | kGraphMoePreprocess | kGraphMoe)) != 0 && !job.model.is_moe()) {
    return InvalidArgument("CUDA graph modules moe, moe_router and moe_preprocess need a model with experts");
  }
  if ((modules & kGraphMoe) != 0) {
    if (!job.DropsTokens()) {
      return InvalidArgument(
          "CUDA graph module moe (a MoE layer's whole MLP) needs token dropping and padding "
          "(moe_capacity_factor > 0): a dropless layer's shapes follow the routing; capture moe_router and "
          "moe_preprocess instead");
    }
    if ((modules & (kGraphMoeRouter | kGraphMoePreprocess)) != 0) {
      return InvalidArgument("CUDA graph module moe captures the router and the preprocess already: name moe, or "
                             "moe_router (and moe_preprocess), not both");
    }
  }
  return Status::Ok();
}

Status CheckMoeCapacityFactor(const TrainingJob& job) {
  if (!(job.moe_capacity_factor >= 0 && job.moe_capacity_factor <= TrainingJob::kMaxMoeCapacityFactor)) {
    return InvalidArgument(fmt::format("expected 0 (dropless) or a capacity factor above 0 up to {}, got {:g}",
                                       TrainingJob::kMaxMoeCapacityFactor, job.moe_capacity_factor));
  }
  if (job.DropsTokens() && !job.model.is_moe()) return InvalidArgument("token dropping needs a model with experts");
  return Status::Ok();
}

bool EpOverlapAllowed(const ParallelPlan& p) {
  return p.ep > 1 && p.recompute != Recompute::kFull && (p.pp == 1 || p.vp > 1);
}

bool OffloadAllowed(const ParallelPlan& p) {
  return p.pp == 1 && p.cuda_graph_modules == 0;
}

Status ValidatePlan(const TrainingJob& job, const Cluster& cluster, const ParallelPlan& p) {
  const auto& m = job.model;
  for (auto [name, v] : {std::pair{"tp", p.tp}, {"pp", p.pp}, {"vp", p.vp}, {"cp", p.cp},
                         {"ep", p.ep}, {"dp", p.dp}, {"micro_batch", p.micro_batch}}) {
    if (v <= 0) return InvalidArgument(fmt::format("{} must be positive, got {}", name, v));
  }
  // In floating point: four degrees of up to 2^31 would overflow a 64-bit product.
  double product = 1.0 * p.tp * p.pp * p.cp * p.dp;
  if (product != cluster.gpus) {
    return InvalidArgument(fmt::format("tp*pp*cp*dp = {}*{}*{}*{} = {:.0f} does not equal gpus = {}",
                                       p.tp, p.pp, p.cp, p.dp, product, cluster.gpus));
  }
  if (m.heads % p.tp != 0) {
    return InvalidArgument(fmt::format("attention heads ({}) not divisible by tp ({})", m.heads, p.tp));
  }
  if (!m.mla && m.kv_heads % p.tp != 0 && p.tp % m.kv_heads != 0) {
    return InvalidArgument(fmt::format("kv heads ({}) and tp ({}) do not divide one another", m.kv_heads, p.tp));
  }
  // Frameworks may give the embedding and the loss a pipeline chunk of their own
  // (Megatron-LM account_for_embedding/loss_in_pipeline_split).
  if (m.layers + 2LL < 1LL * p.pp * p.vp) {
    return InvalidArgument(fmt::format("layers ({}) + embedding + loss fewer than pipeline chunks pp*vp = {}",
                                       m.layers, 1LL * p.pp * p.vp));
  }
  if (p.vp > 1 && p.pp == 1) return InvalidArgument("vp > 1 needs pp > 1");
  AIF_RETURN_IF_ERROR(CheckSiteSplit(cluster));
  if (cluster.sites > 1) {
    if (cluster.wan_bandwidth.value() <= 0) return InvalidArgument("a job over several sites needs a WAN bandwidth");
    // Pipeline stages are laid out outermost: a stage fits in a site or spans whole sites.
    const long long stage = 1LL * p.tp * p.cp * p.dp, site = cluster.SiteSize();
    if (site % stage != 0 && stage % site != 0) {
      return InvalidArgument(fmt::format("a pipeline stage of tp*cp*dp = {} GPUs would straddle two sites of {} GPUs",
                                         stage, site));
    }
  }
  if (p.recompute_layers < 0) {
    return InvalidArgument(fmt::format("recompute_layers must be 0 (all) or positive, got {}", p.recompute_layers));
  }
  if (p.recompute_layers > 0 && p.recompute != Recompute::kFull) {
    return InvalidArgument("recompute_layers applies to full recompute only");
  }
  if (p.offload_layers < 0) return InvalidArgument(fmt::format("offload_layers must be 0 or positive, got {}", p.offload_layers));
  if (p.offload_layers > 0) {
    if (cluster.system.host_link_bandwidth.value() <= 0) {
      return InvalidArgument(fmt::format("system {} gives no host link to offload activations over", cluster.system.id));
    }
    // Megatron-Core's checks for cpu_offloading, each named.
    if (p.pp > 1) return InvalidArgument("activation offload does not support pipeline parallelism (pp > 1)");
    if (p.recompute != Recompute::kNone) {
      return InvalidArgument(fmt::format("activation offload and {} recompute do not combine", RecomputeName(p.recompute)));
    }
    if (p.cuda_graph_modules != 0) {
      return InvalidArgument("activation offload and per-layer CUDA graphs (cuda_graph_modules) do not combine");
    }
    if (p.offload_layers >= job.model.layers) {
      return InvalidArgument(fmt::format("offload_layers ({}) must be fewer than the model's layers ({})",
                                         p.offload_layers, job.model.layers));
    }
  }
  if (p.ep_overlap && !EpOverlapAllowed(p)) {
    // Megatron-Core TransformerConfig's checks for overlap_moe_expert_parallel_comm, each named.
    if (p.ep <= 1) return InvalidArgument("ep_overlap needs expert parallelism (ep > 1)");
    if (p.recompute == Recompute::kFull) return InvalidArgument("ep_overlap and full recompute do not combine");
    if (p.pp > 1 && p.vp <= 1) return InvalidArgument("ep_overlap with pp > 1 needs the interleaved schedule (vp > 1)");
  }
  if ((p.cuda_graph_modules & ~unsigned{kGraphAll}) != 0) {
    return InvalidArgument(fmt::format("cuda_graph_modules has unknown bits {:#x}", p.cuda_graph_modules));
  }
  if (p.cuda_graphs && p.cuda_graph_modules != 0) {
    // Megatron-Core: cuda_graph_modules must be empty with cuda_graph_impl "full_iteration".
    return InvalidArgument("cuda_graphs (the whole iteration) and cuda_graph_modules do not combine");
  }
  if (p.recompute == Recompute::kFull && p.cuda_graph_modules != 0) {
    // Megatron-Core: "full recompute is only supported with full iteration CUDA graph" (the
    // Megatron-LM commits Megatron-Bridge v0.2.0 to v0.6.0 pin; before, "Full-layer CUDA graphs not
    // supported with activation recomputation").
    return InvalidArgument("full recompute and per-layer CUDA graphs (cuda_graph_modules) do not combine");
  }
  AIF_RETURN_IF_ERROR(CheckCudaGraphModules(job, p.cuda_graph_modules));
  if (Status cf = CheckMoeCapacityFactor(job); !cf.ok()) return InvalidArgument("moe_capacity_factor: " + cf.message());
  AIF_RETURN_IF_ERROR(CheckNcclCtaCaps(job.nccl_max_ctas, cluster.accelerator));
  if (job.global_batch / (1LL * p.micro_batch * p.dp) > (1LL << 24)) {
    return InvalidArgument(fmt::format("more than 2^24 micro-batches per step ({} / ({} * {}))",
                                       job.global_batch, p.micro_batch, p.dp));
  }
  if (m.is_moe()) {
    if (m.moe->experts % p.ep != 0) {
      return InvalidArgument(fmt::format("experts ({}) not divisible by ep ({})", m.moe->experts, p.ep));
    }
    if ((1LL * p.tp * p.cp * p.dp) % p.ep != 0) {
      return InvalidArgument(fmt::format("ep ({}) must divide tp*cp*dp = {}", p.ep, 1LL * p.tp * p.cp * p.dp));
    }
  } else if (p.ep != 1) {
    return InvalidArgument(fmt::format("ep = {} on a dense model", p.ep));
  }
  if (job.global_batch <= 0 || job.seq_len <= 0) {
    return InvalidArgument(fmt::format("global batch ({}) and sequence length ({}) must be positive",
                                       job.global_batch, job.seq_len));
  }
  if (job.global_batch % (1LL * p.micro_batch * p.dp) != 0) {
    return InvalidArgument(fmt::format("global batch ({}) not divisible by micro_batch*dp = {}*{}",
                                       job.global_batch, p.micro_batch, p.dp));
  }
  if (p.cp > 1 && job.seq_len % (2LL * p.cp) != 0) {
    return InvalidArgument(fmt::format("sequence length ({}) not divisible by 2*cp = {}", job.seq_len, 2 * p.cp));
  }
  if (p.zero_stage < 0 || p.zero_stage > 3) {
    return InvalidArgument(fmt::format("zero_stage must be 0..3, got {}", p.zero_stage));
  }
  return Status::Ok();
}

}  // namespace aif::train
