// The trace readers on the real public traces in ../shared/traces: every statistic that
// compute_stats.py prints for the GPU-cluster traces is recomputed here and its printed line
// rebuilt with the same format, then looked up in stats_output.txt (so "equal" means equal as
// printed). Bad rows are checked on small CSVs written in the tests.
#include "aifactory/config/traces.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "aifactory/core/file.h"
#include "aifactory/fleet/replay.h"
#include "aifactory/fleet/trace_stats.h"
#include "aifactory_test/text.h"

namespace aif::config {
namespace {

using ::aif::testing::HasText;
using fleet::JobRecord;
using fleet::Summary;
using fleet::Trace;

const std::string kTraces = std::string(AIF_SHARED_DIR) + "/traces";

const std::string& StatsOutput() {
  static const std::string text = [] {
    auto t = ReadFileBounded(kTraces + "/stats_output.txt", 1 << 20);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : std::string();
  }();
  return text;
}

// Python's "%.6g".
std::string G(double v) { return fmt::format("{:.6g}", v); }
// Python's str() of a number read as int (integral) or as float.
std::string PyStr(double v, bool is_float) {
  if (!is_float) return fmt::format("{}", static_cast<long long>(v));
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}
// compute_stats.py's summ() line.
std::string SummLine(const std::string& name, const Summary& s, bool is_float = false) {
  return fmt::format(
      "  {:<28} n={} min={} p10={} p25={} median={} mean={} p75={} p90={} p95={} p99={} max={} "
      "std={}",
      name, s.n, PyStr(s.min, is_float), G(s.p10), G(s.p25), G(s.p50), G(s.mean), G(s.p75),
      G(s.p90), G(s.p95), G(s.p99), PyStr(s.max, is_float), G(s.std));
}
// A Python dict of int keys, e.g. "{1: 436, 2: 226}".
template <typename Map>
std::string IntDict(const Map& m) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : m) parts.push_back(fmt::format("{}: {}", k, v));
  return "{" + fmt::format("{}", fmt::join(parts, ", ")) + "}";
}
// A Python dict of string keys in the given order, e.g. "{'LS': 4647, 'BE': 3398}".
std::string StrDict(const fleet::CountList& counts) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : counts) parts.push_back(fmt::format("'{}': {}", k, v));
  return "{" + fmt::format("{}", fmt::join(parts, ", ")) + "}";
}

void ExpectPrinted(const std::string& line) { EXPECT_TRUE(HasText(StatsOutput(), line + "\n")); }

Trace Where(const Trace& t, const std::function<bool(const JobRecord&)>& keep) {
  Trace out = t;
  out.jobs.clear();
  for (const JobRecord& j : t.jobs) {
    if (keep(j)) out.jobs.push_back(j);
  }
  return out;
}

std::vector<double> Values(const Trace& t,
                           const std::function<std::optional<double>(const JobRecord&)>& value) {
  std::vector<double> v;
  for (const JobRecord& j : t.jobs) {
    if (auto x = value(j)) v.push_back(*x);
  }
  return v;
}

const std::string kOpenb = kTraces + "/alibaba_gpu_v2023";

// ---------------------------------------------------------------- Alibaba openb

TEST(TraceOpenb, NodeListsReproduceTheReadme) {
  for (const char* name : {"openb_node_list_all_node.csv", "openb_node_list_gpu_node.csv"}) {
    auto nodes = ReadOpenbNodeList(kOpenb + "/" + name);
    ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
    std::map<int, int> per_node;
    int with_gpus = 0;
    fleet::CountList by_model;  // GPUs per model, "(empty)" for CPU-only nodes, most_common order
    std::int64_t cpu_milli = 0, memory_mib = 0;
    for (const auto& n : nodes->nodes) {
      ++per_node[n.gpus];
      with_gpus += n.gpus > 0;
      cpu_milli += n.cpu_milli;
      memory_mib += n.memory_mib;
      const std::string model = n.gpu_model.empty() ? "(empty)" : n.gpu_model;
      auto it = std::find_if(by_model.begin(), by_model.end(),
                             [&](const auto& e) { return e.first == model; });
      if (it == by_model.end()) {
        by_model.emplace_back(model, n.gpus);
      } else {
        it->second += n.gpus;
      }
    }
    std::stable_sort(by_model.begin(), by_model.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    ExpectPrinted(fmt::format("  total GPUs: {} ; nodes with gpu>0: {} ; gpu-per-node dist: {}",
                              nodes->TotalGpus(), with_gpus, IntDict(per_node)));
    ExpectPrinted(fmt::format("  GPUs by model: {}", StrDict(by_model)));
    ExpectPrinted(fmt::format("  total cpu cores: {:.1f} ; total mem GiB: {:.1f}",
                              cpu_milli / 1000.0, memory_mib / 1024.0));
    EXPECT_TRUE(
        HasText(StatsOutput(), fmt::format("== openb {} rows: {} ", name, nodes->nodes.size())));
    EXPECT_EQ(nodes->TotalGpus(), 6212);  // README: 6,212 GPUs in both lists
  }
}

TEST(TraceOpenb, EveryPodListReadsWithItsRowCount) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kOpenb)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("openb_pod_list_", 0) == 0) files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 24u);
  for (const std::string& name : files) {
    auto trace = ReadOpenbTrace(kOpenb + "/" + name, kOpenb + "/openb_node_list_all_node.csv");
    ASSERT_TRUE(trace.ok()) << trace.status().ToString();
    EXPECT_TRUE(trace->skipped.empty()) << name << ": " << trace->skipped.front().message;
    ExpectPrinted(fmt::format("  {} rows={}", name, trace->jobs.size()));
    EXPECT_EQ(trace->cluster_gpus, 6212);
    EXPECT_EQ(trace->records_start_times, name.find("multigpu") == std::string::npos) << name;
  }
}

TEST(TraceOpenb, DefaultPodListReproducesEveryStatistic) {
  auto read = ReadOpenbTrace(kOpenb + "/openb_pod_list_default.csv",
                             kOpenb + "/openb_node_list_all_node.csv");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const Trace& t = *read;
  const fleet::TraceStats st = fleet::ComputeTraceStats(t);
  EXPECT_EQ(st.jobs, 8152);
  ExpectPrinted(fmt::format("  num_gpu dist: {}", IntDict(st.gpus_per_job)));
  ExpectPrinted(fmt::format("  GPU pods (num_gpu>0): {} ({:.4f}) ; CPU-only pods: {}", st.gpu_jobs,
                            static_cast<double>(st.gpu_jobs) / static_cast<double>(st.jobs),
                            st.jobs - st.gpu_jobs));
  const Trace sharing =
      Where(t, [](const JobRecord& j) { return j.gpus == 1 && j.gpu_milli < 1000; });
  ExpectPrinted(
      fmt::format("  GPU-sharing pods (num_gpu==1 and gpu_milli<1000): {}", sharing.jobs.size()));
  ExpectPrinted(SummLine(
      "gpu_milli (sharing pods)",
      fleet::Summarize(Values(sharing, [](const JobRecord& j) { return double(j.gpu_milli); }))));
  fleet::CountList qos;
  for (const JobRecord& j : t.jobs) {
    auto it = std::find_if(qos.begin(), qos.end(), [&](const auto& e) { return e.first == j.qos; });
    if (it == qos.end()) {
      qos.emplace_back(j.qos, 1);
    } else {
      ++it->second;
    }
  }
  std::stable_sort(qos.begin(), qos.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  ExpectPrinted(fmt::format("  qos: {}", StrDict(qos)));
  ExpectPrinted(fmt::format("  pod_phase: {}", StrDict(st.status_counts)));
  ExpectPrinted(fmt::format("  gpu_spec non-empty: {} ; values: {{}}",
                            std::count_if(t.jobs.begin(), t.jobs.end(),
                                          [](const JobRecord& j) { return !j.gpu_type.empty(); })));
  ExpectPrinted(
      fmt::format("  creation_time min={:.0f} max={:.0f} span={:.3f} days ; deletion_time "
                  "max={:.0f} ; sorted by creation={}",
                  *st.first_submit, *st.last_submit, *st.span / 86400, *st.last_end,
                  st.submit_sorted ? "True" : "False"));
  ExpectPrinted(fmt::format("  empty scheduled_time: {}", st.jobs_without_start));
  ASSERT_TRUE(st.lifetime && st.runtime && st.wait);
  ExpectPrinted(SummLine("deletion-creation (s) all", *st.lifetime));
  ExpectPrinted(SummLine("deletion-scheduled (s)", *st.runtime));
  ExpectPrinted(SummLine("scheduled-creation (s)", *st.wait));
  ExpectPrinted(fmt::format("  pods with scheduled_time>creation_time: {}", st.jobs_waited));
  for (const char* phase : {"Succeeded", "Running", "Failed", "Pending"}) {
    const fleet::TraceStats by_phase =
        fleet::ComputeTraceStats(Where(t, [&](const JobRecord& j) { return j.status == phase; }));
    ExpectPrinted(SummLine(fmt::format("del-cre (s) phase={}", phase), *by_phase.lifetime));
  }
  const fleet::TraceStats gpu_pods =
      fleet::ComputeTraceStats(Where(t, [](const JobRecord& j) { return j.gpus > 0; }));
  ExpectPrinted(SummLine("del-cre (s) num_gpu>0", *gpu_pods.lifetime));
  ExpectPrinted(
      fmt::format("  total requested GPUs (sum num_gpu*gpu_milli/1000): {:.2f} ; sum num_gpu: {}",
                  st.total_gpu_share, st.total_gpus));
  ExpectPrinted(SummLine("cpu_milli", fleet::Summarize(Values(t, [](const JobRecord& j) {
                           return double(j.cpu_milli);
                         }))));
  ExpectPrinted(SummLine("memory_mib", fleet::Summarize(Values(t, [](const JobRecord& j) {
                           return double(j.memory_mib);
                         }))));
  ExpectPrinted(fmt::format("  mean arrival rate: {:.4f} pods/hour", *st.arrival_rate_per_hour));

  // The README's headline figures, as it rounds them.
  EXPECT_EQ(st.runtime->n, 7255);
  EXPECT_EQ(st.runtime->median(), 616);
  EXPECT_EQ(fmt::format("{:.1f}", st.runtime->mean), "28949.5");
  EXPECT_EQ(fmt::format("{:.1f}", st.runtime->p90), "7763.6");
  EXPECT_EQ(st.lifetime->median(), 540);
  EXPECT_EQ(fmt::format("{:.1f}", st.lifetime->mean), "25839.4");
  EXPECT_EQ(st.total_gpus, 7433);
}

TEST(TraceOpenb, ReplayOnItsOwnCluster) {
  auto t = ReadOpenbTrace(kOpenb + "/openb_pod_list_default.csv",
                          kOpenb + "/openb_node_list_all_node.csv");
  ASSERT_TRUE(t.ok());
  auto r = fleet::ReplayTrace(*t, *t->cluster_gpus);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // 7,255 scheduled pods, of which the GPU pods hold GPUs; 897 pending pods never ran.
  EXPECT_EQ(r->jobs_never_started, 897);
  EXPECT_EQ(r->jobs_replayed + r->jobs_without_gpus + r->zero_length_jobs, 7255);
  EXPECT_TRUE(r->WithinCapacity());
  EXPECT_EQ(r->window_begin.value(), 0);
  EXPECT_EQ(r->window_end.value(), 12902960);
  // Pinned from this replay (an independent sweep in Python gives the same): the trace's own
  // timestamps never hold more than ~1% of the 6,212 GPUs.
  EXPECT_DOUBLE_EQ(r->peak_busy_gpus, 65.59);
  EXPECT_EQ(r->peak_whole_gpus, 71);
  EXPECT_NEAR(r->mean_utilization, 0.0023117537, 1e-9);
  // Determinism: the same input gives the same series.
  auto again = fleet::ReplayTrace(*t, *t->cluster_gpus);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(r->series.size(), again->series.size());
  for (size_t i = 0; i < r->series.size(); ++i) {
    ASSERT_EQ(r->series[i].time.value(), again->series[i].time.value());
    ASSERT_EQ(r->series[i].busy_gpus, again->series[i].busy_gpus);
  }
}

// ---------------------------------------------------------------- Philly run times

TEST(TracePhilly, RuntimesReproduceTheReadme) {
  auto t = ReadPhillyRuntimes(kTraces + "/philly_runtime/philly_runtime.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->skipped.empty());
  std::vector<double> v = Values(*t, [](const JobRecord& j) { return j.duration->value(); });
  const auto count = [&](auto pred) { return std::count_if(v.begin(), v.end(), pred); };
  ExpectPrinted(fmt::format("  empty: 0  non-integer values: {}  negative: {}",
                            count([](double x) { return x != std::floor(x); }),
                            count([](double x) { return x < 0; })));
  const fleet::TraceStats st = fleet::ComputeTraceStats(*t);
  ASSERT_TRUE(st.runtime);
  ExpectPrinted(SummLine("runtime (s)", *st.runtime, /*is_float=*/true));
  const double n = static_cast<double>(v.size());
  ExpectPrinted(fmt::format(
      "  runtime==0: {} ; <=60s: {:.4f} ; <=1h: {:.4f} ; <=1day: {:.4f} ; >1 week: {}",
      count([](double x) { return x == 0; }), count([](double x) { return x <= 60; }) / n,
      count([](double x) { return x <= 3600; }) / n, count([](double x) { return x <= 86400; }) / n,
      count([](double x) { return x > 7 * 86400; })));
  ExpectPrinted(
      fmt::format("  sorted ascending: {}", std::is_sorted(v.begin(), v.end()) ? "True" : "False"));
  ExpectPrinted(fmt::format("  sum runtime (s): {:.0f}", fleet::ExactSum(v)));
  EXPECT_EQ(st.jobs, 83154);
  EXPECT_EQ(st.runtime->median(), 1186);
  EXPECT_EQ(fmt::format("{:.1f}", st.runtime->p90), "12859.4");
  // No start times, no GPUs: nothing to replay, and the replay says so.
  auto r = fleet::ReplayTrace(*t, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs_without_time, 83154);
  EXPECT_EQ(r->jobs_replayed, 0);
}

// ---------------------------------------------------------------- Gavel Philly-derived streams

TEST(TraceGavel, PerVcStreamsReproduceTheReadme) {
  const std::string dir = kTraces + "/gavel_philly/seed=0";
  auto specs = ReadGavelClusterSpecs(kTraces + "/gavel_philly/cluster_specs.json");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  EXPECT_EQ(*specs, (std::map<std::string, int>{{"philly", 500}}));
  TraceReadOptions options;
  options.cluster_gpus = specs->at("philly");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 15u);
  for (const std::string& name : files) {
    auto t = ReadGavelTrace(dir + "/" + name, options);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(t->skipped.empty());
    const fleet::TraceStats st = fleet::ComputeTraceStats(*t);
    ExpectPrinted(fmt::format(
        "  {} jobs={} fields={{7: {}}} arrival min={:.0f} max={:.0f} sorted={} scale_factor={}",
        name, st.jobs, st.jobs, *st.first_submit, *st.last_submit,
        st.submit_sorted ? "True" : "False", IntDict(st.gpus_per_job)));
    EXPECT_EQ(t->jobs.front().user, name.substr(0, name.size() - 6));
  }
  auto all = ReadGavelTraceDir(dir, options);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  const fleet::TraceStats st = fleet::ComputeTraceStats(*all);
  ExpectPrinted(
      fmt::format("  ALL jobs={} scale_factor dist={}", st.jobs, IntDict(st.gpus_per_job)));
  ExpectPrinted(fmt::format("  job families: {}", StrDict(st.job_families)));
  ASSERT_TRUE(st.work_steps);
  ExpectPrinted(SummLine("total_steps (all VCs)", *st.work_steps));
  EXPECT_EQ(st.jobs, 15264);
  EXPECT_EQ(st.gpus_per_job.at(1), 10480);
  // Arrivals but no durations: nothing to replay without Gavel's throughput table.
  auto r = fleet::ReplayTrace(*all, 500);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs_without_duration, 15264);
}

// ---------------------------------------------------------------- Helios summaries

TEST(TraceHelios, SummariesReproduceTheReadme) {
  auto days = ReadHeliosGpuNumber(kTraces + "/helios/Earth_gpu_number.csv");
  ASSERT_TRUE(days.ok()) << days.status().ToString();
  ASSERT_EQ(days->days.size(), 181u);
  int lo = days->days.front().total, hi = lo, mismatched = 0;
  for (const auto& d : days->days) {
    lo = std::min(lo, d.total);
    hi = std::max(hi, d.total);
    int sum = 0;
    for (const auto& [vc, gpus] : d.by_vc) sum += gpus;
    mismatched += sum != d.total;
  }
  ExpectPrinted(
      fmt::format("  date range: {} -> {}", days->days.front().date, days->days.back().date));
  ExpectPrinted(fmt::format("  total GPUs per day: min={} max={} first={} last={}", lo, hi,
                            days->days.front().total, days->days.back().total));
  ExpectPrinted(fmt::format("  rows where sum(vc*) != total: {}", mismatched));
  EXPECT_EQ(days->vcs.size(), 25u);

  auto s = ReadHeliosClusterSummary(kTraces + "/helios/helios_cluster_summary.csv");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->clusters.size(), 5u);
  std::vector<std::string> ids;
  std::int64_t jobs = 0;
  int gpus = 0;
  for (size_t i = 0; i < s->clusters.size(); ++i) {
    ids.push_back("'" + s->clusters[i].cluster + "'");
    if (i + 1 < s->clusters.size()) {
      jobs += s->clusters[i].jobs;
      gpus += s->clusters[i].gpus;
    }
  }
  ExpectPrinted(fmt::format("  summary rows: [{}]", fmt::join(ids, ", ")));
  ExpectPrinted(fmt::format("  sum job_num clusters={} total row={} ; sum gpu_num={} total row={}",
                            jobs, s->clusters.back().jobs, gpus, s->clusters.back().gpus));
  // The README's table (values copied from the file).
  const fleet::PublishedClusterSummary& venus = s->clusters[0];
  EXPECT_EQ(venus.cluster, "Venus");
  EXPECT_EQ(venus.gpus, 1022);
  EXPECT_EQ(venus.gpu_jobs, 125303);
  EXPECT_EQ(venus.median_gpu_job_run_time, 204);
  EXPECT_EQ(venus.mean_gpus_per_job, 6.736);
  // Earth's GPU time over the GPU-days of its daily capacity file.
  const fleet::PublishedClusterSummary& earth = s->clusters[1];
  EXPECT_EQ(earth.cluster, "Earth");
  EXPECT_NEAR(fleet::ImpliedUtilization(earth, days->CapacityGpuSeconds()), 0.7332, 5e-5);
}

// ---------------------------------------------------------------- bad rows

constexpr char kPodHeader[] =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_"
    "time,scheduled_time\n";

struct BadRowCase {
  const char* what;
  std::string row;
  std::string message;  // the full expected message
};

TEST(TraceBadRows, OpenbEachKindSkippedOrRefused) {
  const std::vector<BadRowCase> cases = {
      {"missing field", "p1,1000,1024,,1000,,LS,Running,0,10,0",
       "pods.csv:3: column 'num_gpu': missing field"},
      {"short row", "p1,1000,1024,1,1000,,LS,Running,0",
       "pods.csv:3: column 'deletion_time': missing field (row has 9 of 11 fields)"},
      {"long row", "p1,1000,1024,1,1000,,LS,Running,0,10,0,7",
       "pods.csv:3: row has 12 fields, expected 11"},
      {"non-number", "p1,abc,1024,1,1000,,LS,Running,0,10,0",
       "pods.csv:3: column 'cpu_milli': expected an integer, got 'abc'"},
      {"negative duration", "p1,1000,1024,1,1000,,LS,Running,0,10,20",
       "pods.csv:3: column 'deletion_time': negative duration: deleted at 10 before it was "
       "scheduled at 20"},
      {"negative lifetime", "p1,1000,1024,1,1000,,LS,Pending,30,10,",
       "pods.csv:3: column 'deletion_time': negative duration: deleted at 10 before it was created "
       "at 30"},
      {"negative value", "p1,1000,1024,-2,1000,,LS,Running,0,10,0",
       "pods.csv:3: column 'num_gpu': negative value -2"},
      {"more GPUs than the cluster", "p1,1000,1024,16,1000,,LS,Running,0,10,0",
       "pods.csv:3: column 'num_gpu': asks for 16 GPUs, more than the cluster's 8"},
  };
  const std::string good1 = "p0,1000,1024,1,500,,LS,Running,0,10,0\n",
                    good2 = "p2,1000,1024,8,1000,,BE,Failed,5,50,6\n";
  for (const BadRowCase& c : cases) {
    const std::string text = kPodHeader + good1 + c.row + "\n" + good2;
    TraceReadOptions skip;
    skip.cluster_gpus = 8;
    auto t = ParseOpenbPodList(text, "pods.csv", skip);
    ASSERT_TRUE(t.ok()) << c.what << ": " << t.status().ToString();
    EXPECT_EQ(t->jobs.size(), 2u) << c.what;
    ASSERT_EQ(t->skipped.size(), 1u) << c.what;
    EXPECT_EQ(t->skipped[0].message, c.message) << c.what;
    EXPECT_EQ(t->skipped[0].line, 3);
    TraceReadOptions refuse = skip;
    refuse.skip_bad_rows = false;
    auto r = ParseOpenbPodList(text, "pods.csv", refuse);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().message(), c.message) << c.what;
  }
  // Without a cluster size a 16-GPU pod is fine.
  auto t = ParseOpenbPodList(std::string(kPodHeader) + "p1,1000,1024,16,1000,,LS,Running,0,10,0\n",
                             "pods.csv");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->skipped.empty());
  // A missing column fails the file whatever the option.
  auto no_column =
      ParseOpenbPodList("name,cpu_milli,memory_mib,gpu_milli\np,1,1,1000\n", "pods.csv");
  ASSERT_FALSE(no_column.ok());
  EXPECT_TRUE(HasText(no_column.status().message(), "pods.csv:1: missing column 'num_gpu'"));
  auto partial_times = ParseOpenbPodList(
      "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\np,1,1,1,1000,0\n", "pods.csv");
  ASSERT_FALSE(partial_times.ok());
  EXPECT_TRUE(HasText(partial_times.status().message(), "missing column 'deletion_time'"));
}

TEST(TraceBadRows, PhillyGavelHelios) {
  auto philly = ParsePhillyRuntimes("runtime\n5.0\n\n-3\nx\n,\n7\n", "runtime.csv");
  ASSERT_TRUE(philly.ok()) << philly.status().ToString();
  EXPECT_EQ(philly->jobs.size(), 2u);
  ASSERT_EQ(philly->skipped.size(), 3u);
  EXPECT_EQ(philly->skipped[0].message, "runtime.csv:4: column 'runtime': negative value -3");
  EXPECT_EQ(philly->skipped[1].message,
            "runtime.csv:5: column 'runtime': expected a number, got 'x'");
  EXPECT_EQ(philly->skipped[2].message, "runtime.csv:6: row has 2 fields, expected 1");
  TraceReadOptions refuse;
  refuse.skip_bad_rows = false;
  auto refused = ParsePhillyRuntimes("runtime\n5.0\n-3\n", "runtime.csv", refuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "runtime.csv:3: column 'runtime': negative value -3");

  const std::string gavel =
      "ResNet-18 (batch size 16)\tcmd\t-s\t1\t100\t0.000000\t1\n"
      "LM (batch size 5)\tcmd\t-s\t1\t100\t-5.0\t1\n"
      "\n"
      "LM (batch size 5)\tcmd\t-s\t1\t100\t7.0\n"
      "LM (batch size 5)\tcmd\t-s\t1\tmany\t7.0\t1\n"
      "LM (batch size 5)\tcmd\t-s\t1\t100\t9.0\t64\n"
      "LM (batch size 5)\tcmd\t-s\t1\t100\t9.0\t8\n";
  TraceReadOptions cluster;
  cluster.cluster_gpus = 32;
  auto g = ParseGavelTrace(gavel, "dir/abc123.trace", cluster);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->jobs.size(), 2u);
  EXPECT_EQ(g->jobs[1].line, 7);
  EXPECT_EQ(g->jobs[1].user, "abc123");
  std::vector<std::string> messages;
  for (const auto& s : g->skipped) messages.push_back(s.message);
  EXPECT_EQ(
      messages,
      (std::vector<std::string>{
          "dir/abc123.trace:2: column 'arrival_time': negative value -5",
          "dir/abc123.trace:4: expected 7 tab-separated fields, got 6",
          "dir/abc123.trace:5: column 'total_steps': expected an integer, got 'many'",
          "dir/abc123.trace:6: column 'scale_factor': asks for 64 GPUs, more than the cluster's 32",
      }));
  cluster.skip_bad_rows = false;
  auto g_refused = ParseGavelTrace(gavel, "dir/abc123.trace", cluster);
  ASSERT_FALSE(g_refused.ok());
  EXPECT_EQ(g_refused.status().message(), messages[0]);

  const std::string summary_header =
      "id,gpu_num,job_num,cpu_job_num,gpu_job_num,avg_run_time_gpu,med_run_time_gpu,avg_que_time_"
      "gpu,avg_gpu_num,med_gpu_num,"
      "complete_rate,cancel_rate,fail_rate,complete_rate_gpu,cancel_rate_gpu,fail_rate_gpu,"
      "complete_gpu_time,cancel_gpu_time,"
      "fail_gpu_time\n";
  auto h = ParseHeliosClusterSummary(
      summary_header +
          "A,10,5,2,3,1,1,1,1,1,1,0,0,1,0,0,100,0,0\nB,ten,5,2,3,1,1,1,1,1,1,0,0,1,0,0,1,0,0\n",
      "summary.csv");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->clusters.size(), 1u);
  ASSERT_EQ(h->skipped.size(), 1u);
  EXPECT_EQ(h->skipped[0].message,
            "summary.csv:3: column 'gpu_num': expected an integer, got 'ten'");

  auto days =
      ParseHeliosGpuNumber("date,vcA,total\n2020-04-01,8,8\n2020-04-02,,8\n", "gpus.csv", refuse);
  ASSERT_FALSE(days.ok());
  EXPECT_EQ(days.status().message(), "gpus.csv:3: column 'vcA': missing field");

  auto spec = ParseGavelClusterSpecs("{\"philly\": [\"500:x:0\"]}", "specs.json");
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(HasText(spec.status().message(), "expected GPU counts like '500:0:0'"));
}

TEST(TraceBadRows, ReadsAreDeterministic) {
  auto a = ReadOpenbPodList(kOpenb + "/openb_pod_list_gpuspec33.csv");
  auto b = ReadOpenbPodList(kOpenb + "/openb_pod_list_gpuspec33.csv");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->jobs.size(), b->jobs.size());
  for (size_t i = 0; i < a->jobs.size(); ++i) {
    EXPECT_EQ(a->jobs[i].id, b->jobs[i].id);
    EXPECT_EQ(a->jobs[i].gpu_type, b->jobs[i].gpu_type);
    EXPECT_EQ(a->jobs[i].duration.has_value(), b->jobs[i].duration.has_value());
  }
  EXPECT_EQ(std::count_if(a->jobs.begin(), a->jobs.end(),
                          [](const JobRecord& j) { return !j.gpu_type.empty(); }),
            2388);
  EXPECT_FALSE(ReadOpenbPodList(kOpenb + "/no_such_file.csv").ok());
}

}  // namespace
}  // namespace aif::config
