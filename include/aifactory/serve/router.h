// Routing across backends: a policy ranks the backends allowed for a request's task class; the
// router takes the first that is not saturated (the others are fallbacks). A policy is a small
// interface: implement RoutingPolicy and register a name in MakePolicy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/serve/workload.h"

namespace aif::serve {

// What the router knows of one backend when a request arrives.
struct BackendView {
  int index = 0;                // position in the task's backend list
  bool saturated = false;       // queue over its limit, rate limit or concurrency reached
  double estimated_ttft_s = 0;  // queueing + prefill estimate
  double estimated_tpot_s = 0;
  double price_per_request = 0;  // USD for this request (providers: tokens x price; own: GPU time)
  double load = 0;               // requests waiting or running per instance
};

class RoutingPolicy {
 public:
  virtual ~RoutingPolicy() = default;
  virtual const char* name() const = 0;
  // Writes the backends' indices best first into `order` (a permutation of 0..n-1).
  virtual void Rank(const Request& request, const std::vector<BackendView>& backends,
                    double ttft_target_s, std::vector<int>* order) const = 0;
};

// "ordered" (as listed: primary, then fallbacks), "cheapest" (lowest price whose estimated TTFT
// meets the target, then the rest by price), "fastest" (lowest estimated TTFT), "least_loaded".
Result<std::unique_ptr<RoutingPolicy>> MakePolicy(const std::string& name);
const std::vector<std::string>& PolicyNames();

}  // namespace aif::serve
