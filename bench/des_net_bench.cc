// The event kernel and the flow-level network at factory scale: building rail-optimized
// fat-trees of 1K to 100K GPUs, and running a ring step followed by a shifted step of flows on
// them (every GPU sends one flow to a GPU on another leaf, then one to a GPU half the factory
// away), single-threaded; and 1 GiB all-reduces as flows over 1K to 16K GPUs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "aifactory/des/simulator.h"
#include "aifactory/net/collectives.h"
#include "aifactory/net/network.h"
#include "aifactory/net/topology_builders.h"

namespace {

using aif::BytesPerSecond;
using aif::Seconds;
using aif::net::FatTreeSpec;

// Factory shapes (the per-GPU NIC is the scale-out bandwidth; latencies are per hop).
FatTreeSpec Factory(int gpus) {
  FatTreeSpec s;
  s.gpus = gpus;
  s.link_latency = Seconds(1e-6);
  if (gpus == 4608) {
    // GB300 NVL72-like: 64 racks of 72 GPUs, 4 GPUs per tray, 800 Gb/s per GPU on a two-tier
    // fabric of 144-port switches; NVLink inside each rack.
    s.gpus_per_server = 4;
    s.tiers = 2;
    s.radix = 144;
    s.nic_bandwidth = BytesPerSecond(100e9);
    s.nvlink_domain = 72;
    s.nvlink_bandwidth = BytesPerSecond(900e9);
    s.nvlink_latency = Seconds(0.5e-6);
  } else {
    // HGX-like: 8 GPUs and 8 rails per server, 400 Gb/s per GPU; two tiers of 64-port switches
    // up to 2,048 GPUs, three tiers above (128-port switches past 65,536 GPUs).
    s.gpus_per_server = 8;
    s.nic_bandwidth = BytesPerSecond(50e9);
    s.tiers = gpus <= 2048 ? 2 : 3;
    s.radix = gpus <= 65536 ? 64 : 128;
  }
  return s;
}

aif::net::Topology Build(int gpus) {
  auto t = aif::net::BuildRailFatTree(Factory(gpus));
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
    std::abort();
  }
  return std::move(t).value();
}

void BM_BuildFatTree(benchmark::State& state) {
  const auto gpus = static_cast<int>(state.range(0));
  std::size_t memory = 0;
  int nodes = 0;
  int links = 0;
  for (auto _ : state) {
    aif::net::Topology t = Build(gpus);
    memory = t.MemoryBytes();
    nodes = t.node_count();
    links = t.link_count();
    benchmark::DoNotOptimize(t);
  }
  state.counters["nodes"] = nodes;
  state.counters["links"] = links;
  state.counters["topology_MB"] = static_cast<double>(memory) / 1e6;
}
BENCHMARK(BM_BuildFatTree)->Arg(1024)->Arg(4608)->Arg(16384)->Arg(100000)->Unit(benchmark::kMillisecond);

// Step 1: GPU g sends 64 MiB to the same rail one leaf group further (g + rails x hosts per
// leaf): every flow crosses the spines. Step 2, once step 1 is done: to g + gpus/2 + rails
// (other pods, through the cores on three tiers).
void BM_RingThenShift(benchmark::State& state) {
  const auto gpus = static_cast<int>(state.range(0));
  const FatTreeSpec spec = Factory(gpus);
  const int leaf_group = spec.gpus_per_server * spec.radix / 2;
  aif::net::NetworkStats stats;
  double simulated = 0;
  std::size_t memory = 0;
  for (auto _ : state) {
    state.PauseTiming();
    aif::net::Topology t = Build(gpus);
    aif::des::Simulator sim;
    aif::net::Network net(&sim, std::move(t));
    state.ResumeTiming();
    int outstanding = gpus;
    std::function<void(const aif::net::FlowRecord&)> step2 = [](const aif::net::FlowRecord&) {};
    std::function<void(const aif::net::FlowRecord&)> step1 = [&](const aif::net::FlowRecord&) {
      if (--outstanding > 0) return;
      for (int g = 0; g < gpus; ++g) {
        auto dst = (g + gpus / 2 + spec.gpus_per_server) % gpus;
        if (!net.StartFlow(g, dst, aif::Bytes(64 << 20), step2).ok()) std::abort();
      }
    };
    for (int g = 0; g < gpus; ++g) {
      if (!net.StartFlow(g, (g + leaf_group) % gpus, aif::Bytes(64 << 20), step1).ok()) std::abort();
    }
    net.RunUntilIdle();
    stats = net.stats();
    simulated = sim.Now().ToSeconds().value();
    memory = net.MemoryBytes();
    benchmark::DoNotOptimize(net);
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["flows"] = static_cast<double>(stats.flows_completed);
  state.counters["flows_per_s"] =
      benchmark::Counter(static_cast<double>(stats.flows_completed) * iterations, benchmark::Counter::kIsRate);
  state.counters["recomputations"] = static_cast<double>(stats.recomputations);
  state.counters["recomputations_per_s"] =
      benchmark::Counter(static_cast<double>(stats.recomputations) * iterations, benchmark::Counter::kIsRate);
  state.counters["rate_updates"] = static_cast<double>(stats.flow_rate_updates);
  state.counters["rate_updates_per_s"] =
      benchmark::Counter(static_cast<double>(stats.flow_rate_updates) * iterations, benchmark::Counter::kIsRate);
  state.counters["max_component"] = static_cast<double>(stats.max_component_flows);
  state.counters["simulated_ms"] = simulated * 1e3;
  state.counters["network_MB"] = static_cast<double>(memory) / 1e6;
}
BENCHMARK(BM_RingThenShift)->Arg(1024)->Arg(4608)->Arg(16384)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(1);

// One 1 GiB all-reduce over every GPU of a factory, as flows (net/collectives.h), algorithm
// chosen by the rule (hierarchical on all three). Links carry catalog line rate x calibrated
// efficiency: 1,024 GPUs: HGX H100 nodes (NVLink 450 GB/s x 0.815 in domains of 8, NDR 400 Gb/s
// x 0.94 per GPU, two tiers of radix 64); 4,608: GB300 NVL72 racks (NVLink 900 GB/s x 0.757 in
// domains of 72, XDR 800 Gb/s x 0.94 per GPU, 4 GPUs per tray, two tiers of radix 144); 16,128:
// 224 GB200 NVL72 racks (NDR per GPU, three tiers of radix 144). Step latencies 3.4 us inside
// an NVLink domain and 14 us across (NCCL's per-step figures, as in the catalog); links add none.
FatTreeSpec CollectiveFactory(int gpus) {
  FatTreeSpec s;
  s.gpus = gpus;
  if (gpus == 1024) {
    s.gpus_per_server = 8;
    s.tiers = 2;
    s.radix = 64;
    s.nic_bandwidth = BytesPerSecond(50e9 * 0.94);
    s.nvlink_domain = 8;
    s.nvlink_bandwidth = BytesPerSecond(450e9 * 0.815);
  } else {
    s.gpus_per_server = 4;
    s.tiers = gpus <= 4608 ? 2 : 3;
    s.radix = 144;
    s.nic_bandwidth = BytesPerSecond((gpus <= 4608 ? 100e9 : 50e9) * 0.94);
    s.nvlink_domain = 72;
    s.nvlink_bandwidth = BytesPerSecond(900e9 * 0.757);
  }
  return s;
}

void BM_AllReduceAsFlows(benchmark::State& state) {
  const auto gpus = static_cast<int>(state.range(0));
  aif::net::CollectiveResult result;
  aif::net::NetworkStats stats;
  std::size_t memory = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto t = aif::net::BuildRailFatTree(CollectiveFactory(gpus));
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
      std::abort();
    }
    aif::des::Simulator sim;
    aif::net::Network net(&sim, std::move(t).value(),
                          aif::net::NetworkOptions{.keep_completed_flows = false});
    std::vector<aif::net::NodeId> ranks(static_cast<std::size_t>(gpus));
    for (int g = 0; g < gpus; ++g) ranks[static_cast<std::size_t>(g)] = g;
    state.ResumeTiming();
    aif::net::CollectiveOptions options;
    options.step_latency_in_domain = Seconds(3.4e-6);
    options.step_latency_across_domains = Seconds(14e-6);
    auto r = aif::net::RunCollective(&net, aif::net::CollectiveKind::kAllReduce, std::move(ranks),
                                     aif::Bytes(1024.0 * 1024 * 1024), options);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      std::abort();
    }
    result = *r;
    stats = net.stats();
    memory = net.MemoryBytes();
    benchmark::DoNotOptimize(net);
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.SetLabel(aif::net::CollectiveAlgorithmName(result.algorithm));
  state.counters["flows"] = static_cast<double>(result.flows);
  state.counters["flows_per_s"] = benchmark::Counter(static_cast<double>(result.flows) * iterations,
                                                     benchmark::Counter::kIsRate);
  state.counters["recomputations"] = static_cast<double>(stats.recomputations);
  state.counters["rate_updates"] = static_cast<double>(stats.flow_rate_updates);
  state.counters["simulated_ms"] = result.duration().value() * 1e3;
  state.counters["busbw_GBps"] = result.busbw().value() / 1e9;
  state.counters["network_MB"] = static_cast<double>(memory) / 1e6;
}
BENCHMARK(BM_AllReduceAsFlows)
    ->Arg(1024)
    ->Arg(4608)
    ->Arg(16128)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The kernel alone, "hold" model: 100,000 pending events (one per GPU, say); each event
// schedules its successor 1 to 64 ns later (many ties), one million events in all.
void BM_SimulatorHold(benchmark::State& state) {
  constexpr int kPending = 100'000;
  constexpr std::uint64_t kEvents = 1'000'000;
  for (auto _ : state) {
    aif::des::Simulator sim;
    std::uint64_t x = 1;
    std::function<void()> hold = [&] {
      if (sim.events_scheduled() >= kEvents) return;
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      sim.ScheduleAfter(aif::des::SimTime::Nanoseconds(static_cast<std::int64_t>(1 + (x >> 58))), hold);
    };
    for (int i = 0; i < kPending; ++i) sim.Schedule(aif::des::SimTime::Nanoseconds(i % 64), hold);
    sim.Run();
    benchmark::DoNotOptimize(x);
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(kEvents) * static_cast<double>(state.iterations()),
                                                      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SimulatorHold)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
