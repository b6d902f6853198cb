#include "aifactory/config/catalog_loader.h"

#include <fmt/format.h>

#include <tuple>

#include "aifactory/builtin_data.h"
#include "aifactory/config/yaml_reader.h"

namespace aif::config {
namespace {

Status ReadAccelerator(const YamlDocument& doc, const YAML::Node& n, const std::string& path, catalog::Catalog* cat) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(n, path, {"id", "name", "vendor", "peak", "hbm_capacity", "hbm_bandwidth",
                                              "scale_up_bandwidth", "nccl_channel_bandwidth", "tdp", "fp8_gemm_tn_only",
                                              "usual_training_precision", "usual_training_precision_in", "sources",
                                              "notes"}));
  catalog::Accelerator a;
  std::vector<std::string> present;
  AIF_ASSIGN_OR_RETURN(a.id, doc.String(n, "id", JoinPath(path, "id")));
  if (n["name"]) { AIF_ASSIGN_OR_RETURN(a.name, doc.String(n, "name", JoinPath(path, "name"))); }
  if (n["vendor"]) { AIF_ASSIGN_OR_RETURN(a.vendor, doc.String(n, "vendor", JoinPath(path, "vendor"))); }
  if (const YAML::Node peak = n["peak"]) {
    std::string pp = JoinPath(path, "peak");
    AIF_RETURN_IF_ERROR(doc.CheckKeys(peak, pp, {"bf16", "fp16", "fp8", "fp4"}));
    for (auto [key, field] : {std::pair{"bf16", &a.peak_bf16}, {"fp16", &a.peak_fp16}, {"fp8", &a.peak_fp8}, {"fp4", &a.peak_fp4}}) {
      if (!peak[key]) continue;
      AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(peak[key], JoinPath(pp, key), Dimension::kFlopsPerSecond));
      *field = FlopsPerSecond(v);
      present.push_back(std::string("peak.") + key);
    }
  }
  if (n["hbm_capacity"]) {
    AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(n, "hbm_capacity", JoinPath(path, "hbm_capacity"), Dimension::kBytes));
    a.hbm_capacity = Bytes(v);
    present.push_back("hbm_capacity");
  }
  for (auto [key, field] : {std::pair{"hbm_bandwidth", &a.hbm_bandwidth}, {"scale_up_bandwidth", &a.scale_up_bandwidth},
                            {"nccl_channel_bandwidth", &a.nccl_channel_bandwidth}}) {
    if (!n[key]) continue;
    AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(n[key], JoinPath(path, key), Dimension::kBytesPerSecond));
    *field = BytesPerSecond(v);
    present.push_back(key);
  }
  if (n["tdp"]) {
    AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(n, "tdp", JoinPath(path, "tdp"), Dimension::kWatts));
    a.tdp = Watts(v);
    present.push_back("tdp");
  }
  if (n["fp8_gemm_tn_only"]) {
    AIF_ASSIGN_OR_RETURN(a.fp8_gemm_tn_only, doc.Bool(n, "fp8_gemm_tn_only", JoinPath(path, "fp8_gemm_tn_only")));
    present.push_back("fp8_gemm_tn_only");
  }
  if (n["usual_training_precision"]) {
    AIF_ASSIGN_OR_RETURN(a.usual_training_precision,
                         ReadPrecision(doc, n["usual_training_precision"], JoinPath(path, "usual_training_precision")));
    present.push_back("usual_training_precision");
  }
  if (const YAML::Node in = n["usual_training_precision_in"]) {
    std::string p = JoinPath(path, "usual_training_precision_in");
    AIF_RETURN_IF_ERROR(doc.ExpectMap(in, p));
    for (const auto& kv : in) {
      if (!kv.first.IsScalar() || kv.first.Scalar().empty()) return doc.Error(kv.first, p, "keys must be framework names");
      const std::string framework = kv.first.Scalar();
      AIF_ASSIGN_OR_RETURN(catalog::Precision precision, ReadPrecision(doc, kv.second, JoinPath(p, framework)));
      a.usual_training_precision_in.emplace_back(framework, precision);
      present.push_back("usual_training_precision_in." + framework);
    }
  }
  AIF_RETURN_IF_ERROR(doc.ReadSources(n, path, present, &a.sources));
  Status s = cat->Add(std::move(a));
  return s.ok() ? s : doc.Error(n, path, s.message());
}

Status ReadFabric(const YamlDocument& doc, const YAML::Node& n, const std::string& path, catalog::Catalog* cat) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(n, path, {"id", "name", "kind", "port_bandwidth", "latency",
                                              "in_network_reduction", "sources", "notes"}));
  catalog::Fabric f;
  std::vector<std::string> present;
  AIF_ASSIGN_OR_RETURN(f.id, doc.String(n, "id", JoinPath(path, "id")));
  if (n["name"]) { AIF_ASSIGN_OR_RETURN(f.name, doc.String(n, "name", JoinPath(path, "name"))); }
  AIF_ASSIGN_OR_RETURN(f.kind, doc.String(n, "kind", JoinPath(path, "kind")));
  if (f.kind != "infiniband" && f.kind != "roce" && f.kind != "ethernet") {
    return doc.Error(n["kind"], JoinPath(path, "kind"), "expected infiniband, roce or ethernet");
  }
  AIF_ASSIGN_OR_RETURN(double bw, doc.Quantity(n, "port_bandwidth", JoinPath(path, "port_bandwidth"), Dimension::kBytesPerSecond));
  f.port_bandwidth = BytesPerSecond(bw);
  present.push_back("port_bandwidth");
  if (n["latency"]) {
    AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(n, "latency", JoinPath(path, "latency"), Dimension::kSeconds));
    f.latency = Seconds(v);
    present.push_back("latency");
  }
  if (n["in_network_reduction"]) {
    AIF_ASSIGN_OR_RETURN(f.in_network_reduction, doc.Bool(n, "in_network_reduction", JoinPath(path, "in_network_reduction")));
    present.push_back("in_network_reduction");
  }
  AIF_RETURN_IF_ERROR(doc.ReadSources(n, path, present, &f.sources));
  Status s = cat->Add(std::move(f));
  return s.ok() ? s : doc.Error(n, path, s.message());
}

Status ReadSystem(const YamlDocument& doc, const YAML::Node& n, const std::string& path, catalog::Catalog* cat) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(n, path, {"id", "name", "accelerator", "gpus_per_node", "nvlink_domain",
                                              "scale_out_fabric", "nics_per_gpu", "host_link", "host_memory", "sources",
                                              "notes"}));
  catalog::System s;
  AIF_ASSIGN_OR_RETURN(s.id, doc.String(n, "id", JoinPath(path, "id")));
  if (n["name"]) { AIF_ASSIGN_OR_RETURN(s.name, doc.String(n, "name", JoinPath(path, "name"))); }
  AIF_ASSIGN_OR_RETURN(s.accelerator, doc.String(n, "accelerator", JoinPath(path, "accelerator")));
  AIF_ASSIGN_OR_RETURN(s.scale_out_fabric, doc.String(n, "scale_out_fabric", JoinPath(path, "scale_out_fabric")));
  AIF_ASSIGN_OR_RETURN(long long g, doc.Integer(n, "gpus_per_node", JoinPath(path, "gpus_per_node"), 1, 4096));
  AIF_ASSIGN_OR_RETURN(long long d, doc.Integer(n, "nvlink_domain", JoinPath(path, "nvlink_domain"), 1, 1 << 20));
  long long nics = 1;
  if (n["nics_per_gpu"]) { AIF_ASSIGN_OR_RETURN(nics, doc.Integer(n, "nics_per_gpu", JoinPath(path, "nics_per_gpu"), 1, 64)); }
  s.gpus_per_node = static_cast<int>(g);
  s.nvlink_domain = static_cast<int>(d);
  s.nics_per_gpu = static_cast<int>(nics);
  std::vector<std::string> present = {"gpus_per_node", "nvlink_domain", "scale_out_fabric"};
  if (n["nics_per_gpu"]) present.push_back("nics_per_gpu");
  if (n["host_link"]) {
    AIF_ASSIGN_OR_RETURN(double bw, doc.Quantity(n, "host_link", JoinPath(path, "host_link"), Dimension::kBytesPerSecond));
    if (bw <= 0) return doc.Error(n["host_link"], JoinPath(path, "host_link"), "must be positive");
    s.host_link_bandwidth = BytesPerSecond(bw);
    present.push_back("host_link");
  }
  if (n["host_memory"]) {
    AIF_ASSIGN_OR_RETURN(double bytes, doc.Quantity(n, "host_memory", JoinPath(path, "host_memory"), Dimension::kBytes));
    if (bytes <= 0) return doc.Error(n["host_memory"], JoinPath(path, "host_memory"), "must be positive");
    s.host_memory = Bytes(bytes);
    present.push_back("host_memory");
  }
  AIF_RETURN_IF_ERROR(doc.ReadSources(n, path, present, &s.sources));
  Status st = cat->Add(std::move(s));
  return st.ok() ? st : doc.Error(n, path, st.message());
}

}  // namespace

Result<catalog::Precision> ReadPrecision(const YamlDocument& doc, const YAML::Node& node, const std::string& path) {
  AIF_ASSIGN_OR_RETURN(std::string text, doc.String(node, path));
  auto precision = catalog::ParsePrecision(text);
  if (!precision.ok()) return doc.Error(node, path, precision.status().message());
  return *precision;
}

Result<catalog::Model> ParseModel(const YamlDocument& doc, const YAML::Node& n, const std::string& path) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(n, path, {"id", "name", "layers", "hidden", "heads", "kv_heads", "head_dim",
                                              "ffn_hidden", "vocab", "mlp", "tied_embeddings", "params_b",
                                              "active_params_b", "moe", "mla", "attention", "mtp_layers",
                                              "sources", "notes"}));
  catalog::Model m;
  AIF_ASSIGN_OR_RETURN(m.id, doc.String(n, "id", JoinPath(path, "id")));
  if (n["name"]) { AIF_ASSIGN_OR_RETURN(m.name, doc.String(n, "name", JoinPath(path, "name"))); }
  auto integer = [&](const YAML::Node& parent, const std::string& p, const char* key, int* out, bool required) -> Status {
    if (!parent[key]) {
      if (required) return doc.Error(parent, JoinPath(p, key), "missing required key");
      return Status::Ok();
    }
    AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(parent[key], JoinPath(p, key), 0, 1LL << 31));
    *out = static_cast<int>(v);
    return Status::Ok();
  };
  AIF_RETURN_IF_ERROR(integer(n, path, "layers", &m.layers, true));
  AIF_RETURN_IF_ERROR(integer(n, path, "hidden", &m.hidden, true));
  AIF_RETURN_IF_ERROR(integer(n, path, "heads", &m.heads, true));
  AIF_RETURN_IF_ERROR(integer(n, path, "kv_heads", &m.kv_heads, false));
  if (m.kv_heads == 0) m.kv_heads = m.heads;
  AIF_RETURN_IF_ERROR(integer(n, path, "head_dim", &m.head_dim, false));
  if (m.head_dim == 0 && m.heads > 0) m.head_dim = m.hidden / m.heads;
  AIF_RETURN_IF_ERROR(integer(n, path, "ffn_hidden", &m.ffn_hidden, false));
  AIF_RETURN_IF_ERROR(integer(n, path, "vocab", &m.vocab, true));
  AIF_RETURN_IF_ERROR(integer(n, path, "mtp_layers", &m.mtp_layers, false));
  if (n["mlp"]) {
    AIF_ASSIGN_OR_RETURN(std::string mlp, doc.String(n, "mlp", JoinPath(path, "mlp")));
    if (mlp == "swiglu") m.mlp = catalog::MlpKind::kSwiGlu;
    else if (mlp == "gelu") m.mlp = catalog::MlpKind::kGelu;
    else if (mlp == "relu2") m.mlp = catalog::MlpKind::kRelu2;
    else return doc.Error(n["mlp"], JoinPath(path, "mlp"), "expected swiglu, gelu or relu2");
  }
  if (n["tied_embeddings"]) {
    AIF_ASSIGN_OR_RETURN(m.tied_embeddings, doc.Bool(n, "tied_embeddings", JoinPath(path, "tied_embeddings")));
  }
  std::vector<std::string> present = {"architecture"};
  if (n["params_b"]) {
    AIF_ASSIGN_OR_RETURN(m.params_b, doc.Number(n, "params_b", JoinPath(path, "params_b")));
    present.push_back("params_b");
  }
  if (n["active_params_b"]) {
    AIF_ASSIGN_OR_RETURN(m.active_params_b, doc.Number(n, "active_params_b", JoinPath(path, "active_params_b")));
    present.push_back("active_params_b");
  }
  if (const YAML::Node moe = n["moe"]) {
    std::string p = JoinPath(path, "moe");
    AIF_RETURN_IF_ERROR(doc.CheckKeys(moe, p, {"experts", "top_k", "expert_ffn_hidden", "shared_experts",
                                               "shared_expert_ffn_hidden", "dense_layers", "layer_freq", "groups",
                                               "groups_per_token"}));
    catalog::MoeSpec e;
    AIF_RETURN_IF_ERROR(integer(moe, p, "experts", &e.experts, true));
    AIF_RETURN_IF_ERROR(integer(moe, p, "top_k", &e.top_k, true));
    AIF_RETURN_IF_ERROR(integer(moe, p, "expert_ffn_hidden", &e.expert_ffn_hidden, true));
    AIF_RETURN_IF_ERROR(integer(moe, p, "shared_experts", &e.shared_experts, false));
    AIF_RETURN_IF_ERROR(integer(moe, p, "shared_expert_ffn_hidden", &e.shared_expert_ffn_hidden, false));
    AIF_RETURN_IF_ERROR(integer(moe, p, "dense_layers", &e.dense_layers, false));
    AIF_RETURN_IF_ERROR(integer(moe, p, "layer_freq", &e.layer_freq, false));
    if (e.layer_freq == 0) e.layer_freq = 1;
    AIF_RETURN_IF_ERROR(integer(moe, p, "groups", &e.groups, false));
    if (e.groups == 0) e.groups = 1;
    // Without groups_per_token a token may draw from every group: no limit.
    e.groups_per_token = 0;
    AIF_RETURN_IF_ERROR(integer(moe, p, "groups_per_token", &e.groups_per_token, false));
    if (e.groups_per_token == 0) e.groups_per_token = e.groups;
    m.moe = e;
  }
  if (const YAML::Node mla = n["mla"]) {
    std::string p = JoinPath(path, "mla");
    AIF_RETURN_IF_ERROR(doc.CheckKeys(mla, p, {"q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"}));
    catalog::MlaSpec a;
    AIF_RETURN_IF_ERROR(integer(mla, p, "q_lora_rank", &a.q_lora_rank, false));
    AIF_RETURN_IF_ERROR(integer(mla, p, "kv_lora_rank", &a.kv_lora_rank, true));
    AIF_RETURN_IF_ERROR(integer(mla, p, "qk_nope_head_dim", &a.qk_nope_head_dim, true));
    AIF_RETURN_IF_ERROR(integer(mla, p, "qk_rope_head_dim", &a.qk_rope_head_dim, true));
    AIF_RETURN_IF_ERROR(integer(mla, p, "v_head_dim", &a.v_head_dim, true));
    m.mla = a;
  }
  if (const YAML::Node att = n["attention"]) {
    std::string p = JoinPath(path, "attention");
    AIF_RETURN_IF_ERROR(doc.CheckKeys(att, p, {"sliding_window", "sliding_every"}));
    AIF_RETURN_IF_ERROR(integer(att, p, "sliding_window", &m.sliding_window, false));
    AIF_RETURN_IF_ERROR(integer(att, p, "sliding_every", &m.sliding_every, false));
  }
  AIF_RETURN_IF_ERROR(doc.ReadSources(n, path, present, &m.sources));
  Status valid = m.Validate();
  if (!valid.ok()) return doc.Error(n, path, valid.message());
  return m;
}

namespace {

Status ReadModel(const YamlDocument& doc, const YAML::Node& n, const std::string& path, catalog::Catalog* cat) {
  AIF_ASSIGN_OR_RETURN(catalog::Model m, ParseModel(doc, n, path));
  Status s = cat->Add(std::move(m));
  return s.ok() ? s : doc.Error(n, path, s.message());
}

Status ReadCalibration(const YamlDocument& doc, const YAML::Node& n, const std::string& path, catalog::Catalog* cat) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(n, path, {"accelerator", "gemm_16bit", "gemm_8bit", "gemm_4bit", "grouped_gemm",
                                              "attention", "memory", "scale_up", "scale_out", "scale_up_latency", "host_kernel",
                                              "overlap_slowdown", "kernel_shapes", "sources", "notes"}));
  catalog::KernelEfficiency k;
  AIF_ASSIGN_OR_RETURN(k.accelerator, doc.String(n, "accelerator", JoinPath(path, "accelerator")));
  std::vector<std::string> present;
  for (auto [key, field] : {std::pair{"gemm_16bit", &k.gemm_16bit}, {"gemm_8bit", &k.gemm_8bit}, {"gemm_4bit", &k.gemm_4bit},
                            {"grouped_gemm", &k.grouped_gemm}, {"attention", &k.attention}, {"memory", &k.memory}, {"scale_up", &k.scale_up},
                            {"scale_out", &k.scale_out}}) {
    if (!n[key]) return doc.Error(n, JoinPath(path, key), "missing required key");
    AIF_ASSIGN_OR_RETURN(double v, doc.Number(n[key], JoinPath(path, key)));
    if (v <= 0 || v > 1) return doc.Error(n[key], JoinPath(path, key), "an efficiency must be in (0, 1]");
    *field = v;
    present.push_back(key);
  }
  AIF_ASSIGN_OR_RETURN(double lat, doc.Quantity(n, "scale_up_latency", JoinPath(path, "scale_up_latency"), Dimension::kSeconds));
  k.scale_up_latency = Seconds(lat);
  present.push_back("scale_up_latency");
  AIF_ASSIGN_OR_RETURN(double host, doc.Quantity(n, "host_kernel", JoinPath(path, "host_kernel"), Dimension::kSeconds));
  if (host < 0 || host > 1e-3) return doc.Error(n["host_kernel"], JoinPath(path, "host_kernel"), "must be between 0 and 1 ms");
  k.host_kernel = Seconds(host);
  present.push_back("host_kernel");
  if (!n["overlap_slowdown"]) return doc.Error(n, JoinPath(path, "overlap_slowdown"), "missing required key");
  AIF_ASSIGN_OR_RETURN(k.overlap_slowdown, doc.Number(n["overlap_slowdown"], JoinPath(path, "overlap_slowdown")));
  if (k.overlap_slowdown < 0 || k.overlap_slowdown >= 1) {
    return doc.Error(n["overlap_slowdown"], JoinPath(path, "overlap_slowdown"), "expected a fraction in [0, 1)");
  }
  present.push_back("overlap_slowdown");
  if (n["kernel_shapes"]) {
    AIF_ASSIGN_OR_RETURN(k.kernel_shapes_id, doc.String(n, "kernel_shapes", JoinPath(path, "kernel_shapes")));
    present.push_back("kernel_shapes");
  }
  AIF_RETURN_IF_ERROR(doc.ReadSources(n, path, present, &k.sources));
  Status s = cat->Add(std::move(k));
  return s.ok() ? s : doc.Error(n, path, s.message());
}

// A flow list of numbers, e.g. [64, 128, 256].
Status ReadNumbers(const YamlDocument& doc, const YAML::Node& n, const std::string& path, std::vector<double>* out) {
  AIF_RETURN_IF_ERROR(doc.ExpectSequence(n, path));
  for (size_t i = 0; i < n.size(); ++i) {
    AIF_ASSIGN_OR_RETURN(double v, doc.Number(n[i], JoinPath(path, i)));
    out->push_back(v);
  }
  return Status::Ok();
}

Status ReadKernelShapes(const YamlDocument& doc, const YAML::Node& n, const std::string& path, catalog::Catalog* cat) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(n, path, {"id", "measured_on", "gemm", "attention", "sources", "notes"}));
  catalog::KernelShapes k;
  AIF_ASSIGN_OR_RETURN(k.id, doc.String(n, "id", JoinPath(path, "id")));
  std::vector<std::string> present;
  if (const YAML::Node on = n["measured_on"]) {
    const std::string op = JoinPath(path, "measured_on");
    AIF_RETURN_IF_ERROR(doc.CheckKeys(on, op, {"peak_bf16", "peak_fp8", "bandwidth"}));
    for (auto [key, field] : {std::pair{"peak_bf16", &k.peak_16bit}, {"peak_fp8", &k.peak_8bit}}) {
      if (!on[key]) continue;
      AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(on, key, JoinPath(op, key), Dimension::kFlopsPerSecond));
      *field = FlopsPerSecond(v);
      present.push_back(std::string("measured_on.") + key);
    }
    if (on["bandwidth"]) {
      AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(on, "bandwidth", JoinPath(op, "bandwidth"), Dimension::kBytesPerSecond));
      k.bandwidth = BytesPerSecond(v);
      present.push_back("measured_on.bandwidth");
    }
  }
  if (const YAML::Node g = n["gemm"]) {
    const std::string gp = JoinPath(path, "gemm");
    AIF_RETURN_IF_ERROR(doc.CheckKeys(g, gp, {"m", "n", "k", "bf16", "fp8"}));
    for (auto [key, axis] : {std::pair{"m", &k.m}, {"n", &k.n}, {"k", &k.k}}) {
      if (!g[key]) return doc.Error(g, JoinPath(gp, key), "missing required key");
      AIF_RETURN_IF_ERROR(ReadNumbers(doc, g[key], JoinPath(gp, key), axis));
    }
    // One row per (m, n), m-major: the efficiencies along k.
    for (auto [key, grid] : {std::pair{"bf16", &k.gemm_16bit}, {"fp8", &k.gemm_8bit}}) {
      if (!g[key]) continue;
      const std::string kp = JoinPath(gp, key);
      AIF_RETURN_IF_ERROR(doc.ExpectSequence(g[key], kp));
      if (g[key].size() != k.m.size() * k.n.size()) {
        return doc.Error(g[key], kp, fmt::format("expected one row per (m, n): {} rows", k.m.size() * k.n.size()));
      }
      for (size_t r = 0; r < g[key].size(); ++r) {
        const size_t before = grid->size();
        AIF_RETURN_IF_ERROR(ReadNumbers(doc, g[key][r], JoinPath(kp, r), grid));
        if (grid->size() - before != k.k.size()) {
          return doc.Error(g[key][r], JoinPath(kp, r), fmt::format("expected {} efficiencies, one per k", k.k.size()));
        }
      }
      present.push_back(std::string("gemm.") + key);
    }
  }
  if (const YAML::Node a = n["attention"]) {
    const std::string ap = JoinPath(path, "attention");
    AIF_RETURN_IF_ERROR(doc.CheckKeys(a, ap, {"causal", "full"}));
    for (auto [kind, axis, eff] : {std::tuple{"causal", &k.causal_seq, &k.causal}, {"full", &k.full_seq, &k.full}}) {
      const YAML::Node series = a[kind];
      if (!series) continue;
      const std::string sp = JoinPath(ap, kind);
      AIF_RETURN_IF_ERROR(doc.CheckKeys(series, sp, {"seq", "bf16"}));
      for (auto [key, v] : {std::pair{"seq", axis}, {"bf16", eff}}) {
        if (!series[key]) return doc.Error(series, JoinPath(sp, key), "missing required key");
        AIF_RETURN_IF_ERROR(ReadNumbers(doc, series[key], JoinPath(sp, key), v));
      }
      if (axis->size() != eff->size()) return doc.Error(series["bf16"], JoinPath(sp, "bf16"), "expected one efficiency per seq");
      present.push_back(std::string("attention.") + kind);
    }
  }
  AIF_RETURN_IF_ERROR(doc.ReadSources(n, path, present, &k.sources));
  Status s = cat->Add(std::move(k));
  return s.ok() ? s : doc.Error(n, path, s.message());
}

}  // namespace

Status LoadCatalogText(std::string_view text, const std::string& file, catalog::Catalog* cat) {
  AIF_ASSIGN_OR_RETURN(YamlDocument doc, YamlDocument::Parse(text, file));
  const YAML::Node& root = doc.root();
  AIF_RETURN_IF_ERROR(doc.CheckKeys(root, "", {"accelerators", "systems", "fabrics", "models", "kernel_shapes", "calibration"}));
  using Reader = Status (*)(const YamlDocument&, const YAML::Node&, const std::string&, catalog::Catalog*);
  for (auto [key, reader] : {std::pair<const char*, Reader>{"accelerators", ReadAccelerator}, {"fabrics", ReadFabric},
                             {"systems", ReadSystem}, {"models", ReadModel}, {"kernel_shapes", ReadKernelShapes},
                             {"calibration", ReadCalibration}}) {
    const YAML::Node list = root[key];
    if (!list) continue;
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(list, key));
    for (size_t i = 0; i < list.size(); ++i) {
      AIF_RETURN_IF_ERROR(reader(doc, list[i], JoinPath(key, i), cat));
    }
  }
  return Status::Ok();
}

Result<std::string_view> BuiltinFile(std::string_view path) {
  for (const auto& [name, text] : builtin::Files()) {
    if (name == path) return text;
  }
  return NotFound(fmt::format("no built-in file '{}'", path));
}

Result<catalog::Catalog> LoadBuiltinCatalog() {
  catalog::Catalog cat;
  for (const auto& [name, text] : builtin::Files()) {
    if (name.substr(0, 13) != "data/catalog/") continue;
    AIF_RETURN_IF_ERROR(LoadCatalogText(text, std::string(name), &cat));
  }
  AIF_RETURN_IF_ERROR(cat.CheckReferences());
  return cat;
}

}  // namespace aif::config
