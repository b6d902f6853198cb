#include "aifactory/des/simulator.h"

#include <algorithm>
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
  Push(Entry{at, next_sequence_++, slot});
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
  ++cancelled_in_queue_;
  // The heap entry stays; the slot is released when the entry reaches the top.
  return true;
}

void Simulator::Release(std::uint32_t slot) {
  Slot& s = slots_[slot];
  ++s.generation;
  if (s.generation == 0) s.generation = 1;  // 0 is reserved for "no event"
  free_slots_.push_back(slot);
}

void Simulator::Push(Entry entry) {
  std::size_t i = queue_.size();
  queue_.push_back(entry);
  while (i > 0) {
    std::size_t parent = (i - 1) / 4;
    if (!entry.RunsBefore(queue_[parent])) break;
    queue_[i] = queue_[parent];
    i = parent;
  }
  queue_[i] = entry;
}

void Simulator::PopTop() {
  const Entry last = queue_.back();
  queue_.pop_back();
  const std::size_t n = queue_.size();
  if (n == 0) return;
  std::size_t i = 0;
  while (true) {
    std::size_t first = 4 * i + 1;
    if (first >= n) break;
    std::size_t best = first;
    std::size_t end = std::min(first + 4, n);
    for (std::size_t c = first + 1; c < end; ++c) {
      if (queue_[c].RunsBefore(queue_[best])) best = c;
    }
    if (!queue_[best].RunsBefore(last)) break;
    queue_[i] = queue_[best];
    i = best;
  }
  queue_[i] = last;
}

void Simulator::DropCancelled() {
  while (cancelled_in_queue_ > 0 && !queue_.empty() && !slots_[queue_.front().slot].live) {
    Release(queue_.front().slot);
    PopTop();
    --cancelled_in_queue_;
  }
}

bool Simulator::Step() {
  DropCancelled();
  if (queue_.empty()) return false;
  const Entry top = queue_.front();
  PopTop();
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
    if (queue_.empty() || queue_.front().time > until) break;
    Step();
  }
  if (until != SimTime::Max() && until > now_) now_ = until;
}

}  // namespace aif::des
