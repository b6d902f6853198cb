#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "aifactory/core/random.h"
#include "aifactory/des/sim_time.h"
#include "aifactory/des/simulator.h"

namespace aif::des {
namespace {

SimTime Ns(std::int64_t ns) { return SimTime::Nanoseconds(ns); }

TEST(desSimTime, ConvertsSecondsToNanoseconds) {
  EXPECT_EQ(SimTime::FromSeconds(Seconds(1.5e-6)).ns(), 1500);
  EXPECT_EQ(SimTime::FromSeconds(Seconds(2.0)).ns(), 2'000'000'000);
  EXPECT_EQ(SimTime::FromSeconds(Seconds(1.4e-9)).ns(), 1);
  EXPECT_EQ(SimTime::FromSecondsCeil(Seconds(1.4e-9)).ns(), 2);
  EXPECT_EQ(SimTime::FromSecondsCeil(Seconds(3e-9)).ns(), 3);
  EXPECT_DOUBLE_EQ(Ns(2500).ToSeconds().value(), 2.5e-6);
  EXPECT_LT(Ns(1), Ns(2));
  EXPECT_EQ((Ns(5) + Ns(7)).ns(), 12);
  EXPECT_EQ((Ns(7) - Ns(5)).ns(), 2);
}

TEST(desSimulator, RunsEventsInTimeOrder) {
  Simulator sim;
  std::vector<int> order;
  sim.Schedule(Ns(30), [&] { order.push_back(3); });
  sim.Schedule(Ns(10), [&] { order.push_back(1); });
  sim.Schedule(Ns(20), [&] { order.push_back(2); });
  sim.Run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(sim.Now().ns(), 30);
  EXPECT_EQ(sim.events_run(), 3u);
  EXPECT_EQ(sim.pending(), 0u);
}

TEST(desSimulator, BreaksTiesByInsertionOrder) {
  Simulator sim;
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) sim.Schedule(Ns(5), [&order, i] { order.push_back(i); });
  sim.Run();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(desSimulator, EventsScheduledNowRunAfterTheCurrentOne) {
  Simulator sim;
  std::vector<std::string> order;
  sim.Schedule(Ns(1), [&] {
    order.push_back("a");
    sim.ScheduleAfter(Ns(0), [&] { order.push_back("c"); });
  });
  sim.Schedule(Ns(1), [&] { order.push_back("b"); });
  sim.Run();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(desSimulator, CancelledEventsDoNotRun) {
  Simulator sim;
  std::vector<int> order;
  EventHandle a = sim.Schedule(Ns(1), [&] { order.push_back(1); });
  EventHandle b = sim.Schedule(Ns(2), [&] { order.push_back(2); });
  sim.Schedule(Ns(3), [&] { order.push_back(3); });
  EXPECT_TRUE(sim.IsPending(b));
  EXPECT_TRUE(sim.Cancel(b));
  EXPECT_FALSE(sim.IsPending(b));
  EXPECT_FALSE(sim.Cancel(b));  // twice
  EXPECT_EQ(sim.pending(), 2u);
  sim.Run();
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
  EXPECT_FALSE(sim.Cancel(a));  // already ran
  EXPECT_FALSE(sim.Cancel(EventHandle{}));
}

TEST(desSimulator, StaleHandleDoesNotCancelAReusedSlot) {
  Simulator sim;
  int runs = 0;
  EventHandle first = sim.Schedule(Ns(1), [&] { ++runs; });
  sim.Run();
  EventHandle second = sim.Schedule(Ns(2), [&] { ++runs; });
  EXPECT_EQ(first.slot, second.slot);  // the slot was reused
  EXPECT_FALSE(sim.Cancel(first));
  sim.Run();
  EXPECT_EQ(runs, 2);
}

TEST(desSimulator, CallbackCanCancelALaterEvent) {
  Simulator sim;
  bool late_ran = false;
  EventHandle late = sim.Schedule(Ns(10), [&] { late_ran = true; });
  sim.Schedule(Ns(5), [&] { EXPECT_TRUE(sim.Cancel(late)); });
  sim.Run();
  EXPECT_FALSE(late_ran);
  EXPECT_EQ(sim.Now().ns(), 5);
}

TEST(desSimulator, RunUntilStopsAtTheBoundaryAndAdvancesTheClock) {
  Simulator sim;
  std::vector<int> order;
  sim.Schedule(Ns(10), [&] { order.push_back(10); });
  sim.Schedule(Ns(20), [&] { order.push_back(20); });
  sim.Schedule(Ns(21), [&] { order.push_back(21); });
  sim.Run(Ns(20));  // inclusive
  EXPECT_EQ(order, (std::vector<int>{10, 20}));
  EXPECT_EQ(sim.Now().ns(), 20);
  sim.Run(Ns(15));  // earlier than now: nothing happens, the clock does not go back
  EXPECT_EQ(sim.Now().ns(), 20);
  sim.Run(Ns(100));
  EXPECT_EQ(order.back(), 21);
  EXPECT_EQ(sim.Now().ns(), 100);
  EXPECT_FALSE(sim.Step());
}

// A random cascade of events (each may schedule more and cancel others) gives the same trace on
// every run with the same seed.
std::vector<std::int64_t> RandomCascade(std::uint64_t seed) {
  Simulator sim;
  Rng rng(seed);
  std::vector<std::int64_t> trace;
  std::vector<EventHandle> handles;
  std::function<void(int)> spawn = [&](int depth) {
    trace.push_back(sim.Now().ns() * 1000 + depth);
    if (depth >= 6) return;
    int children = static_cast<int>(rng.NextU64() % 3);
    for (int c = 0; c < children; ++c) {
      auto delay = static_cast<std::int64_t>(rng.NextU64() % 4);  // many ties
      handles.push_back(sim.ScheduleAfter(Ns(delay), [&spawn, depth] { spawn(depth + 1); }));
    }
    if (!handles.empty() && rng.NextU64() % 4 == 0) sim.Cancel(handles[rng.NextU64() % handles.size()]);
  };
  for (int i = 0; i < 20; ++i) {
    sim.Schedule(Ns(static_cast<std::int64_t>(rng.NextU64() % 5)), [&spawn] { spawn(0); });
  }
  sim.Run();
  return trace;
}

TEST(desSimulator, SameSeedSameTrace) {
  std::vector<std::int64_t> a = RandomCascade(42);
  std::vector<std::int64_t> b = RandomCascade(42);
  EXPECT_GT(a.size(), 20u);
  EXPECT_EQ(a, b);
  // Time never goes backwards.
  for (std::size_t i = 1; i < a.size(); ++i) EXPECT_LE(a[i - 1] / 1000, a[i] / 1000);
}

}  // namespace
}  // namespace aif::des
