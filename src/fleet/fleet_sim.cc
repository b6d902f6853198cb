#include "aifactory/fleet/fleet_sim.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <utility>

#include "aifactory/core/random.h"
#include "aifactory/des/simulator.h"
#include "aifactory/fleet/scheduler.h"
#include "aifactory/fleet/trace_stats.h"
#include "aifactory/train/goodput.h"

namespace aif::fleet {

Seconds JobMtbf(const std::vector<FailureComponent>& failures, int gpus) {
  double rate = 0;
  for (const FailureComponent& f : failures) rate += f.rate_per_gpu_hour;
  rate *= gpus / 3600.0;
  return Seconds(rate > 0 ? 1 / rate : std::numeric_limits<double>::infinity());
}

Seconds AutoCheckpointInterval(const FleetJob& job, const std::vector<FailureComponent>& failures) {
  const Seconds mtbf = JobMtbf(failures, job.gpus);
  if (!std::isfinite(mtbf.value())) return Seconds(0);  // no failures: no checkpoints needed
  if (job.checkpoint_write.value() <= 0) {
    // Free checkpoints: Daly's optimum goes to zero; one per thousandth of the MTBF loses
    // almost nothing and keeps the segment count finite.
    return Seconds(mtbf.value() / 1000);
  }
  return train::DalyInterval(job.checkpoint_write, mtbf);
}

Distribution Distribute(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.n = static_cast<std::int64_t>(values.size());
  d.mean = ExactSum(values) / static_cast<double>(values.size());
  d.p50 = Percentile(values, 50);
  d.p90 = Percentile(values, 90);
  d.p99 = Percentile(values, 99);
  d.max = values.back();
  return d;
}

namespace {

constexpr double kMaxSpanSeconds = 9.0e9;  // the kernel's clock holds 9.2e9 s
constexpr std::size_t kMaxRefusedListed = 100;

bool TypeAllowed(const std::string& wanted, const std::string& type) {
  if (wanted.empty()) return true;
  std::size_t begin = 0;
  while (begin <= wanted.size()) {
    std::size_t end = wanted.find('|', begin);
    if (end == std::string::npos) end = wanted.size();
    if (wanted.compare(begin, end - begin, type) == 0) return true;
    begin = end + 1;
  }
  return false;
}

struct Domain {
  int pool = 0;
  int leaf = 0;  // global leaf index
  std::int32_t cap_milli = 0;
  std::int32_t free_milli = 0;
  int down = 0;  // reasons it is out (repair, maintenance); usable when 0
  std::vector<std::pair<JobId, std::int32_t>> jobs;
};

struct Leaf {
  int pool = 0;
  std::set<int> free_domains;  // fully free, up
};

struct Pool {
  int site = 0;
  PoolSpec spec;
  int first_domain = 0, domains = 0;
  int first_leaf = 0, leaves = 0;
  std::int64_t first_gpu = 0;
  std::set<std::pair<std::int32_t, int>> by_free;  // (free milli, domain) of up domains, free > 0
  std::set<std::pair<int, int>> leaves_by_free;    // (fully free domains, leaf), count > 0
  int free_domains = 0;
  std::int64_t free_milli = 0;
  // Time integrals for the series.
  std::int64_t busy_milli = 0, up_milli = 0;
  double last_t = 0;
  std::vector<double> busy_integral, up_integral;  // milli-seconds per bin
  int next_maintenance_leaf = 0;
};

struct Site {
  double pue = 1;
  double cap_it_w = std::numeric_limits<double>::infinity();  // cap / PUE
  double it_w = 0;                                            // IT power now
};

enum class JobStatus { kPending, kQueued, kRunning, kDone, kRefused };

// Why a running job stops early: a failure loses the work since its last checkpoint; planned
// maintenance lets a checkpointing job save first; a preempted job always saves.
enum class Stop { kFailure, kPlanned, kPreempted };

struct JobState {
  JobStatus status = JobStatus::kPending;
  double remaining = 0;  // compute seconds left (at single-site speed)
  double slow = 1;       // this run's compute time per second of work (> 1 across sites)
  double tau = 0;        // checkpoint interval (0: none)
  double delta = 0;      // checkpoint write
  double restart = 0;
  bool pay_restart = false;
  double run_start = 0, run_restart = 0;  // this run
  double attained_before = 0;             // GPU-seconds of service in earlier runs
  double expected_end = 0;
  double first_start = -1, end = -1;
  int interruptions = 0;
  double lost_gpu_seconds = 0;
  double good_gpu_seconds = 0;
  bool single_domain = false, single_leaf = false, cross_site = false;
  des::EventHandle finish;
  std::vector<std::pair<int, std::int32_t>> placement;  // (domain, milli)
};

class Engine final : public SchedulerContext {
 public:
  Engine(const FleetSpec& spec, const std::vector<FleetJob>& jobs, const FleetOptions& options,
         std::unique_ptr<SchedulerPolicy> policy)
      : spec_(spec),
        jobs_(jobs),
        options_(options),
        policy_(std::move(policy)),
        rng_(options.seed) {}

  Status Build();
  FleetResult Run();

  // SchedulerContext.
  double Now() const override { return now_; }
  const FleetJob& Job(JobId id) const override { return jobs_[static_cast<std::size_t>(id)]; }
  double AttainedService(JobId id) const override {
    const JobState& s = state_[static_cast<std::size_t>(id)];
    double a = s.attained_before;
    if (s.status == JobStatus::kRunning)
      a += static_cast<double>(Job(id).Milli()) / 1000.0 * (now_ - s.run_start);
    return a;
  }
  bool TryStart(JobId id) override;
  std::int64_t FreeMilli() const override { return free_milli_; }
  void ForEachRunningByEnd(const std::function<bool(const RunningJob&)>& visit) const override {
    for (const auto& [end, id] : running_)
      if (!visit(RunningJob{id, end, Job(id).Milli()})) return;
  }
  // Preemption checkpoints on the way out, whatever the job's own checkpoint interval.
  void Preempt(JobId id) override { Interrupt(id, "preemption", Stop::kPreempted); }
  void WakeAt(double t) override {
    if (t <= now_) {
      RequestPass();
      return;
    }
    sim_.Schedule(At(t), [this] { RequestPassNow(); });
  }

 private:
  des::SimTime At(double t) const {
    return des::SimTime::FromSeconds(Seconds(std::max(0.0, t - origin_)));
  }
  // Seconds from nanoseconds by division, so that whole seconds come back exact.
  static double Sec(des::SimTime t) { return static_cast<double>(t.ns()) / 1e9; }
  void Tick() { now_ = origin_ + Sec(sim_.Now()); }
  // `t` on the kernel's nanosecond clock, as event times see it.
  double OnClock(double t) const { return origin_ + Sec(At(t)); }
  void RequestPassNow() {
    Tick();
    RequestPass();
  }
  void RequestPass();
  void Pass();
  void Arrivals();
  void Finish(JobId id);
  void Interrupt(JobId id, const std::string& cause, Stop why);
  void Failure();
  void Maintenance(int pool);
  void DomainDown(int d);
  void DomainUp(int d);
  bool Done() const { return outstanding_ == 0; }

  // Placement.
  bool PlaceInPool(const FleetJob& job, int p, std::vector<std::pair<int, std::int32_t>>* out,
                   int* leaves_used);
  bool PlaceAcrossSites(const FleetJob& job, std::vector<std::pair<int, std::int32_t>>* out);
  void Take(int d, std::int32_t milli, JobId id);
  void Give(int d, std::int32_t milli, JobId id);
  void SetFree(int d, std::int32_t free);
  double PowerDelta(int p, std::int64_t milli) const {
    const PoolSpec& s = pools_[static_cast<std::size_t>(p)].spec;
    return static_cast<double>(milli) / 1000.0 * (s.gpu_busy_w - s.gpu_idle_w);
  }
  void Integrate(Pool& pool);
  void SampleQueue();

  const FleetSpec& spec_;
  const std::vector<FleetJob>& jobs_;
  const FleetOptions& options_;
  std::unique_ptr<SchedulerPolicy> policy_;
  Rng rng_;
  des::Simulator sim_;
  double origin_ = 0, now_ = 0;

  std::vector<Pool> pools_;
  std::vector<Site> sites_;
  std::vector<Domain> domains_;
  std::vector<Leaf> leaves_;
  std::vector<std::vector<bool>> linked_;  // site x site
  std::int64_t total_gpus_ = 0;
  std::int64_t free_milli_ = 0;
  double failure_rate_ = 0;                 // per second, whole fleet
  std::vector<double> failure_cumulative_;  // cumulative rates, for picking a cause

  std::vector<JobState> state_;
  std::vector<JobId> arrival_order_;
  std::size_t next_arrival_ = 0;
  std::int64_t outstanding_ = 0;  // not yet done or refused
  std::set<std::pair<double, JobId>> running_;
  bool pass_pending_ = false;

  FleetResult r_;
  std::size_t queue_samples_ = 0;
};

Status Engine::Build() {
  if (spec_.sites.empty()) return InvalidArgument("fleet: no sites");
  linked_.assign(spec_.sites.size(), std::vector<bool>(spec_.sites.size(), false));
  for (std::size_t i = 0; i < spec_.sites.size(); ++i) linked_[i][i] = true;
  for (const WanLink& w : spec_.wan) {
    const auto n = static_cast<int>(spec_.sites.size());
    if (w.a < 0 || w.b < 0 || w.a >= n || w.b >= n)
      return InvalidArgument(fmt::format("fleet: WAN link {}-{} names no site", w.a, w.b));
    linked_[static_cast<std::size_t>(w.a)][static_cast<std::size_t>(w.b)] = true;
    linked_[static_cast<std::size_t>(w.b)][static_cast<std::size_t>(w.a)] = true;
  }
  for (std::size_t s = 0; s < spec_.sites.size(); ++s) {
    const SiteSpec& site = spec_.sites[s];
    if (!(site.pue >= 1))
      return InvalidArgument(fmt::format("fleet: site '{}': PUE {} below 1", site.name, site.pue));
    Site st;
    st.pue = site.pue;
    if (site.power_cap_w > 0) st.cap_it_w = site.power_cap_w / site.pue;
    for (const PoolSpec& ps : site.pools) {
      if (ps.gpus_per_domain <= 0 || ps.domains_per_leaf <= 0 || ps.gpus <= 0 ||
          ps.gpus % ps.gpus_per_domain != 0) {
        return InvalidArgument(fmt::format(
            "fleet: site '{}' pool '{}': {} GPUs is not a positive whole number of {}-GPU domains",
            site.name, ps.gpu_type, ps.gpus, ps.gpus_per_domain));
      }
      Pool p;
      p.site = static_cast<int>(s);
      p.spec = ps;
      p.first_domain = static_cast<int>(domains_.size());
      p.domains = ps.gpus / ps.gpus_per_domain;
      p.first_leaf = static_cast<int>(leaves_.size());
      p.leaves = (p.domains + ps.domains_per_leaf - 1) / ps.domains_per_leaf;
      p.first_gpu = total_gpus_;
      const int pool_index = static_cast<int>(pools_.size());
      for (int l = 0; l < p.leaves; ++l) leaves_.push_back(Leaf{pool_index, {}});
      for (int d = 0; d < p.domains; ++d) {
        Domain dom;
        dom.pool = pool_index;
        dom.leaf = p.first_leaf + d / ps.domains_per_leaf;
        dom.cap_milli = dom.free_milli = ps.gpus_per_domain * 1000;
        const int id = static_cast<int>(domains_.size());
        domains_.push_back(std::move(dom));
        p.by_free.insert({ps.gpus_per_domain * 1000, id});
        leaves_[static_cast<std::size_t>(domains_.back().leaf)].free_domains.insert(id);
      }
      for (int l = 0; l < p.leaves; ++l) {
        const int leaf = p.first_leaf + l;
        p.leaves_by_free.insert(
            {static_cast<int>(leaves_[static_cast<std::size_t>(leaf)].free_domains.size()), leaf});
      }
      p.free_domains = p.domains;
      p.free_milli = p.up_milli = static_cast<std::int64_t>(ps.gpus) * 1000;
      free_milli_ += p.free_milli;
      total_gpus_ += ps.gpus;
      st.it_w += ps.gpus * ps.gpu_idle_w;
      pools_.push_back(std::move(p));
    }
    sites_.push_back(st);
  }
  if (total_gpus_ == 0) return InvalidArgument("fleet: no GPUs");
  for (const FailureComponent& f : spec_.failures) {
    if (!(f.rate_per_gpu_hour >= 0) || !std::isfinite(f.rate_per_gpu_hour) ||
        !(f.repair.value() >= 0)) {
      return InvalidArgument(fmt::format("fleet: failure '{}': rate {} per GPU-hour, repair {} s",
                                         f.name, f.rate_per_gpu_hour, f.repair.value()));
    }
    failure_rate_ += f.rate_per_gpu_hour;
    failure_cumulative_.push_back(failure_rate_);
  }
  failure_rate_ *= static_cast<double>(total_gpus_) / 3600.0;

  // Jobs: refuse what can never fit, order the rest by release.
  state_.resize(jobs_.size());
  double first = std::numeric_limits<double>::infinity(), last = 0;
  for (std::size_t i = 0; i < jobs_.size(); ++i) {
    const FleetJob& j = jobs_[i];
    JobState& s = state_[i];
    std::string why;
    std::int64_t single = 0, all = 0;
    for (const Pool& p : pools_) {
      if (!TypeAllowed(j.gpu_type, p.spec.gpu_type)) continue;
      single = std::max<std::int64_t>(single, p.spec.gpus);
      all += p.spec.gpus;
    }
    const double values[] = {j.submit.value(), j.release.value(), j.work.value(),
                             j.checkpoint_write.value(), j.restart.value()};
    if (!std::all_of(std::begin(values), std::end(values),
                     [](double v) { return std::isfinite(v) && v >= 0; })) {
      why = "times must be finite and non-negative";
    } else if (j.gpus < 0 || j.gpu_milli <= 0 || j.gpu_milli > 1000) {
      why = fmt::format("{} GPUs at {}/1000 each", j.gpus, j.gpu_milli);
    } else if (j.gpus > (j.multi_site ? all : single)) {
      why = fmt::format("asks for {} GPUs{}, more than the fleet's {}", j.gpus,
                        j.gpu_type.empty() ? "" : " of type " + j.gpu_type,
                        j.multi_site ? all : single);
    }
    if (!why.empty()) {
      s.status = JobStatus::kRefused;
      ++r_.jobs_refused;
      if (r_.refused.size() < kMaxRefusedListed) r_.refused.push_back(j.id + ": " + why);
      continue;
    }
    s.remaining = j.work.value();
    s.delta = j.checkpoint_write.value();
    s.restart = j.restart.value();
    s.tau = j.checkpoint_interval.value() < 0
                ? AutoCheckpointInterval(
                      j, options_.failures ? spec_.failures : std::vector<FailureComponent>{})
                      .value()
                : j.checkpoint_interval.value();
    arrival_order_.push_back(static_cast<JobId>(i));
    first = std::min(first, std::min(j.submit.value(), j.release.value()));
    last = std::max(last, j.release.value());
  }
  std::stable_sort(arrival_order_.begin(), arrival_order_.end(), [this](JobId a, JobId b) {
    return Job(a).release.value() < Job(b).release.value();
  });
  outstanding_ = static_cast<std::int64_t>(arrival_order_.size());
  origin_ = std::isfinite(first) ? first : 0;
  if (last - origin_ > kMaxSpanSeconds)
    return InvalidArgument(
        fmt::format("fleet: jobs span {} s, more than the clock holds", last - origin_));
  now_ = origin_;
  for (Pool& p : pools_) p.last_t = origin_;
  return Status::Ok();
}

void Engine::Integrate(Pool& p) {
  const double bin = options_.bin.value();
  double t = p.last_t;
  while (t < now_) {
    const auto b = static_cast<std::size_t>((t - origin_) / bin);
    const double bin_end = origin_ + static_cast<double>(b + 1) * bin;
    const double to = std::min(now_, bin_end);
    if (p.busy_integral.size() <= b) {
      p.busy_integral.resize(b + 1, 0.0);
      p.up_integral.resize(b + 1, 0.0);
    }
    p.busy_integral[b] += static_cast<double>(p.busy_milli) * (to - t);
    p.up_integral[b] += static_cast<double>(p.up_milli) * (to - t);
    t = to > t ? to : bin_end;
  }
  p.last_t = now_;
}

void Engine::SampleQueue() {
  const double bin = options_.bin.value();
  while (origin_ + static_cast<double>(queue_samples_ + 1) * bin <= now_) {
    r_.queue_series.push_back(static_cast<double>(policy_->Queued()));
    ++queue_samples_;
  }
}

void Engine::SetFree(int d, std::int32_t free) {
  Domain& dom = domains_[static_cast<std::size_t>(d)];
  Pool& p = pools_[static_cast<std::size_t>(dom.pool)];
  Leaf& leaf = leaves_[static_cast<std::size_t>(dom.leaf)];
  const bool was_full = dom.down == 0 && dom.free_milli == dom.cap_milli;
  if (dom.down == 0 && dom.free_milli > 0) p.by_free.erase({dom.free_milli, d});
  dom.free_milli = free;
  if (dom.down == 0 && dom.free_milli > 0) p.by_free.insert({dom.free_milli, d});
  const bool is_full = dom.down == 0 && dom.free_milli == dom.cap_milli;
  if (was_full != is_full) {
    const auto count = static_cast<int>(leaf.free_domains.size());
    if (count > 0) p.leaves_by_free.erase({count, dom.leaf});
    if (is_full) {
      leaf.free_domains.insert(d);
      ++p.free_domains;
    } else {
      leaf.free_domains.erase(d);
      --p.free_domains;
    }
    const auto now_count = static_cast<int>(leaf.free_domains.size());
    if (now_count > 0) p.leaves_by_free.insert({now_count, dom.leaf});
  }
}

void Engine::Take(int d, std::int32_t milli, JobId id) {
  Domain& dom = domains_[static_cast<std::size_t>(d)];
  Pool& p = pools_[static_cast<std::size_t>(dom.pool)];
  Integrate(p);
  SetFree(d, dom.free_milli - milli);
  dom.jobs.emplace_back(id, milli);
  p.free_milli -= milli;
  p.busy_milli += milli;
  free_milli_ -= milli;
  sites_[static_cast<std::size_t>(p.site)].it_w += PowerDelta(dom.pool, milli);
}

void Engine::Give(int d, std::int32_t milli, JobId id) {
  Domain& dom = domains_[static_cast<std::size_t>(d)];
  Pool& p = pools_[static_cast<std::size_t>(dom.pool)];
  Integrate(p);
  for (std::size_t i = 0; i < dom.jobs.size(); ++i) {
    if (dom.jobs[i].first == id) {
      dom.jobs[i] = dom.jobs.back();
      dom.jobs.pop_back();
      break;
    }
  }
  p.busy_milli -= milli;
  sites_[static_cast<std::size_t>(p.site)].it_w -= PowerDelta(dom.pool, milli);
  if (dom.down == 0) {
    SetFree(d, dom.free_milli + milli);
    p.free_milli += milli;
    free_milli_ += milli;
  } else {
    dom.free_milli += milli;  // comes back when the domain does
  }
}

bool Engine::PlaceInPool(const FleetJob& job, int pi,
                         std::vector<std::pair<int, std::int32_t>>* out, int* leaves_used) {
  Pool& p = pools_[static_cast<std::size_t>(pi)];
  const std::int64_t need = job.Milli();
  if (need > p.free_milli) return false;
  const Site& site = sites_[static_cast<std::size_t>(p.site)];
  if (site.it_w + PowerDelta(pi, need) > site.cap_it_w * (1 + 1e-12)) return false;
  const int per_domain = p.spec.gpus_per_domain;
  out->clear();
  if (job.gpus <= per_domain) {
    // Best fit: the domain with the least free capacity that holds the whole job.
    auto it = p.by_free.lower_bound({static_cast<std::int32_t>(need), -1});
    if (it == p.by_free.end()) return false;
    out->emplace_back(it->second, static_cast<std::int32_t>(need));
    *leaves_used = 1;
    return true;
  }
  // Whole domains, then the remainder best fit in one more.
  const int full = job.gpus / per_domain;
  const auto rem = static_cast<std::int32_t>((job.gpus % per_domain) * job.gpu_milli);
  const auto full_milli = static_cast<std::int32_t>(per_domain * job.gpu_milli);
  if (p.free_domains < full) return false;
  auto leaf_it = p.leaves_by_free.lower_bound({full, -1});
  std::vector<int> chosen;
  chosen.reserve(static_cast<std::size_t>(full));
  if (leaf_it != p.leaves_by_free.end()) {
    const Leaf& leaf = leaves_[static_cast<std::size_t>(leaf_it->second)];
    for (int d : leaf.free_domains) {
      if (static_cast<int>(chosen.size()) == full) break;
      chosen.push_back(d);
    }
    *leaves_used = 1;
  } else {
    *leaves_used = 0;
    for (auto it = p.leaves_by_free.rbegin(); it != p.leaves_by_free.rend(); ++it) {
      const Leaf& leaf = leaves_[static_cast<std::size_t>(it->second)];
      ++*leaves_used;
      for (int d : leaf.free_domains) {
        if (static_cast<int>(chosen.size()) == full) break;
        chosen.push_back(d);
      }
      if (static_cast<int>(chosen.size()) == full) break;
    }
  }
  for (int d : chosen) out->emplace_back(d, full_milli);
  if (rem > 0) {
    // Prefer a partly used domain of the same leaf; else the best fit in the pool.
    const int leaf0 = domains_[static_cast<std::size_t>(chosen.front())].leaf;
    int pick = -1;
    for (auto it = p.by_free.lower_bound({rem, -1}); it != p.by_free.end(); ++it) {
      if (std::find(chosen.begin(), chosen.end(), it->second) != chosen.end()) continue;
      if (pick < 0) pick = it->second;
      if (domains_[static_cast<std::size_t>(it->second)].leaf == leaf0) {
        pick = it->second;
        break;
      }
      if (it->first == domains_[static_cast<std::size_t>(it->second)].cap_milli) break;
    }
    if (pick < 0) return false;
    if (domains_[static_cast<std::size_t>(pick)].leaf != leaf0 && *leaves_used == 1)
      *leaves_used = 2;
    out->emplace_back(pick, rem);
  }
  return true;
}

bool Engine::PlaceAcrossSites(const FleetJob& job, std::vector<std::pair<int, std::int32_t>>* out) {
  // Whole free domains from the pools of the allowed types, sites with the most free domains
  // first, every site linked to the first one used. GPUs per domain must agree.
  std::vector<int> order;
  for (std::size_t pi = 0; pi < pools_.size(); ++pi)
    if (TypeAllowed(job.gpu_type, pools_[pi].spec.gpu_type)) order.push_back(static_cast<int>(pi));
  std::stable_sort(order.begin(), order.end(), [this](int a, int b) {
    return pools_[static_cast<std::size_t>(a)].free_domains >
           pools_[static_cast<std::size_t>(b)].free_domains;
  });
  out->clear();
  int gpus_left = job.gpus;
  int first_site = -1;
  for (int pi : order) {
    const Pool& p = pools_[static_cast<std::size_t>(pi)];
    if (p.free_domains == 0) continue;
    if (first_site >= 0 &&
        !linked_[static_cast<std::size_t>(first_site)][static_cast<std::size_t>(p.site)])
      continue;
    const Site& site = sites_[static_cast<std::size_t>(p.site)];
    double headroom = site.cap_it_w - site.it_w;
    const std::int32_t per = p.spec.gpus_per_domain * job.gpu_milli;
    for (auto it = p.leaves_by_free.rbegin(); it != p.leaves_by_free.rend() && gpus_left > 0;
         ++it) {
      for (int d : leaves_[static_cast<std::size_t>(it->second)].free_domains) {
        if (gpus_left <= 0) break;
        const int take = std::min(gpus_left, p.spec.gpus_per_domain);
        const auto milli = static_cast<std::int32_t>(take * job.gpu_milli);
        if (PowerDelta(pi, milli) > headroom) break;
        headroom -= PowerDelta(pi, milli);
        out->emplace_back(d, take == p.spec.gpus_per_domain ? per : milli);
        gpus_left -= take;
      }
    }
    if (first_site < 0 && !out->empty()) first_site = p.site;
    if (gpus_left <= 0) return true;
  }
  return false;
}

bool Engine::TryStart(JobId id) {
  const FleetJob& job = Job(id);
  JobState& s = state_[static_cast<std::size_t>(id)];
  if (s.status != JobStatus::kQueued || job.Milli() > free_milli_) return false;
  std::vector<std::pair<int, std::int32_t>> best, cand;
  const bool cpu_only = job.gpus == 0;  // holds no GPU: runs at once, placed nowhere
  int best_leaves = std::numeric_limits<int>::max();
  std::int32_t best_left = std::numeric_limits<std::int32_t>::max();
  for (std::size_t pi = 0; pi < pools_.size() && !cpu_only; ++pi) {
    if (!TypeAllowed(job.gpu_type, pools_[pi].spec.gpu_type)) continue;
    int leaves = 0;
    if (!PlaceInPool(job, static_cast<int>(pi), &cand, &leaves)) continue;
    // Fewest leaves, then the tightest fit of a small job; ties to the first pool.
    const std::int32_t left =
        job.gpus <= pools_[pi].spec.gpus_per_domain
            ? domains_[static_cast<std::size_t>(cand.front().first)].free_milli -
                  cand.front().second
            : 0;
    if (leaves < best_leaves || (leaves == best_leaves && left < best_left)) {
      best.swap(cand);
      best_leaves = leaves;
      best_left = left;
      if (leaves == 1 && left == 0) break;
    }
  }
  bool cross_site = false;
  if (best.empty() && !cpu_only) {
    if (!job.multi_site || !PlaceAcrossSites(job, &best)) return false;
    cross_site = true;
  }
  Tick();
  for (const auto& [d, milli] : best) Take(d, milli, id);
  s.placement = std::move(best);
  s.status = JobStatus::kRunning;
  s.run_start = now_;
  s.run_restart = s.pay_restart ? s.restart : 0;
  s.slow = cross_site ? std::max(1.0, job.cross_site_slowdown) : 1.0;
  const double wall = s.remaining * s.slow;
  const double checkpoints = s.tau > 0 ? std::max(0.0, std::ceil(wall / s.tau) - 1) : 0;
  const double finish = now_ + s.run_restart + wall + checkpoints * s.delta;
  const double work = job.work.value();
  s.expected_end = job.estimate.value() > 0 && work > 0
                       ? now_ + job.estimate.value() * s.remaining / work
                       : finish;
  if (s.first_start < 0) s.first_start = now_;
  std::set<int> leaves;
  for (const auto& pl : s.placement)
    leaves.insert(domains_[static_cast<std::size_t>(pl.first)].leaf);
  s.single_domain = s.placement.size() <= 1;
  s.single_leaf = leaves.size() == 1;
  s.cross_site = cross_site;
  if (!s.single_domain) {
    ++r_.multi_domain_jobs;
    if (s.single_leaf) ++r_.single_leaf_jobs;
  }
  if (cross_site) ++r_.cross_site_jobs;
  running_.insert({s.expected_end, id});
  s.finish = sim_.Schedule(At(finish), [this, id] { Finish(id); });
  policy_->OnStarted(id, *this);
  return true;
}

void Engine::Finish(JobId id) {
  Tick();
  JobState& s = state_[static_cast<std::size_t>(id)];
  const FleetJob& job = Job(id);
  const double gpus = static_cast<double>(job.Milli()) / 1000.0;
  const double wall = s.remaining * s.slow;
  const double checkpoints = s.tau > 0 ? std::max(0.0, std::ceil(wall / s.tau) - 1) : 0;
  r_.goodput_gpu_hours += gpus * s.remaining / 3600.0;
  r_.wan_slowdown_gpu_hours += gpus * (wall - s.remaining) / 3600.0;
  s.good_gpu_seconds += gpus * s.remaining;
  r_.checkpoint_gpu_hours += gpus * checkpoints * s.delta / 3600.0;
  r_.lost_gpu_hours += gpus * s.run_restart / 3600.0;
  s.lost_gpu_seconds += gpus * s.run_restart;
  r_.busy_gpu_hours += gpus * (now_ - s.run_start) / 3600.0;
  s.attained_before += gpus * (now_ - s.run_start);
  s.remaining = 0;
  running_.erase({s.expected_end, id});
  for (const auto& [d, milli] : s.placement) Give(d, milli, id);
  s.placement.clear();
  s.placement.shrink_to_fit();
  s.status = JobStatus::kDone;
  s.end = now_;
  --outstanding_;
  policy_->OnStopped(id, *this);
  RequestPass();
}

void Engine::Interrupt(JobId id, const std::string& cause, Stop why) {
  JobState& s = state_[static_cast<std::size_t>(id)];
  if (s.status != JobStatus::kRunning) return;
  const FleetJob& job = Job(id);
  const double gpus = static_cast<double>(job.Milli()) / 1000.0;
  const double elapsed = now_ - s.run_start;
  double saved = 0, lost = std::min(elapsed, s.run_restart), ckpt = 0;
  const double compute = elapsed - s.run_restart;  // after the restart
  if (compute > 0) {
    const double segment = s.tau + s.delta;
    const double k = s.tau > 0 ? std::floor(compute / segment) : 0;
    const double tau = s.tau > 0 ? s.tau : compute;  // without checkpoints: one open segment
    const double in_segment = compute - k * segment;
    ckpt = k * s.delta;
    if (why == Stop::kPreempted || (why == Stop::kPlanned && s.tau > 0)) {
      // Saved on the way out: every second of compute counts (a write in progress is overhead).
      saved = k * s.tau + std::min(in_segment, tau);
      ckpt += std::max(0.0, in_segment - tau);
    } else {
      saved = k * s.tau;
      lost += in_segment;
    }
    saved = std::min(saved, s.remaining * s.slow);  // compute time; work is saved / slow
  }
  const double saved_work = saved / s.slow;
  s.remaining = std::max(0.0, s.remaining - saved_work);
  r_.goodput_gpu_hours += gpus * saved_work / 3600.0;
  r_.wan_slowdown_gpu_hours += gpus * (saved - saved_work) / 3600.0;
  s.good_gpu_seconds += gpus * saved_work;
  r_.checkpoint_gpu_hours += gpus * ckpt / 3600.0;
  r_.lost_gpu_hours += gpus * lost / 3600.0;
  r_.busy_gpu_hours += gpus * elapsed / 3600.0;
  s.lost_gpu_seconds += gpus * lost;
  s.attained_before += gpus * elapsed;
  ++s.interruptions;
  ++r_.interruptions_by_cause[cause];
  sim_.Cancel(s.finish);
  running_.erase({s.expected_end, id});
  for (const auto& [d, milli] : s.placement) Give(d, milli, id);
  s.placement.clear();
  s.pay_restart = true;
  s.status = JobStatus::kQueued;
  policy_->OnStopped(id, *this);
  policy_->OnQueued(id, /*requeued=*/true, *this);
  RequestPass();
}

void Engine::DomainDown(int d) {
  Domain& dom = domains_[static_cast<std::size_t>(d)];
  Pool& p = pools_[static_cast<std::size_t>(dom.pool)];
  if (dom.down > 0) {
    ++dom.down;
    return;
  }
  Integrate(p);
  const std::int32_t free = dom.free_milli;
  // Out of the free sets as if fully used, then marked out; its free capacity is kept.
  SetFree(d, 0);
  dom.free_milli = free;
  dom.down = 1;
  p.free_milli -= free;
  free_milli_ -= free;
  p.up_milli -= dom.cap_milli;
  sites_[static_cast<std::size_t>(p.site)].it_w -= dom.cap_milli / 1000.0 * p.spec.gpu_idle_w;
}

void Engine::DomainUp(int d) {
  Tick();
  Domain& dom = domains_[static_cast<std::size_t>(d)];
  Pool& p = pools_[static_cast<std::size_t>(dom.pool)];
  if (dom.down > 1) {
    --dom.down;
    return;
  }
  Integrate(p);
  const std::int32_t free = dom.free_milli;
  dom.free_milli = 0;  // up with nothing free: in no free set, as SetFree expects
  dom.down = 0;
  SetFree(d, free);
  p.free_milli += free;
  free_milli_ += free;
  p.up_milli += dom.cap_milli;
  sites_[static_cast<std::size_t>(p.site)].it_w += dom.cap_milli / 1000.0 * p.spec.gpu_idle_w;
  RequestPass();
}

void Engine::Failure() {
  Tick();
  if (Done()) return;
  ++r_.failures;
  const double u = rng_.Uniform() * failure_cumulative_.back();
  const auto c = static_cast<std::size_t>(
      std::upper_bound(failure_cumulative_.begin(), failure_cumulative_.end(), u) -
      failure_cumulative_.begin());
  const FailureComponent& f = spec_.failures[std::min(c, spec_.failures.size() - 1)];
  const auto gpu = static_cast<std::int64_t>(rng_.Below(static_cast<std::uint64_t>(total_gpus_)));
  const auto pit = std::upper_bound(pools_.begin(), pools_.end(), gpu,
                                    [](std::int64_t g, const Pool& p) { return g < p.first_gpu; });
  const Pool& p = *(pit - 1);
  const std::int64_t local = gpu - p.first_gpu;
  const int d = p.first_domain + static_cast<int>(local / p.spec.gpus_per_domain);
  const auto slot = static_cast<std::int32_t>(local % p.spec.gpus_per_domain);
  const std::int32_t u_milli = slot * 1000 + static_cast<std::int32_t>(rng_.Below(1000));
  Domain& dom = domains_[static_cast<std::size_t>(d)];
  if (dom.down == 0) {
    std::vector<JobId> hit;
    if (f.scope == FailureScope::kDomain) {
      for (const auto& [id, milli] : dom.jobs) hit.push_back(id);
      std::sort(hit.begin(), hit.end());
    } else {
      std::int32_t cum = 0;
      for (const auto& [id, milli] : dom.jobs) {
        cum += milli;
        if (u_milli < cum) {
          hit.push_back(id);
          break;
        }
      }
    }
    for (JobId id : hit) Interrupt(id, f.name, Stop::kFailure);
    if (f.scope != FailureScope::kSoftware && f.repair.value() > 0) {
      DomainDown(d);
      sim_.Schedule(At(now_ + f.repair.value()), [this, d] { DomainUp(d); });
    }
  }
  sim_.ScheduleAfter(des::SimTime::FromSeconds(Seconds(rng_.Exponential(1 / failure_rate_))),
                     [this] { Failure(); });
}

void Engine::Maintenance(int pi) {
  Tick();
  if (Done()) return;
  Pool& p = pools_[static_cast<std::size_t>(pi)];
  const int leaf = p.first_leaf + p.next_maintenance_leaf;
  p.next_maintenance_leaf = (p.next_maintenance_leaf + 1) % p.leaves;
  const int first = p.first_domain + (leaf - p.first_leaf) * p.spec.domains_per_leaf;
  const int last = std::min(first + p.spec.domains_per_leaf, p.first_domain + p.domains);
  std::vector<JobId> hit;
  for (int d = first; d < last; ++d)
    for (const auto& [id, milli] : domains_[static_cast<std::size_t>(d)].jobs) hit.push_back(id);
  std::sort(hit.begin(), hit.end());
  hit.erase(std::unique(hit.begin(), hit.end()), hit.end());
  for (JobId id : hit) Interrupt(id, "planned maintenance", Stop::kPlanned);
  for (int d = first; d < last; ++d) {
    DomainDown(d);
    sim_.Schedule(At(now_ + spec_.maintenance.duration.value()), [this, d] { DomainUp(d); });
  }
  sim_.Schedule(At(now_ + spec_.maintenance.interval.value()), [this, pi] { Maintenance(pi); });
}

void Engine::RequestPass() {
  if (pass_pending_) return;
  pass_pending_ = true;
  sim_.ScheduleAfter(des::SimTime::Zero(), [this] { Pass(); });
}

void Engine::Pass() {
  Tick();
  pass_pending_ = false;
  SampleQueue();
  policy_->Schedule(*this);
}

void Engine::Arrivals() {
  Tick();
  while (next_arrival_ < arrival_order_.size()) {
    const JobId id = arrival_order_[next_arrival_];
    if (At(Job(id).release.value()) > sim_.Now()) break;
    state_[static_cast<std::size_t>(id)].status = JobStatus::kQueued;
    policy_->OnQueued(id, /*requeued=*/false, *this);
    ++next_arrival_;
  }
  RequestPass();
  if (next_arrival_ < arrival_order_.size()) {
    sim_.Schedule(At(Job(arrival_order_[next_arrival_]).release.value()), [this] { Arrivals(); });
  }
}

FleetResult Engine::Run() {
  r_.scheduler = std::string(policy_->Name());
  r_.seed = options_.seed;
  r_.total_gpus = static_cast<int>(total_gpus_);
  r_.jobs = static_cast<std::int64_t>(jobs_.size());
  r_.bin_seconds = options_.bin.value();
  r_.first_submit = origin_;
  if (!arrival_order_.empty()) sim_.Schedule(At(origin_), [this] { Arrivals(); });
  if (options_.failures && failure_rate_ > 0 && !arrival_order_.empty()) {
    sim_.ScheduleAfter(des::SimTime::FromSeconds(Seconds(rng_.Exponential(1 / failure_rate_))),
                       [this] { Failure(); });
  }
  if (options_.failures && spec_.maintenance.interval.value() > 0 && !arrival_order_.empty()) {
    for (std::size_t pi = 0; pi < pools_.size(); ++pi) {
      // Pools staggered across the interval.
      const double phase = spec_.maintenance.interval.value() * (static_cast<double>(pi) + 0.5) /
                           static_cast<double>(pools_.size());
      const int p = static_cast<int>(pi);
      sim_.Schedule(At(origin_ + phase), [this, p] { Maintenance(p); });
    }
  }
  if (options_.horizon.value() > 0) {
    sim_.Run(At(origin_ + options_.horizon.value()));
  } else {
    sim_.Run();
  }
  Tick();
  r_.events = sim_.events_run();

  // Jobs still running at the horizon: their compute so far counts as useful (as if saved now),
  // the rest of the run as checkpoint writes and restart.
  double end = origin_;
  for (std::size_t i = 0; i < state_.size(); ++i) {
    JobState& s = state_[i];
    if (s.status == JobStatus::kRunning) {
      const double gpus = static_cast<double>(jobs_[i].Milli()) / 1000.0;
      const double elapsed = now_ - s.run_start;
      const double compute = std::max(0.0, elapsed - s.run_restart);
      double done = compute, ckpt = 0;
      if (s.tau > 0) {
        const double k = std::floor(compute / (s.tau + s.delta));
        const double in_segment = compute - k * (s.tau + s.delta);
        done = k * s.tau + std::min(in_segment, s.tau);
        ckpt = compute - done;
      }
      r_.busy_gpu_hours += gpus * elapsed / 3600.0;
      r_.goodput_gpu_hours += gpus * done / s.slow / 3600.0;
      r_.wan_slowdown_gpu_hours += gpus * (done - done / s.slow) / 3600.0;
      s.good_gpu_seconds += gpus * done / s.slow;
      r_.checkpoint_gpu_hours += gpus * ckpt / 3600.0;
      r_.lost_gpu_hours += gpus * std::min(elapsed, s.run_restart) / 3600.0;
    }
    if (s.end > end) end = s.end;
  }
  r_.end_time = options_.horizon.value() > 0 ? now_ : end;
  now_ = r_.end_time;
  for (Pool& p : pools_) Integrate(p);
  SampleQueue();

  std::vector<double> jct, waits;
  jct.reserve(state_.size());
  waits.reserve(state_.size());
  if (options_.keep_jobs) r_.jobs_out.reserve(state_.size());
  for (std::size_t i = 0; i < state_.size(); ++i) {
    const JobState& s = state_[i];
    const FleetJob& j = jobs_[i];
    if (s.status == JobStatus::kDone) {
      ++r_.jobs_finished;
      jct.push_back(s.end - OnClock(j.submit.value()));
    }
    if (s.first_start >= 0) {
      waits.push_back(std::max(0.0, s.first_start - OnClock(j.submit.value())));
    } else if (s.status != JobStatus::kRefused) {
      ++r_.jobs_never_started;
    }
    if (options_.keep_jobs) {
      JobOutcome o;
      o.id = j.id;
      o.gpus = j.gpus;
      o.submit = j.submit.value();
      o.first_start = s.first_start;
      o.end = s.end;
      o.interruptions = s.interruptions;
      o.lost_gpu_seconds = s.lost_gpu_seconds;
      o.goodput_gpu_seconds = s.good_gpu_seconds;
      o.single_domain = s.single_domain;
      o.single_leaf = s.single_leaf;
      o.cross_site = s.cross_site;
      r_.jobs_out.push_back(std::move(o));
    }
  }
  r_.completion_time = Distribute(std::move(jct));
  std::sort(waits.begin(), waits.end());
  r_.queueing_delays = waits;
  r_.queueing_delay = Distribute(std::move(waits));

  // Series: fleet utilization, per-site utilization and facility power.
  const double bin = options_.bin.value();
  std::size_t bins = 0;
  for (const Pool& p : pools_) bins = std::max(bins, p.busy_integral.size());
  r_.utilization_series.assign(bins, 0.0);
  r_.sites.resize(spec_.sites.size());
  for (std::size_t s = 0; s < spec_.sites.size(); ++s) {
    r_.sites[s].name = spec_.sites[s].name;
    r_.sites[s].power_w.assign(bins, 0.0);
    r_.sites[s].utilization.assign(bins, 0.0);
  }
  std::vector<double> site_gpus(spec_.sites.size(), 0.0);
  for (const Pool& p : pools_) site_gpus[static_cast<std::size_t>(p.site)] += p.spec.gpus;
  double down_milli_seconds = 0;
  for (std::size_t b = 0; b < bins; ++b) {
    const double lo = origin_ + static_cast<double>(b) * bin;
    const double width = std::max(1e-9, std::min(lo + bin, r_.end_time) - lo);
    for (const Pool& p : pools_) {
      const double busy = b < p.busy_integral.size() ? p.busy_integral[b] / 1000.0 / width : 0;
      const double up = b < p.up_integral.size() ? p.up_integral[b] / 1000.0 / width : 0;
      down_milli_seconds += (static_cast<double>(p.spec.gpus) - up) * width;
      SiteSeries& ss = r_.sites[static_cast<std::size_t>(p.site)];
      ss.utilization[b] += busy / site_gpus[static_cast<std::size_t>(p.site)];
      ss.power_w[b] += spec_.sites[static_cast<std::size_t>(p.site)].pue *
                       (busy * p.spec.gpu_busy_w + std::max(0.0, up - busy) * p.spec.gpu_idle_w);
      r_.utilization_series[b] += busy / static_cast<double>(total_gpus_);
    }
  }
  r_.down_gpu_hours = down_milli_seconds / 3600.0;
  const double span = r_.end_time - r_.first_submit;
  r_.utilization =
      span > 0 ? r_.busy_gpu_hours * 3600.0 / (static_cast<double>(total_gpus_) * span) : 0;
  return std::move(r_);
}

}  // namespace

Result<FleetResult> RunFleet(const FleetSpec& spec, const std::vector<FleetJob>& jobs,
                             const FleetOptions& options) {
  if (!(options.bin.value() > 0)) return InvalidArgument("fleet: time bin must be positive");
  PolicyOptions po;
  po.las_threshold_gpu_seconds = options.las_threshold_gpu_seconds;
  AIF_ASSIGN_OR_RETURN(std::unique_ptr<SchedulerPolicy> policy, MakePolicy(options.scheduler, po));
  Engine engine(spec, jobs, options, std::move(policy));
  AIF_RETURN_IF_ERROR(engine.Build());
  return engine.Run();
}

}  // namespace aif::fleet
