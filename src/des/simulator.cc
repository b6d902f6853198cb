#include "aifactory/des/simulator.h"

#include <cmath>
#include <utility>

#include "aifactory/core/check.h"

namespace aif::des {
namespace {

// Largest number of seconds that converts to a SimTime below Max().
constexpr double kMaxSeconds = 9.2e9;

void CheckConvertible(Seconds s) {
  AIF_CHECK_MSG(std::isfinite(s.value()) && s.value() >= 0 && s.value() < kMaxSeconds,
                "SimTime from seconds outside [0, 9.2e9)");
}

}  // namespace

SimTime SimTime::FromSeconds(Seconds s) {
  CheckConvertible(s);
  return SimTime(std::llround(s.value() * 1e9));
}

SimTime SimTime::FromSecondsCeil(Seconds s) {
  CheckConvertible(s);
  return SimTime(static_cast<std::int64_t>(std::ceil(s.value() * 1e9)));
}

EventHandle Simulator::Schedule(SimTime at, Callback callback) {
  AIF_CHECK_MSG(at >= now_, "event scheduled in the past");
  std::uint32_t slot = 0;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Slot& s = slots_[slot];
  s.callback = std::move(callback);
  s.live = true;
  ++live_;
  queue_.push(Entry{at, next_sequence_++, slot});
  return EventHandle{slot, s.generation};
}

EventHandle Simulator::ScheduleAfter(SimTime delay, Callback callback) {
  AIF_CHECK_MSG(delay >= SimTime::Zero(), "negative delay");
  return Schedule(now_ + delay, std::move(callback));
}

bool Simulator::IsPending(EventHandle handle) const {
  if (!handle.valid() || handle.slot >= slots_.size()) return false;
  const Slot& s = slots_[handle.slot];
  return s.live && s.generation == handle.generation;
}

bool Simulator::Cancel(EventHandle handle) {
  if (!IsPending(handle)) return false;
  Slot& s = slots_[handle.slot];
  s.live = false;
  s.callback = nullptr;
  --live_;
  // The heap entry stays; the slot is released when the entry reaches the top.
  return true;
}

void Simulator::Release(std::uint32_t slot) {
  Slot& s = slots_[slot];
  ++s.generation;
  if (s.generation == 0) s.generation = 1;  // 0 is reserved for "no event"
  free_slots_.push_back(slot);
}

void Simulator::DropCancelled() {
  while (!queue_.empty() && !slots_[queue_.top().slot].live) {
    Release(queue_.top().slot);
    queue_.pop();
  }
}

bool Simulator::Step() {
  DropCancelled();
  if (queue_.empty()) return false;
  Entry top = queue_.top();
  queue_.pop();
  Slot& s = slots_[top.slot];
  Callback callback = std::move(s.callback);
  s.callback = nullptr;
  s.live = false;
  --live_;
  Release(top.slot);
  now_ = top.time;
  ++events_run_;
  callback();
  return true;
}

void Simulator::Run(SimTime until) {
  while (true) {
    DropCancelled();
    if (queue_.empty() || queue_.top().time > until) break;
    Step();
  }
  if (until != SimTime::Max() && until > now_) now_ = until;
}

}  // namespace aif::des
