#include "aifactory/catalog/catalog.h"

#include <fmt/format.h>

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

}  // namespace

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
  return Insert(efficiencies_, id, std::move(k), "calibration");
}

void Catalog::SetEfficiency(KernelEfficiency k) {
  std::string id = k.accelerator;
  efficiencies_[id] = std::move(k);
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
  }
  return Status::Ok();
}

}  // namespace aif::catalog
