#include "aifactory/report/fleet_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "aifactory/core/file.h"
#include "aifactory/fleet/fleet_sim.h"

namespace aif::report {
namespace {

fleet::FleetResult Sim(std::uint64_t seed) {
  fleet::FleetSpec spec;
  for (const char* name : {"east <a&b>", "west"}) {
    fleet::SiteSpec site;
    site.name = name;
    site.pue = 1.2;
    fleet::PoolSpec pool;
    pool.gpu_type = "H100";
    pool.gpus = 64;
    pool.gpu_busy_w = 700;
    pool.gpu_idle_w = 100;
    site.pools.push_back(pool);
    spec.sites.push_back(site);
  }
  spec.failures.push_back({"GPU <hbm>", 2e-2, fleet::FailureScope::kGpu, Seconds(3600)});
  std::vector<fleet::FleetJob> jobs;
  for (int i = 0; i < 200; ++i) {
    fleet::FleetJob j;
    j.id = "job" + std::to_string(i);
    j.submit = j.release = Seconds(60.0 * i);
    j.work = Seconds(600.0 + 37.0 * (i % 13));
    j.gpus = 1 << (i % 5);
    j.checkpoint_interval = Seconds(-1);
    j.checkpoint_write = Seconds(10);
    j.restart = Seconds(30);
    jobs.push_back(j);
  }
  fleet::FleetOptions o;
  o.scheduler = "easy";
  o.seed = seed;
  o.bin = Seconds(600);
  auto r = fleet::RunFleet(spec, jobs, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

TEST(FleetReport, SameSeedSameBytesAndEverythingEscaped) {
  FleetReportInputs in;
  in.name = "fleet <script>alert(1)</script>";
  in.file = "a&b.yaml";
  in.skipped_rows = {"t.csv:3: column 'x': bad <row>"};
  const fleet::FleetResult a = Sim(3), b = Sim(3), c = Sim(4);
  EXPECT_EQ(FleetJson(a, in), FleetJson(b, in));
  EXPECT_EQ(FleetHtml(a, in), FleetHtml(b, in));
  EXPECT_NE(FleetJson(a, in), FleetJson(c, in));
  const std::string html = FleetHtml(a, in);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("fleet &lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("east &lt;a&amp;b&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  const std::string json = FleetJson(a, in);
  EXPECT_NE(json.find("\"trace_rows_skipped\": 1"), std::string::npos);
  EXPECT_NE(json.find("\"power_w\""), std::string::npos);
  EXPECT_NE(json.find("\"GPU <hbm>\""), std::string::npos);
}

TEST(FleetReport, WritesBothFilesIntoTheNamedDirectoryOnly) {
  const auto dir = std::filesystem::temp_directory_path() / "aif_fleet_report_test";
  std::filesystem::remove_all(dir);
  FleetReportInputs in;
  in.name = "t";
  ASSERT_TRUE(WriteFleetReport(Sim(1), in, (dir / "out").string()).ok());
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir / "out"))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"fleet.html", "fleet.json"}));
  // A file where the directory should be is an error, not an overwrite.
  ASSERT_TRUE(WriteFileAtomic((dir / "file").string(), "x").ok());
  EXPECT_FALSE(WriteFleetReport(Sim(1), in, (dir / "file").string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aif::report
