#include "aifactory/config/traces.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <system_error>

#include "aifactory/config/csv.h"
#include "aifactory/config/yaml_reader.h"
#include "aifactory/core/file.h"

namespace aif::config {
namespace {

using fleet::JobRecord;
using fleet::SkippedRow;

constexpr size_t kMaxTraceBytes = 256 << 20;
constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Collects bad rows: with skip_bad_rows each is listed and skipped, without it the first one is
// returned as the read's error.
class BadRows {
 public:
  BadRows(const TraceReadOptions& options, std::vector<SkippedRow>* skipped)
      : options_(options), skipped_(skipped) {}
  Status Add(SkippedRow row) {
    if (!options_.skip_bad_rows) return InvalidArgument(row.message);
    skipped_->push_back(std::move(row));
    return Status::Ok();
  }

 private:
  const TraceReadOptions& options_;
  std::vector<SkippedRow>* skipped_;
};

// The cells of one row with typed getters; the first problem is kept as the row's error and
// every later getter fails, so a row reads as straight-line code ending in `ok()`.
class RowCells {
 public:
  RowCells(std::string file, int line, const std::vector<std::string>* header,
           const std::vector<std::string>* fields)
      : file_(std::move(file)), line_(line), header_(header), fields_(fields) {
    if (fields_->size() > header_->size()) {
      Fail("", fmt::format("row has {} fields, expected {}", fields_->size(), header_->size()));
    }
  }

  bool ok() const { return !error_.has_value(); }
  SkippedRow error() const { return *error_; }
  int line() const { return line_; }

  bool Fail(std::string_view column, const std::string& message) {
    if (!error_) {
      std::string text = column.empty()
                             ? fmt::format("{}:{}: {}", file_, line_, message)
                             : fmt::format("{}:{}: column '{}': {}", file_, line_, column, message);
      error_ = SkippedRow{line_, std::string(column), std::move(text)};
    }
    return false;
  }

  // The trimmed cell of column `index`; "missing field" when empty and required.
  bool Text(int index, bool required, std::string* out) {
    if (!ok()) return false;
    const auto i = static_cast<size_t>(index);
    std::string_view cell = i < fields_->size() ? Trim((*fields_)[i]) : std::string_view();
    if (cell.empty() && required) {
      return Fail(Name(index), i < fields_->size()
                                   ? "missing field"
                                   : fmt::format("missing field (row has {} of {} fields)",
                                                 fields_->size(), header_->size()));
    }
    *out = std::string(cell);
    return true;
  }

  // An integer in [min, max]; `*present` (when given) says whether the cell had one, and an
  // empty cell is then allowed.
  bool Integer(int index, std::int64_t min, std::int64_t max, std::int64_t* out,
               bool* present = nullptr) {
    std::string text;
    if (!Text(index, present == nullptr, &text)) return false;
    if (present) *present = !text.empty();
    if (text.empty()) return true;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) {
      return Fail(Name(index), fmt::format("expected an integer, got '{}'", text));
    }
    return InRange(index, static_cast<double>(v), static_cast<double>(min),
                   static_cast<double>(max), out, v);
  }

  // A finite number in [min, max].
  bool Number(int index, double min, double max, double* out) {
    std::string text;
    if (!Text(index, true, &text)) return false;
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) {
      return Fail(Name(index), fmt::format("expected a number, got '{}'", text));
    }
    return InRange(index, v, min, max, out, v);
  }

  std::string Name(int index) const {
    const auto i = static_cast<size_t>(index);
    return i < header_->size() ? (*header_)[i] : fmt::format("field {}", index + 1);
  }

 private:
  template <typename T>
  bool InRange(int index, double v, double min, double max, T* out, T value) {
    if (v < min) {
      return Fail(Name(index), min == 0 ? fmt::format("negative value {}", value)
                                        : fmt::format("{} is below the minimum {}", value, min));
    }
    if (v > max) return Fail(Name(index), fmt::format("{} is above the maximum {}", value, max));
    *out = value;
    return true;
  }

  std::string file_;
  int line_;
  const std::vector<std::string>* header_;
  const std::vector<std::string>* fields_;
  std::optional<SkippedRow> error_;
};

// Column indices of a CSV header; a missing required column fails the file.
class Columns {
 public:
  explicit Columns(const CsvTable& table) : table_(table) {}
  Result<int> Required(const char* name) const {
    int i = table_.ColumnIndex(name);
    if (i < 0) {
      return InvalidArgument(fmt::format("{}:1: missing column '{}' (columns: {})", table_.file,
                                         name, fmt::join(table_.header, ",")));
    }
    return i;
  }
  int Optional(const char* name) const { return table_.ColumnIndex(name); }

 private:
  const CsvTable& table_;
};

Status CheckClusterSize(const TraceReadOptions& options, const std::string& file) {
  if (options.cluster_gpus && *options.cluster_gpus <= 0) {
    return InvalidArgument(
        fmt::format("{}: cluster size must be positive, got {} GPUs", file, *options.cluster_gpus));
  }
  return Status::Ok();
}

// "asks for N GPUs, more than the cluster's M" when a cluster size is given.
bool CheckGpus(RowCells& row, int index, std::int64_t gpus, const TraceReadOptions& options) {
  if (row.ok() && options.cluster_gpus && gpus > *options.cluster_gpus) {
    return row.Fail(row.Name(index), fmt::format("asks for {} GPUs, more than the cluster's {}",
                                                 gpus, *options.cluster_gpus));
  }
  return row.ok();
}

Result<fleet::Trace> OpenbPods(const CsvTable& table, const TraceReadOptions& options) {
  AIF_RETURN_IF_ERROR(CheckClusterSize(options, table.file));
  Columns c(table);
  AIF_ASSIGN_OR_RETURN(int name, c.Required("name"));
  AIF_ASSIGN_OR_RETURN(int cpu, c.Required("cpu_milli"));
  AIF_ASSIGN_OR_RETURN(int mem, c.Required("memory_mib"));
  AIF_ASSIGN_OR_RETURN(int num_gpu, c.Required("num_gpu"));
  AIF_ASSIGN_OR_RETURN(int gpu_milli, c.Required("gpu_milli"));
  const int gpu_spec = c.Optional("gpu_spec"), qos = c.Optional("qos"),
            phase = c.Optional("pod_phase");
  // The time columns come together (the multigpu* variants have none of them).
  const bool timed = c.Optional("creation_time") >= 0 || c.Optional("deletion_time") >= 0 ||
                     c.Optional("scheduled_time") >= 0;
  int creation = -1, deletion = -1, scheduled = -1;
  if (timed) {
    AIF_ASSIGN_OR_RETURN(creation, c.Required("creation_time"));
    AIF_ASSIGN_OR_RETURN(deletion, c.Required("deletion_time"));
    AIF_ASSIGN_OR_RETURN(scheduled, c.Required("scheduled_time"));
  }

  fleet::Trace trace;
  trace.source = table.file;
  trace.cluster_gpus = options.cluster_gpus;
  trace.records_start_times = timed;
  trace.jobs.reserve(table.rows.size());
  BadRows bad(options, &trace.skipped);
  for (const CsvRow& csv_row : table.rows) {
    RowCells row(table.file, csv_row.line, &table.header, &csv_row.fields);
    JobRecord j;
    j.line = csv_row.line;
    std::int64_t v = 0;
    row.Text(name, true, &j.id);
    if (row.Integer(cpu, 0, kMaxInt, &v)) j.cpu_milli = static_cast<int>(v);
    row.Integer(mem, 0, std::numeric_limits<std::int64_t>::max(), &j.memory_mib);
    if (row.Integer(num_gpu, 0, kMaxInt, &v)) j.gpus = static_cast<int>(v);
    if (row.Integer(gpu_milli, 0, 1000, &v)) j.gpu_milli = static_cast<int>(v);
    CheckGpus(row, num_gpu, j.gpus, options);
    if (gpu_spec >= 0) row.Text(gpu_spec, false, &j.gpu_type);
    if (qos >= 0) row.Text(qos, true, &j.qos);
    if (phase >= 0) row.Text(phase, true, &j.status);
    if (timed) {
      std::int64_t created = 0, deleted = 0, started = 0;
      bool has_start = false;
      row.Integer(creation, 0, std::numeric_limits<std::int64_t>::max(), &created);
      row.Integer(deletion, 0, std::numeric_limits<std::int64_t>::max(), &deleted);
      row.Integer(scheduled, 0, std::numeric_limits<std::int64_t>::max(), &started, &has_start);
      if (row.ok() && deleted < created) {
        row.Fail(row.Name(deletion),
                 fmt::format("negative duration: deleted at {} before it was created at {}",
                             deleted, created));
      }
      if (row.ok() && has_start && started < created) {
        row.Fail(row.Name(scheduled),
                 fmt::format("negative wait: scheduled at {} before it was created at {}", started,
                             created));
      }
      if (row.ok() && has_start && deleted < started) {
        row.Fail(row.Name(deletion),
                 fmt::format("negative duration: deleted at {} before it was scheduled at {}",
                             deleted, started));
      }
      j.submit_time = Seconds(static_cast<double>(created));
      j.end_time = Seconds(static_cast<double>(deleted));
      if (has_start) {
        j.start_time = Seconds(static_cast<double>(started));
        j.duration = Seconds(static_cast<double>(deleted - started));
      }
    }
    if (!row.ok()) {
      AIF_RETURN_IF_ERROR(bad.Add(row.error()));
      continue;
    }
    trace.jobs.push_back(std::move(j));
  }
  return trace;
}

Result<fleet::Trace> PhillyRuntimes(const CsvTable& table, const TraceReadOptions& options) {
  AIF_RETURN_IF_ERROR(CheckClusterSize(options, table.file));
  Columns c(table);
  AIF_ASSIGN_OR_RETURN(int runtime, c.Required("runtime"));
  fleet::Trace trace;
  trace.source = table.file;
  trace.cluster_gpus = options.cluster_gpus;
  trace.jobs.reserve(table.rows.size());
  BadRows bad(options, &trace.skipped);
  for (const CsvRow& csv_row : table.rows) {
    RowCells row(table.file, csv_row.line, &table.header, &csv_row.fields);
    double seconds = 0;
    if (!row.Number(runtime, 0, std::numeric_limits<double>::max(), &seconds)) {
      AIF_RETURN_IF_ERROR(bad.Add(row.error()));
      continue;
    }
    JobRecord j;
    j.id = fmt::format("{}:{}", table.file, csv_row.line);
    j.line = csv_row.line;
    j.duration = Seconds(seconds);
    trace.jobs.push_back(std::move(j));
  }
  return trace;
}

// The file name without directory and extension: a Gavel trace's virtual cluster.
std::string Stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

}  // namespace

Result<fleet::ClusterInventory> ParseOpenbNodeList(std::string_view text, const std::string& file) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, file));
  Columns c(table);
  AIF_ASSIGN_OR_RETURN(int sn, c.Required("sn"));
  AIF_ASSIGN_OR_RETURN(int cpu, c.Required("cpu_milli"));
  AIF_ASSIGN_OR_RETURN(int mem, c.Required("memory_mib"));
  AIF_ASSIGN_OR_RETURN(int gpu, c.Required("gpu"));
  AIF_ASSIGN_OR_RETURN(int model, c.Required("model"));
  fleet::ClusterInventory inventory;
  inventory.source = file;
  for (const CsvRow& csv_row : table.rows) {
    RowCells row(file, csv_row.line, &table.header, &csv_row.fields);
    fleet::ClusterNode n;
    std::int64_t gpus = 0;
    row.Text(sn, true, &n.name);
    row.Integer(cpu, 0, std::numeric_limits<std::int64_t>::max(), &n.cpu_milli);
    row.Integer(mem, 0, std::numeric_limits<std::int64_t>::max(), &n.memory_mib);
    row.Integer(gpu, 0, 1024, &gpus);
    row.Text(model, false, &n.gpu_model);
    if (row.ok() && gpus > 0 && n.gpu_model.empty())
      row.Fail("model", fmt::format("a node with {} GPUs names no GPU model", gpus));
    // A node list is the cluster itself: a bad node is never skipped.
    if (!row.ok()) return InvalidArgument(row.error().message);
    n.gpus = static_cast<int>(gpus);
    inventory.nodes.push_back(std::move(n));
  }
  return inventory;
}

Result<fleet::ClusterInventory> ReadOpenbNodeList(const std::string& path) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxTraceBytes));
  return ParseOpenbNodeList(text, path);
}

Result<fleet::Trace> ParseOpenbPodList(std::string_view text, const std::string& file,
                                       const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, file));
  return OpenbPods(table, options);
}

Result<fleet::Trace> ReadOpenbPodList(const std::string& path, const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ReadCsvFile(path));
  return OpenbPods(table, options);
}

Result<fleet::Trace> ReadOpenbTrace(const std::string& pod_list_path,
                                    const std::string& node_list_path,
                                    const TraceReadOptions& options) {
  TraceReadOptions with_cluster = options;
  if (!with_cluster.cluster_gpus) {
    AIF_ASSIGN_OR_RETURN(fleet::ClusterInventory nodes, ReadOpenbNodeList(node_list_path));
    with_cluster.cluster_gpus = nodes.TotalGpus();
  }
  return ReadOpenbPodList(pod_list_path, with_cluster);
}

Result<fleet::Trace> ParsePhillyRuntimes(std::string_view text, const std::string& file,
                                         const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, file));
  return PhillyRuntimes(table, options);
}

Result<fleet::Trace> ReadPhillyRuntimes(const std::string& path, const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ReadCsvFile(path));
  return PhillyRuntimes(table, options);
}

Result<fleet::Trace> ParseGavelTrace(std::string_view text, const std::string& file,
                                     const TraceReadOptions& options) {
  AIF_RETURN_IF_ERROR(CheckClusterSize(options, file));
  if (text.size() > kMaxTraceBytes)
    return InvalidArgument(fmt::format("{}: larger than {} bytes", file, kMaxTraceBytes));
  static const std::vector<std::string> kFields = {"job_type",       "command",     "num_steps_arg",
                                                   "needs_data_dir", "total_steps", "arrival_time",
                                                   "scale_factor"};
  fleet::Trace trace;
  trace.source = file;
  trace.cluster_gpus = options.cluster_gpus;
  BadRows bad(options, &trace.skipped);
  const std::string vc = Stem(file);
  int line = 0;
  size_t pos = 0;
  std::vector<std::string> fields;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view content = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line;
    if (Trim(content).empty()) continue;
    fields.clear();
    size_t start = 0;
    while (true) {
      size_t tab = content.find('\t', start);
      fields.emplace_back(content.substr(
          start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    RowCells row(file, line, &kFields, &fields);
    if (row.ok() && fields.size() != kFields.size()) {
      row.Fail("", fmt::format("expected {} tab-separated fields, got {}", kFields.size(),
                               fields.size()));
    }
    JobRecord j;
    j.id = fmt::format("{}:{}", vc, line);
    j.line = line;
    j.user = vc;
    double arrival = 0;
    std::int64_t gpus = 0;
    row.Text(0, true, &j.job_type);
    row.Integer(4, 0, std::numeric_limits<std::int64_t>::max(), &j.work_steps);
    row.Number(5, 0, std::numeric_limits<double>::max(), &arrival);
    row.Integer(6, 1, kMaxInt, &gpus);
    CheckGpus(row, 6, gpus, options);
    if (!row.ok()) {
      AIF_RETURN_IF_ERROR(bad.Add(row.error()));
      continue;
    }
    j.submit_time = Seconds(arrival);
    j.gpus = static_cast<int>(gpus);
    trace.jobs.push_back(std::move(j));
  }
  return trace;
}

Result<fleet::Trace> ReadGavelTrace(const std::string& path, const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxTraceBytes));
  return ParseGavelTrace(text, path, options);
}

Result<fleet::Trace> ReadGavelTraceDir(const std::string& dir, const TraceReadOptions& options) {
  std::error_code ec;
  std::vector<std::string> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".trace") files.push_back(it->path().string());
  }
  if (ec) return IoError(fmt::format("{}: cannot list the directory: {}", dir, ec.message()));
  if (files.empty()) return NotFound(fmt::format("{}: no *.trace files", dir));
  std::sort(files.begin(), files.end());
  fleet::Trace all;
  all.source = dir;
  all.cluster_gpus = options.cluster_gpus;
  for (const std::string& f : files) {
    AIF_ASSIGN_OR_RETURN(fleet::Trace one, ReadGavelTrace(f, options));
    all.jobs.insert(all.jobs.end(), std::make_move_iterator(one.jobs.begin()),
                    std::make_move_iterator(one.jobs.end()));
    all.skipped.insert(all.skipped.end(), one.skipped.begin(), one.skipped.end());
  }
  return all;
}

Result<std::map<std::string, int>> ParseGavelClusterSpecs(std::string_view text,
                                                          const std::string& file) {
  AIF_ASSIGN_OR_RETURN(YamlDocument doc, YamlDocument::Parse(text, file));
  AIF_RETURN_IF_ERROR(doc.ExpectMap(doc.root(), ""));
  std::map<std::string, int> clusters;
  for (const auto& entry : doc.root()) {
    const std::string name = entry.first.as<std::string>();
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(entry.second, name));
    int total = 0;
    for (size_t i = 0; i < entry.second.size(); ++i) {
      const std::string path = fmt::format("{}[{}]", name, i);
      AIF_ASSIGN_OR_RETURN(std::string spec, doc.String(entry.second[i], path));
      // "v100:p100:k80" GPU counts.
      size_t start = 0;
      while (true) {
        size_t colon = spec.find(':', start);
        std::string_view part = std::string_view(spec).substr(
            start, colon == std::string::npos ? std::string::npos : colon - start);
        int count = 0;
        auto [p, perr] = std::from_chars(part.data(), part.data() + part.size(), count);
        if (part.empty() || perr != std::errc() || p != part.data() + part.size() || count < 0) {
          return doc.Error(entry.second[i], path,
                           fmt::format("expected GPU counts like '500:0:0', got '{}'", spec));
        }
        total += count;
        if (colon == std::string::npos) break;
        start = colon + 1;
      }
    }
    clusters[name] = total;
  }
  return clusters;
}

Result<std::map<std::string, int>> ReadGavelClusterSpecs(const std::string& path) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, 1 << 20));
  return ParseGavelClusterSpecs(text, path);
}

Result<fleet::PublishedClusterSummaries> ParseHeliosClusterSummary(
    std::string_view text, const std::string& file, const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, file));
  Columns c(table);
  AIF_ASSIGN_OR_RETURN(int id, c.Required("id"));
  using S = fleet::PublishedClusterSummary;
  struct IntField {
    const char* column;
    std::int64_t S::*field;
  };
  struct NumberField {
    const char* column;
    double S::*field;
  };
  const IntField ints[] = {
      {"job_num", &S::jobs}, {"cpu_job_num", &S::cpu_jobs}, {"gpu_job_num", &S::gpu_jobs}};
  const NumberField numbers[] = {{"avg_run_time_gpu", &S::mean_gpu_job_run_time},
                                 {"med_run_time_gpu", &S::median_gpu_job_run_time},
                                 {"avg_que_time_gpu", &S::mean_gpu_job_queue_time},
                                 {"avg_gpu_num", &S::mean_gpus_per_job},
                                 {"med_gpu_num", &S::median_gpus_per_job},
                                 {"complete_rate", &S::complete_rate},
                                 {"cancel_rate", &S::cancel_rate},
                                 {"fail_rate", &S::fail_rate},
                                 {"complete_rate_gpu", &S::complete_rate_gpu},
                                 {"cancel_rate_gpu", &S::cancel_rate_gpu},
                                 {"fail_rate_gpu", &S::fail_rate_gpu},
                                 {"complete_gpu_time", &S::complete_gpu_time},
                                 {"cancel_gpu_time", &S::cancel_gpu_time},
                                 {"fail_gpu_time", &S::fail_gpu_time}};
  AIF_ASSIGN_OR_RETURN(int gpu_num, c.Required("gpu_num"));
  std::vector<int> int_columns, number_columns;
  for (const IntField& f : ints) {
    AIF_ASSIGN_OR_RETURN(int i, c.Required(f.column));
    int_columns.push_back(i);
  }
  for (const NumberField& f : numbers) {
    AIF_ASSIGN_OR_RETURN(int i, c.Required(f.column));
    number_columns.push_back(i);
  }
  fleet::PublishedClusterSummaries summaries;
  summaries.source = file;
  BadRows bad(options, &summaries.skipped);
  for (const CsvRow& csv_row : table.rows) {
    RowCells row(file, csv_row.line, &table.header, &csv_row.fields);
    S s;
    std::int64_t gpus = 0;
    row.Text(id, true, &s.cluster);
    row.Integer(gpu_num, 1, kMaxInt, &gpus);
    for (size_t k = 0; k < int_columns.size(); ++k)
      row.Integer(int_columns[k], 0, std::numeric_limits<std::int64_t>::max(), &(s.*ints[k].field));
    for (size_t k = 0; k < number_columns.size(); ++k)
      row.Number(number_columns[k], 0, std::numeric_limits<double>::max(), &(s.*numbers[k].field));
    if (!row.ok()) {
      AIF_RETURN_IF_ERROR(bad.Add(row.error()));
      continue;
    }
    s.gpus = static_cast<int>(gpus);
    summaries.clusters.push_back(std::move(s));
  }
  return summaries;
}

Result<fleet::PublishedClusterSummaries> ReadHeliosClusterSummary(const std::string& path,
                                                                  const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxTraceBytes));
  return ParseHeliosClusterSummary(text, path, options);
}

Result<fleet::GpuCapacityHistory> ParseHeliosGpuNumber(std::string_view text,
                                                       const std::string& file,
                                                       const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, file));
  Columns c(table);
  AIF_ASSIGN_OR_RETURN(int date, c.Required("date"));
  AIF_ASSIGN_OR_RETURN(int total, c.Required("total"));
  fleet::GpuCapacityHistory history;
  history.source = file;
  std::vector<int> vc_columns;
  for (size_t i = 0; i < table.header.size(); ++i) {
    if (static_cast<int>(i) != date && static_cast<int>(i) != total) {
      vc_columns.push_back(static_cast<int>(i));
      history.vcs.push_back(table.header[i]);
    }
  }
  BadRows bad(options, &history.skipped);
  for (const CsvRow& csv_row : table.rows) {
    RowCells row(file, csv_row.line, &table.header, &csv_row.fields);
    fleet::DailyGpuCapacity day;
    std::int64_t v = 0;
    row.Text(date, true, &day.date);
    if (row.Integer(total, 0, kMaxInt, &v)) day.total = static_cast<int>(v);
    for (size_t k = 0; k < vc_columns.size(); ++k) {
      if (row.Integer(vc_columns[k], 0, kMaxInt, &v))
        day.by_vc[history.vcs[k]] = static_cast<int>(v);
    }
    if (!row.ok()) {
      AIF_RETURN_IF_ERROR(bad.Add(row.error()));
      continue;
    }
    history.days.push_back(std::move(day));
  }
  return history;
}

Result<fleet::GpuCapacityHistory> ReadHeliosGpuNumber(const std::string& path,
                                                      const TraceReadOptions& options) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxTraceBytes));
  return ParseHeliosGpuNumber(text, path, options);
}

}  // namespace aif::config
