#include "aifactory/fleet/scheduler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "aifactory/core/strings.h"

namespace aif::fleet {

std::vector<std::string> PolicyNames() {
  std::vector<std::string> names;
  for (const RegisteredPolicy& p : RegisteredPolicies()) names.emplace_back(p.name);
  return names;
}

Result<std::unique_ptr<SchedulerPolicy>> MakePolicy(std::string_view name,
                                                    const PolicyOptions& options) {
  for (const RegisteredPolicy& p : RegisteredPolicies()) {
    if (p.name == name) return p.make(options);
  }
  return InvalidArgument(fmt::format("unknown scheduler '{}'{}; known: {}", name,
                                     DidYouMean(name, PolicyNames()),
                                     fmt::join(PolicyNames(), ", ")));
}

}  // namespace aif::fleet
