#include "aifactory/config/validation_csv.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace aif::config {
namespace {

using train::ValidationRow;

struct Cell {
  std::string column;
  std::string text;  // empty when the column is absent or the cell is empty
  int line = 0;
};

class RowReader {
 public:
  RowReader(const CsvTable& t, const CsvRow& r) : table_(t), row_(r) {}

  Cell Get(const char* column) const {
    Cell c{column, "", row_.line};
    int i = table_.ColumnIndex(column);
    if (i >= 0 && static_cast<size_t>(i) < row_.fields.size()) c.text = Trim(row_.fields[static_cast<size_t>(i)]);
    return c;
  }
  bool Has(const char* column) const { return !Get(column).text.empty(); }

  Status Error(const Cell& c, const std::string& message) const {
    return InvalidArgument(fmt::format("{}:{}: column '{}': {}", table_.file, c.line, c.column, message));
  }

  Result<double> Number(const char* column) const {
    Cell c = Get(column);
    double v = 0;
    const char* b = c.text.data();
    const char* e = b + c.text.size();
    auto [p, ec] = std::from_chars(b, e, v);
    if (c.text.empty() || ec != std::errc() || p != e || !std::isfinite(v)) {
      return Error(c, fmt::format("expected a number, got '{}'", c.text));
    }
    return v;
  }

  // true / false (also 1 / 0, yes / no), false when empty.
  Result<bool> Flag(const char* column) const {
    Cell c = Get(column);
    std::string t = c.text;
    for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (t.empty() || t == "false" || t == "0" || t == "no") return false;
    if (t == "true" || t == "1" || t == "yes") return true;
    return Error(c, fmt::format("expected true or false, got '{}'", c.text));
  }

  // true or false, or `fallback` when empty.
  Result<bool> FlagOr(const char* column, bool fallback) const {
    if (Get(column).text.empty()) return fallback;
    return Flag(column);
  }

  // A setting named in the cell, as `parse` reads it (train::ParseMoeDispatcher and the like), or
  // `fallback` when empty; the parser's message at the cell where it refuses the name.
  template <typename T, typename Parse>
  Result<T> Named(const char* column, T fallback, Parse parse) const {
    Cell c = Get(column);
    if (c.text.empty()) return fallback;
    Result<T> v = parse(c.text);
    if (!v.ok()) return Error(c, v.status().message());
    return v;
  }

  // A positive integer, or `fallback` when empty.
  Result<int> Count(const char* column, int fallback) const {
    Cell c = Get(column);
    if (c.text.empty()) return fallback;
    AIF_ASSIGN_OR_RETURN(double v, Number(column));
    if (v < 1 || v > 1e8 || v != std::floor(v)) return Error(c, fmt::format("expected a positive integer, got '{}'", c.text));
    return static_cast<int>(v);
  }

 private:
  static std::string Trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
  }
  const CsvTable& table_;
  const CsvRow& row_;
};

// Shape columns that override the catalog model (or define a `custom` one).
Status ApplyShape(const RowReader& r, catalog::Model* m, bool custom) {
  struct F { const char* column; int* field; };
  for (F f : {F{"layers", &m->layers}, F{"hidden", &m->hidden}, F{"heads", &m->heads},
              F{"kv_heads", &m->kv_heads}, F{"ffn_hidden", &m->ffn_hidden}, F{"vocab", &m->vocab}}) {
    AIF_ASSIGN_OR_RETURN(int v, r.Count(f.column, *f.field));
    *f.field = v;
  }
  // Multi-token-prediction modules: the run's count, 0 for a run without them.
  if (r.Has("mtp_layers")) {
    Cell c = r.Get("mtp_layers");
    AIF_ASSIGN_OR_RETURN(double v, r.Number("mtp_layers"));
    if (v < 0 || v > 64 || v != std::floor(v)) {
      return r.Error(c, fmt::format("expected a whole number of modules from 0 to 64, got '{}'", c.text));
    }
    m->mtp_layers = static_cast<int>(v);
  }
  if (custom) {
    // A GPT shape given inline: multi-head attention and a 4h GELU MLP unless the row says more
    // (Brown et al. 2020 sec. 2.1; Megatron-LM GPT defaults).
    if (!r.Has("kv_heads")) m->kv_heads = m->heads;
    if (!r.Has("ffn_hidden")) m->ffn_hidden = 4 * m->hidden;
    m->mlp = catalog::MlpKind::kGelu;
  }
  if (r.Has("hidden") || r.Has("heads") || custom) {
    if (m->heads > 0 && !m->mla) m->head_dim = m->hidden / m->heads;
  }
  return m->Validate();
}

// Builds the case of one row, or returns why it cannot be predicted.
Status BuildCase(const RowReader& r, const catalog::Catalog& cat, ValidationRow* out) {
  train::ValidationCase c;
  Cell metric_cell = r.Get("metric");
  if (metric_cell.text.empty()) return r.Error(metric_cell, "no metric given");
  auto metric = train::ParseMetric(metric_cell.text);
  if (!metric.ok()) return r.Error(metric_cell, metric.status().message());
  c.metric = *metric;
  AIF_ASSIGN_OR_RETURN(c.measured, r.Number("measured"));
  if (c.measured <= 0) return r.Error(r.Get("measured"), "measured value must be positive");
  out->measured = c.measured;

  // Model.
  Cell model_cell = r.Get("model_id");
  if (model_cell.text.empty()) return r.Error(model_cell, "no model_id: the run's model is not in the catalog");
  bool custom = model_cell.text == "custom";
  if (custom) {
    for (const char* col : {"layers", "hidden", "heads", "vocab"}) {
      if (!r.Has(col)) return r.Error(r.Get(col), "a custom model needs layers, hidden, heads and vocab");
    }
    c.job.model.id = "custom";
    c.job.model.name = "custom";
  } else {
    auto model = cat.FindModel(model_cell.text);
    if (!model.ok()) return r.Error(model_cell, model.status().message());
    c.job.model = **model;
  }
  AIF_RETURN_IF_ERROR(ApplyShape(r, &c.job.model, custom));

  // Cluster.
  Cell acc_cell = r.Get("accelerator_id");
  if (acc_cell.text.empty()) return r.Error(acc_cell, "no accelerator_id");
  auto acc = cat.FindAccelerator(acc_cell.text);
  if (!acc.ok()) return r.Error(acc_cell, acc.status().message());
  auto system = cat.DefaultSystemFor(acc_cell.text);
  if (!system.ok()) return r.Error(acc_cell, system.status().message());
  if (!r.Has("gpus")) return r.Error(r.Get("gpus"), "number of GPUs not given");
  AIF_ASSIGN_OR_RETURN(int gpus, r.Count("gpus", 0));
  auto cluster = train::MakeCluster(cat, (*system)->id, gpus);
  if (!cluster.ok()) return r.Error(acc_cell, cluster.status().message());
  c.cluster = std::move(*cluster);

  // Training.
  if (!r.Has("seq_len")) return r.Error(r.Get("seq_len"), "sequence length not given");
  AIF_ASSIGN_OR_RETURN(c.job.seq_len, r.Count("seq_len", 0));
  if (!r.Has("global_batch")) return r.Error(r.Get("global_batch"), "global batch not given");
  AIF_ASSIGN_OR_RETURN(c.job.global_batch, r.Count("global_batch", 0));
  Cell dtype = r.Get("dtype");
  if (dtype.text.empty()) {
    const std::string framework = r.Get("framework").text;
    c.job.precision = (*acc)->UsualTrainingPrecision(framework);
    const bool by_framework = c.job.precision != (*acc)->usual_training_precision;
    out->assumptions.push_back(fmt::format("dtype={} (the accelerator's usual training precision{})",
                                           catalog::PrecisionName(c.job.precision),
                                           by_framework ? " in the run's framework" : ""));
  } else {
    auto p = catalog::ParsePrecision(dtype.text);
    if (!p.ok()) return r.Error(dtype, p.status().message());
    c.job.precision = *p;
  }
  Cell task = r.Get("task_kind");
  if (!task.text.empty()) {
    auto k = train::ParseTaskKind(task.text);
    if (!k.ok()) return r.Error(task, k.status().message());
    c.job.task = *k;
  }
  Cell recompute = r.Get("recompute_mode");
  if (!recompute.text.empty()) {
    auto rm = train::ParseRecompute(recompute.text);
    if (!rm.ok()) return r.Error(recompute, rm.status().message());
    c.plan.recompute = *rm;
    c.recompute_given = true;
  }

  // Plan.
  auto& p = c.plan;
  AIF_ASSIGN_OR_RETURN(p.tp, r.Count("tp", 1));
  AIF_ASSIGN_OR_RETURN(p.pp, r.Count("pp", 1));
  AIF_ASSIGN_OR_RETURN(p.cp, r.Count("cp", 1));
  AIF_ASSIGN_OR_RETURN(p.ep, r.Count("ep", 1));
  AIF_ASSIGN_OR_RETURN(p.vp, r.Count("vp", 1));
  long long model_parallel = 1LL * p.tp * p.pp * p.cp;
  if (gpus % model_parallel != 0) {
    return r.Error(r.Get("gpus"), fmt::format("gpus ({}) not divisible by tp*pp*cp = {}", gpus, model_parallel));
  }
  AIF_ASSIGN_OR_RETURN(p.dp, r.Count("dp", static_cast<int>(gpus / model_parallel)));
  // FSDP column: a number > 0 is the sharding group (parameters sharded: ZeRO-3), 0 is plain DDP
  // with the distributed optimizer; text describes the sharding in words.
  Cell fsdp = r.Get("fsdp");
  if (!fsdp.text.empty()) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(fsdp.text.data(), fsdp.text.data() + fsdp.text.size(), v);
    if (ec == std::errc() && ptr == fsdp.text.data() + fsdp.text.size()) {
      p.zero_stage = v > 0 ? 3 : 1;
    } else {
      bool keeps_params = fsdp.text.find("optimizer+grads") != std::string::npos;
      p.zero_stage = keeps_params ? 2 : 3;
      out->assumptions.push_back(fmt::format("fsdp '{}' read as ZeRO stage {}", fsdp.text, p.zero_stage));
    }
  }
  // Micro-batch: given, or from grad_accum, or 1.
  if (r.Has("micro_batch")) {
    AIF_ASSIGN_OR_RETURN(p.micro_batch, r.Count("micro_batch", 1));
    if (r.Has("grad_accum")) {
      // A row whose plan contradicts itself: the source mistyped one of the four numbers.
      AIF_ASSIGN_OR_RETURN(int ga, r.Count("grad_accum", 1));
      if (1LL * ga * p.micro_batch * p.dp != c.job.global_batch) {
        out->assumptions.push_back(fmt::format(
            "grad_accum {} contradicts global_batch / (dp * micro_batch) = {} / ({} * {}); micro_batch kept", ga,
            c.job.global_batch, p.dp, p.micro_batch));
      }
    }
  } else if (r.Has("grad_accum")) {
    AIF_ASSIGN_OR_RETURN(int ga, r.Count("grad_accum", 1));
    p.micro_batch = static_cast<int>(std::max(1LL, c.job.global_batch / (1LL * ga * p.dp)));
  } else {
    c.micro_batch_given = false;  // validate takes the fastest that fits and says which
  }
  c.vp_given = r.Has("vp");
  // The framework's settings beside the layout, where the row (or a --features file) gives them.
  AIF_ASSIGN_OR_RETURN(c.job.low_precision_weights, r.FlagOr("low_precision_weights", c.job.low_precision_weights));
  AIF_ASSIGN_OR_RETURN(c.job.moe_dispatcher, r.Named("moe_dispatcher", c.job.moe_dispatcher, train::ParseMoeDispatcher));
  AIF_ASSIGN_OR_RETURN(c.job.fp8_scaling, r.Named("fp8_scaling", c.job.fp8_scaling, train::ParseFp8Scaling));
  if (r.Has("moe_capacity_factor")) {
    AIF_ASSIGN_OR_RETURN(c.job.moe_capacity_factor, r.Number("moe_capacity_factor"));
    if (Status cf = train::CheckMoeCapacityFactor(c.job); !cf.ok()) {
      return r.Error(r.Get("moe_capacity_factor"), cf.message());
    }
  }
  AIF_ASSIGN_OR_RETURN(c.job.nccl_max_ctas, r.Named("nccl_max_ctas", c.job.nccl_max_ctas, train::ParseNcclCtaCaps));
  if (Status caps = train::CheckNcclCtaCaps(c.job.nccl_max_ctas, c.cluster.accelerator); !caps.ok()) {
    return r.Error(r.Get("nccl_max_ctas"), caps.message());
  }
  AIF_ASSIGN_OR_RETURN(p.ep_overlap, r.Flag("ep_overlap"));
  AIF_ASSIGN_OR_RETURN(p.cuda_graphs, r.Flag("cuda_graphs"));
  AIF_ASSIGN_OR_RETURN(p.cuda_graph_modules,
                       r.Named("cuda_graph_modules", p.cuda_graph_modules, train::ParseCudaGraphModules));
  if (Status modules = train::CheckCudaGraphModules(c.job, p.cuda_graph_modules); !modules.ok()) {
    return r.Error(r.Get("cuda_graph_modules"), modules.message());
  }
  Status valid = train::ValidatePlan(c.job, c.cluster, p);
  if (!valid.ok()) return r.Error(r.Get("tp"), "impossible plan: " + valid.message());
  out->input = std::move(c);
  return Status::Ok();
}

}  // namespace

Status MergeColumnsByRowId(CsvTable& table, const CsvTable& extra) {
  const int table_id = table.ColumnIndex("row_id");
  const int extra_id = extra.ColumnIndex("row_id");
  if (table_id < 0) return InvalidArgument(fmt::format("{}:1: no row_id column to merge {} by", table.file, extra.file));
  if (extra_id < 0) return InvalidArgument(fmt::format("{}:1: missing required column 'row_id'", extra.file));
  std::map<std::string, size_t> rows;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const auto& f = table.rows[i].fields;
    if (static_cast<size_t>(table_id) < f.size() && !f[static_cast<size_t>(table_id)].empty()) {
      rows.emplace(f[static_cast<size_t>(table_id)], i);
    }
  }
  // Where each column of `extra` goes in `table`: an existing column, or a new one at the end.
  // Rows of the table's width get the new columns empty; a ragged row stays ragged, for the
  // reader to report.
  const size_t width = table.header.size();
  std::vector<size_t> target(extra.header.size());
  for (size_t c = 0; c < extra.header.size(); ++c) {
    int at = table.ColumnIndex(extra.header[c]);
    if (at < 0) {
      table.header.push_back(extra.header[c]);
      at = static_cast<int>(table.header.size()) - 1;
    }
    target[c] = static_cast<size_t>(at);
  }
  for (CsvRow& r : table.rows) {
    if (r.fields.size() == width) r.fields.resize(table.header.size());
  }
  std::map<std::string, int> seen;
  for (const CsvRow& r : extra.rows) {
    if (r.fields.size() != extra.header.size()) {
      return InvalidArgument(fmt::format("{}:{}: row has {} fields, the header has {}", extra.file, r.line, r.fields.size(),
                                         extra.header.size()));
    }
    const std::string& id = r.fields[static_cast<size_t>(extra_id)];
    if (id.empty()) return InvalidArgument(fmt::format("{}:{}: column 'row_id': empty", extra.file, r.line));
    if (auto [it, fresh] = seen.emplace(id, r.line); !fresh) {
      return InvalidArgument(
          fmt::format("{}:{}: column 'row_id': {} repeats line {}", extra.file, r.line, id, it->second));
    }
    auto row = rows.find(id);
    if (row == rows.end()) {
      return InvalidArgument(fmt::format("{}:{}: column 'row_id': no row {} in {}", extra.file, r.line, id, table.file));
    }
    CsvRow& into = table.rows[row->second];
    if (into.fields.size() != table.header.size()) continue;
    for (size_t c = 0; c < r.fields.size(); ++c) {
      const std::string& value = r.fields[c];
      std::string& cell = into.fields[target[c]];
      // An empty cell says nothing. A column the table has too is only filled where the table
      // leaves it empty (a field its source does not state); a different stated value is a
      // contradiction, not a setting.
      if (value.empty() || value == cell) continue;
      if (target[c] < width && !cell.empty()) {
        return InvalidArgument(fmt::format("{}:{}: column '{}': {} contradicts {}:{}, which states {} for row {} (a "
                                           "features file only fills what the table leaves empty)",
                                           extra.file, r.line, extra.header[c], value, table.file, into.line, cell, id));
      }
      cell = value;
    }
  }
  return Status::Ok();
}

const std::vector<std::string>& RequiredValidationColumns() {
  static const std::vector<std::string> kColumns = {"row_id", "model_id", "accelerator_id", "metric", "measured"};
  return kColumns;
}

Result<std::vector<ValidationRow>> ReadValidationRows(const CsvTable& table, const catalog::Catalog& cat) {
  for (const auto& col : RequiredValidationColumns()) {
    if (table.ColumnIndex(col) < 0) {
      return InvalidArgument(fmt::format("{}:1: missing required column '{}'", table.file, col));
    }
  }
  std::vector<ValidationRow> rows;
  rows.reserve(table.rows.size());
  for (const CsvRow& csv_row : table.rows) {
    RowReader r(table, csv_row);
    ValidationRow row;
    row.line = csv_row.line;
    row.row_id = r.Get("row_id").text;
    if (row.row_id.empty()) row.row_id = fmt::format("line{}", csv_row.line);
    row.metric = r.Get("metric").text;
    row.accelerator_id = r.Get("accelerator_id").text;
    Status s = Status::Ok();
    if (csv_row.fields.size() != table.header.size()) {
      s = InvalidArgument(fmt::format("{}:{}: row has {} fields, the header has {}", table.file, csv_row.line,
                                      csv_row.fields.size(), table.header.size()));
    } else {
      s = BuildCase(r, cat, &row);
    }
    if (!s.ok()) {
      row.ok = false;
      row.reason = s.message();
      row.input.reset();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace aif::config
