// The catalog: every accelerator, fabric, system, model and calibration the engines use. No
// engine keeps a private copy of a hardware number; they look it up here.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "aifactory/catalog/hardware.h"
#include "aifactory/catalog/model.h"

namespace aif::catalog {

class Catalog {
 public:
  Status Add(Accelerator a);
  Status Add(Fabric f);
  Status Add(System s);
  Status Add(Model m);
  Status Add(KernelEfficiency k);
  Status Add(KernelShapes k);
  // Replaces (or adds) an accelerator's calibration, e.g. from a user's calibration file; fails
  // when it names kernel shapes the catalog does not have.
  Status SetEfficiency(KernelEfficiency k);

  // Lookups fail with NotFound and a "did you mean" suggestion.
  Result<const Accelerator*> FindAccelerator(const std::string& id) const;
  Result<const Fabric*> FindFabric(const std::string& id) const;
  Result<const System*> FindSystem(const std::string& id) const;
  Result<const Model*> FindModel(const std::string& id) const;
  Result<const KernelEfficiency*> FindEfficiency(const std::string& accelerator_id) const;

  // The usual system for an accelerator (e.g. h100-sxm -> dgx-h100), for inputs that name only
  // the accelerator.
  Result<const System*> DefaultSystemFor(const std::string& accelerator_id) const;

  const std::map<std::string, Accelerator>& accelerators() const { return accelerators_; }
  const std::map<std::string, Fabric>& fabrics() const { return fabrics_; }
  const std::map<std::string, System>& systems() const { return systems_; }
  const std::map<std::string, Model>& models() const { return models_; }
  const std::map<std::string, KernelEfficiency>& efficiencies() const { return efficiencies_; }
  const std::map<std::string, std::shared_ptr<const KernelShapes>>& kernel_shapes() const { return kernel_shapes_; }

  // Checks cross references (system -> accelerator, fabric; efficiency -> accelerator, kernel
  // shapes).
  Status CheckReferences() const;

 private:
  std::map<std::string, Accelerator> accelerators_;
  std::map<std::string, Fabric> fabrics_;
  std::map<std::string, System> systems_;
  std::map<std::string, Model> models_;
  std::map<std::string, KernelEfficiency> efficiencies_;
  std::map<std::string, std::shared_ptr<const KernelShapes>> kernel_shapes_;
};

}  // namespace aif::catalog
