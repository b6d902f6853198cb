#include "aifactory/fleet/scheduler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "aifactory/core/strings.h"

namespace aif::fleet {

std::vector<std::string> PolicyNames() { return {"fifo", "sjf", "easy", "las", "replay"}; }

Result<std::unique_ptr<SchedulerPolicy>> MakePolicy(std::string_view name,
                                                    const PolicyOptions& options) {
  if (name == "fifo") return MakeFifoPolicy();
  if (name == "sjf") return MakeSjfPolicy();
  if (name == "easy") return MakeEasyBackfillPolicy();
  if (name == "replay") return MakeReplayPolicy();
  if (name == "las") {
    if (!(options.las_threshold_gpu_seconds > 0))
      return InvalidArgument("scheduler 'las' needs a positive threshold (GPU-seconds)");
    return MakeLasPolicy(options.las_threshold_gpu_seconds);
  }
  return InvalidArgument(fmt::format("unknown scheduler '{}'{}; known: {}", name,
                                     DidYouMean(name, PolicyNames()),
                                     fmt::join(PolicyNames(), ", ")));
}

}  // namespace aif::fleet
