#include "aifactory/catalog/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "aifactory/core/strings.h"

namespace aif::catalog {
namespace {

template <typename T>
Status Insert(std::map<std::string, T>& map, const std::string& id, T value, const char* kind) {
  if (id.empty()) return InvalidArgument(fmt::format("{} without an id", kind));
  if (!map.emplace(id, std::move(value)).second) {
    return InvalidArgument(fmt::format("duplicate {} id '{}'", kind, id));
  }
  return Status::Ok();
}

template <typename T>
Result<const T*> Find(const std::map<std::string, T>& map, const std::string& id, const char* kind) {
  auto it = map.find(id);
  if (it != map.end()) return &it->second;
  std::vector<std::string> ids;
  ids.reserve(map.size());
  for (const auto& [k, v] : map) ids.push_back(k);
  return NotFound(fmt::format("unknown {} '{}'{}", kind, id, DidYouMean(id, ids)));
}

// Where v falls on an ascending axis: the two neighbouring points, the weight of the upper one
// (linear in log2), and the factor below the axis' first point (v / first, else 1).
struct AxisPoint {
  size_t lo = 0, hi = 0;
  double w = 0;
  double below = 1;
};

AxisPoint Locate(const std::vector<double>& axis, double v) {
  AxisPoint p;
  if (v < axis.front()) {
    p.below = v / axis.front();
    return p;
  }
  if (v >= axis.back()) {
    p.lo = p.hi = axis.size() - 1;
    return p;
  }
  p.hi = static_cast<size_t>(std::upper_bound(axis.begin(), axis.end(), v) - axis.begin());
  p.lo = p.hi - 1;
  p.w = std::log2(v / axis[p.lo]) / std::log2(axis[p.hi] / axis[p.lo]);
  return p;
}

double Best(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

}  // namespace

double KernelShapes::GemmRelative(MathClass c, double mv, double nv, double kv) const {
  const std::vector<double>* grid = c == MathClass::k16Bit ? &gemm_16bit : c == MathClass::k8Bit ? &gemm_8bit : nullptr;
  if (!grid || grid->empty() || mv <= 0 || nv <= 0 || kv <= 0) return 0;
  const AxisPoint pm = Locate(m, mv), pn = Locate(n, nv), pk = Locate(k, kv);
  double eff = 0;
  for (auto [im, wm] : {std::pair{pm.lo, 1 - pm.w}, {pm.hi, pm.w}}) {
    for (auto [in, wn] : {std::pair{pn.lo, 1 - pn.w}, {pn.hi, pn.w}}) {
      for (auto [ik, wk] : {std::pair{pk.lo, 1 - pk.w}, {pk.hi, pk.w}}) {
        const double w = wm * wn * wk;
        if (w > 0) eff += w * (*grid)[(im * n.size() + in) * k.size() + ik];
      }
    }
  }
  const double best = c == MathClass::k16Bit ? best_16bit : best_8bit;
  return best > 0 ? eff * pm.below * pn.below * pk.below / best : 0;
}

double KernelShapes::AttentionRelative(double s, bool is_causal) const {
  const std::vector<double>& axis = is_causal ? causal_seq : full_seq;
  const std::vector<double>& eff = is_causal ? causal : full;
  if (eff.empty() || s <= 0 || best_attention <= 0) return 0;
  const AxisPoint p = Locate(axis, s);
  return ((1 - p.w) * eff[p.lo] + p.w * eff[p.hi]) * p.below / best_attention;
}

Result<FlopsPerSecond> Accelerator::Peak(Precision p) const {
  FlopsPerSecond peak;
  switch (MathClassOf(p)) {
    case MathClass::k16Bit: peak = p == Precision::kFp16 && peak_fp16.value() > 0 ? peak_fp16 : peak_bf16; break;
    case MathClass::k8Bit: peak = peak_fp8; break;
    case MathClass::k4Bit: peak = peak_fp4; break;
  }
  if (peak.value() <= 0) {
    return Unsupported(fmt::format("accelerator '{}' has no sourced {} peak in the catalog", id,
                                   PrecisionName(p)));
  }
  return peak;
}

Precision Accelerator::UsualTrainingPrecision(std::string_view framework) const {
  for (const auto& [name, precision] : usual_training_precision_in) {
    if (framework.find(name) != std::string_view::npos) return precision;
  }
  return usual_training_precision;
}

Status Catalog::Add(Accelerator a) { std::string id = a.id; return Insert(accelerators_, id, std::move(a), "accelerator"); }
Status Catalog::Add(Fabric f) { std::string id = f.id; return Insert(fabrics_, id, std::move(f), "fabric"); }
Status Catalog::Add(System s) { std::string id = s.id; return Insert(systems_, id, std::move(s), "system"); }
Status Catalog::Add(Model m) {
  AIF_RETURN_IF_ERROR(m.Validate());
  std::string id = m.id;
  return Insert(models_, id, std::move(m), "model");
}
Status Catalog::Add(KernelEfficiency k) {
  std::string id = k.accelerator;
  if (auto it = kernel_shapes_.find(k.kernel_shapes_id); it != kernel_shapes_.end()) k.kernel_shapes = it->second;
  return Insert(efficiencies_, id, std::move(k), "calibration");
}

Status Catalog::Add(KernelShapes k) {
  std::string id = k.id;
  auto ascending = [](const std::vector<double>& a) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!(a[i] > 0) || (i > 0 && a[i] <= a[i - 1])) return false;
    }
    return true;
  };
  auto fractions = [](const std::vector<double>& a) {
    return std::all_of(a.begin(), a.end(), [](double v) { return v > 0 && v <= 1; });
  };
  const size_t cells = k.m.size() * k.n.size() * k.k.size();
  if (!ascending(k.m) || !ascending(k.n) || !ascending(k.k) || !ascending(k.causal_seq) || !ascending(k.full_seq)) {
    return InvalidArgument(fmt::format("kernel shapes '{}': m, n, k and seq must be positive and ascending", id));
  }
  for (const auto* grid : {&k.gemm_16bit, &k.gemm_8bit}) {
    if (grid->empty()) continue;
    if (cells == 0 || grid->size() != cells) {
      return InvalidArgument(fmt::format("kernel shapes '{}': a GEMM grid needs m x n x k = {} efficiencies, has {}",
                                         id, cells, grid->size()));
    }
    if (!fractions(*grid)) return InvalidArgument(fmt::format("kernel shapes '{}': efficiencies must be in (0, 1]", id));
  }
  if ((!k.gemm_16bit.empty() && k.peak_16bit.value() <= 0) || (!k.gemm_8bit.empty() && k.peak_8bit.value() <= 0) ||
      ((!k.gemm_16bit.empty() || !k.gemm_8bit.empty()) && k.bandwidth.value() <= 0)) {
    return InvalidArgument(fmt::format(
        "kernel shapes '{}': a GEMM grid needs the measured machine's peak of its format and bandwidth (measured_on)", id));
  }
  if (k.causal.size() != k.causal_seq.size() || k.full.size() != k.full_seq.size() || !fractions(k.causal) ||
      !fractions(k.full)) {
    return InvalidArgument(fmt::format("kernel shapes '{}': attention needs one efficiency in (0, 1] per seq", id));
  }
  k.best_16bit = Best(k.gemm_16bit);
  k.best_8bit = Best(k.gemm_8bit);
  k.best_attention = std::max(Best(k.causal), Best(k.full));
  auto shared = std::make_shared<const KernelShapes>(std::move(k));
  AIF_RETURN_IF_ERROR(Insert(kernel_shapes_, id, shared, "kernel shapes"));
  // Calibrations read before the table refer to it by id.
  for (auto& [acc, e] : efficiencies_) {
    if (e.kernel_shapes_id == id) e.kernel_shapes = shared;
  }
  return Status::Ok();
}

Status Catalog::SetEfficiency(KernelEfficiency k) {
  k.kernel_shapes = nullptr;
  if (!k.kernel_shapes_id.empty()) {
    AIF_ASSIGN_OR_RETURN(const std::shared_ptr<const KernelShapes>* shapes,
                         Find(kernel_shapes_, k.kernel_shapes_id, "kernel shapes"));
    k.kernel_shapes = *shapes;
  }
  std::string id = k.accelerator;
  efficiencies_[id] = std::move(k);
  return Status::Ok();
}

Result<const Accelerator*> Catalog::FindAccelerator(const std::string& id) const { return Find(accelerators_, id, "accelerator"); }
Result<const Fabric*> Catalog::FindFabric(const std::string& id) const { return Find(fabrics_, id, "fabric"); }
Result<const System*> Catalog::FindSystem(const std::string& id) const { return Find(systems_, id, "system"); }
Result<const Model*> Catalog::FindModel(const std::string& id) const { return Find(models_, id, "model"); }
Result<const KernelEfficiency*> Catalog::FindEfficiency(const std::string& accelerator_id) const {
  auto it = efficiencies_.find(accelerator_id);
  if (it != efficiencies_.end()) return &it->second;
  return Unsupported(fmt::format("accelerator '{}' has no kernel calibration yet", accelerator_id));
}

Result<const System*> Catalog::DefaultSystemFor(const std::string& accelerator_id) const {
  AIF_RETURN_IF_ERROR(FindAccelerator(accelerator_id).status());
  const System* best = nullptr;
  for (const auto& [id, s] : systems_) {
    // Prefer the larger scale-up domain when several systems carry the accelerator.
    if (s.accelerator == accelerator_id && (!best || s.nvlink_domain > best->nvlink_domain)) best = &s;
  }
  if (!best) return NotFound(fmt::format("no system in the catalog carries accelerator '{}'", accelerator_id));
  return best;
}

Status Catalog::CheckReferences() const {
  for (const auto& [id, s] : systems_) {
    AIF_RETURN_IF_ERROR(FindAccelerator(s.accelerator).status().WithContext("system '" + id + "': "));
    AIF_RETURN_IF_ERROR(FindFabric(s.scale_out_fabric).status().WithContext("system '" + id + "': "));
    if (s.gpus_per_node <= 0 || s.nvlink_domain <= 0 || s.nics_per_gpu <= 0) {
      return InvalidArgument("system '" + id + "': gpus_per_node, nvlink_domain and nics_per_gpu must be positive");
    }
  }
  for (const auto& [id, k] : efficiencies_) {
    AIF_RETURN_IF_ERROR(FindAccelerator(id).status().WithContext("calibration: "));
    if (!k.kernel_shapes_id.empty()) {
      AIF_RETURN_IF_ERROR(Find(kernel_shapes_, k.kernel_shapes_id, "kernel shapes").status().WithContext(
          "calibration of '" + id + "': "));
    }
  }
  return Status::Ok();
}

}  // namespace aif::catalog
