#include "aifactory/serve/router.h"

#include <algorithm>
#include <numeric>

#include "aifactory/core/strings.h"

namespace aif::serve {
namespace {

void Identity(size_t n, std::vector<int>* order) {
  order->resize(n);
  std::iota(order->begin(), order->end(), 0);
}

class OrderedPolicy final : public RoutingPolicy {
 public:
  const char* name() const override { return "ordered"; }
  void Rank(const Request&, const std::vector<BackendView>& b, double,
            std::vector<int>* order) const override {
    Identity(b.size(), order);
  }
};

class CheapestPolicy final : public RoutingPolicy {
 public:
  const char* name() const override { return "cheapest"; }
  void Rank(const Request&, const std::vector<BackendView>& b, double target,
            std::vector<int>* order) const override {
    Identity(b.size(), order);
    auto meets = [&](int i) { return target <= 0 || b[i].estimated_ttft_s <= target; };
    std::stable_sort(order->begin(), order->end(), [&](int x, int y) {
      if (meets(x) != meets(y)) return meets(x);
      return b[x].price_per_request < b[y].price_per_request;
    });
  }
};

class FastestPolicy final : public RoutingPolicy {
 public:
  const char* name() const override { return "fastest"; }
  void Rank(const Request&, const std::vector<BackendView>& b, double,
            std::vector<int>* order) const override {
    Identity(b.size(), order);
    std::stable_sort(order->begin(), order->end(),
                     [&](int x, int y) { return b[x].estimated_ttft_s < b[y].estimated_ttft_s; });
  }
};

class LeastLoadedPolicy final : public RoutingPolicy {
 public:
  const char* name() const override { return "least_loaded"; }
  void Rank(const Request&, const std::vector<BackendView>& b, double,
            std::vector<int>* order) const override {
    Identity(b.size(), order);
    std::stable_sort(order->begin(), order->end(),
                     [&](int x, int y) { return b[x].load < b[y].load; });
  }
};

}  // namespace

const std::vector<std::string>& PolicyNames() {
  static const std::vector<std::string> names = {"ordered", "cheapest", "fastest", "least_loaded"};
  return names;
}

Result<std::unique_ptr<RoutingPolicy>> MakePolicy(const std::string& name) {
  if (name == "ordered") return std::unique_ptr<RoutingPolicy>(new OrderedPolicy());
  if (name == "cheapest") return std::unique_ptr<RoutingPolicy>(new CheapestPolicy());
  if (name == "fastest") return std::unique_ptr<RoutingPolicy>(new FastestPolicy());
  if (name == "least_loaded") return std::unique_ptr<RoutingPolicy>(new LeastLoadedPolicy());
  return NotFound("unknown routing policy '" + name + "'" + DidYouMean(name, PolicyNames()));
}

}  // namespace aif::serve
