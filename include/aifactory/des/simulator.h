// The discrete-event kernel: a clock and a queue of callbacks ordered by (time, insertion
// sequence). Two events at the same nanosecond run in the order they were scheduled, so a run is
// a pure function of its inputs. Models (network, timeline, fleet, serving) schedule callbacks on
// one shared Simulator; the kernel knows nothing about them.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "aifactory/des/sim_time.h"

namespace aif::des {

// Names one scheduled event for cancellation. Stale handles (event already run or cancelled) are
// recognised: the slot carries a generation number.
struct EventHandle {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;  // 0: a handle that names no event
  bool valid() const { return generation != 0; }
};

class Simulator {
 public:
  using Callback = std::function<void()>;

  Simulator() = default;
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  SimTime Now() const { return now_; }

  // Runs `callback` at time `at`, which must not be earlier than Now() (a programmer error).
  EventHandle Schedule(SimTime at, Callback callback);
  // Runs `callback` at Now() + delay; delay must be non-negative.
  EventHandle ScheduleAfter(SimTime delay, Callback callback);
  // Cancels a pending event; returns false when it already ran, was cancelled, or names nothing.
  // Cancelled events stay in the heap until their time comes and are then skipped (lazy deletion).
  bool Cancel(EventHandle handle);
  bool IsPending(EventHandle handle) const;

  // Runs events in (time, sequence) order while the next one is at or before `until`, including
  // those that callbacks schedule inside the window. Afterwards Now() is `until` when `until` is
  // finite, else the time of the last event run (the queue is then empty).
  void Run(SimTime until = SimTime::Max());
  // Runs the next live event, if any; returns whether one ran.
  bool Step();

  // Events run so far, events scheduled so far, and live events still pending.
  std::uint64_t events_run() const { return events_run_; }
  std::uint64_t events_scheduled() const { return next_sequence_; }
  std::size_t pending() const { return live_; }

 private:
  struct Entry {
    SimTime time;
    std::uint64_t sequence;
    std::uint32_t slot;
    bool RunsBefore(const Entry& o) const {
      return time != o.time ? time < o.time : sequence < o.sequence;
    }
  };
  struct Slot {
    Callback callback;
    std::uint32_t generation = 1;
    bool live = false;
  };

  // Pops cancelled entries off the top of the heap.
  void DropCancelled();
  void Release(std::uint32_t slot);
  // The queue: a 4-ary min-heap on (time, sequence), shallower than a binary one.
  void Push(Entry entry);
  void PopTop();

  SimTime now_;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t events_run_ = 0;
  std::size_t live_ = 0;
  std::size_t cancelled_in_queue_ = 0;
  std::vector<Entry> queue_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
};

}  // namespace aif::des
