#include "aifactory/fleet/cluster_inventory.h"

namespace aif::fleet {

int ClusterInventory::TotalGpus() const {
  int total = 0;
  for (const ClusterNode& n : nodes) total += n.gpus;
  return total;
}

std::map<std::string, int> ClusterInventory::GpusByModel() const {
  std::map<std::string, int> by_model;
  for (const ClusterNode& n : nodes) {
    if (n.gpus > 0) by_model[n.gpu_model] += n.gpus;
  }
  return by_model;
}

double GpuCapacityHistory::CapacityGpuSeconds() const {
  double gpu_days = 0;
  for (const DailyGpuCapacity& d : days) gpu_days += d.total;
  return gpu_days * 86400.0;
}

double ImpliedUtilization(const PublishedClusterSummary& summary, double capacity_gpu_seconds) {
  return capacity_gpu_seconds > 0 ? summary.TotalGpuTime() / capacity_gpu_seconds : 0.0;
}

}  // namespace aif::fleet
