// Hand-built training inputs shared by the train tests: public model shapes and a DGX H100
// cluster with round efficiencies (the tests check relations, not calibrated numbers).
#pragma once

#include "aifactory/catalog/model.h"
#include "aifactory/train/job.h"

namespace aif::testing {

// Llama 3 8B (meta-llama/llama-models sku_list.py).
inline catalog::Model Llama3_8B() {
  catalog::Model m;
  m.id = "llama3-8b";
  m.layers = 32;
  m.hidden = 4096;
  m.heads = 32;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.ffn_hidden = 14336;
  m.vocab = 128256;
  return m;
}

// DGX H100 built by hand: datasheet peaks, round calibration numbers.
inline train::Cluster H100Cluster(int gpus) {
  train::Cluster c;
  c.accelerator.id = "h100-sxm";
  c.accelerator.peak_bf16 = FlopsPerSecond(989e12);
  c.accelerator.peak_fp16 = FlopsPerSecond(989e12);
  c.accelerator.peak_fp8 = FlopsPerSecond(1979e12);
  c.accelerator.hbm_capacity = Bytes(80e9);
  c.accelerator.hbm_bandwidth = BytesPerSecond(3.35e12);
  c.accelerator.scale_up_bandwidth = BytesPerSecond(450e9);
  c.accelerator.tdp = Watts(700);
  c.system.id = "dgx-h100";
  c.system.accelerator = "h100-sxm";
  c.system.gpus_per_node = 8;
  c.system.nvlink_domain = 8;
  c.system.scale_out_fabric = "ib-ndr";
  c.fabric.id = "ib-ndr";
  c.fabric.kind = "infiniband";
  c.fabric.port_bandwidth = BytesPerSecond(50e9);
  c.fabric.latency = Seconds(14e-6);
  c.efficiency.accelerator = "h100-sxm";
  c.efficiency.gemm_16bit = 0.7;
  c.efficiency.gemm_8bit = 0.6;
  c.efficiency.attention = 0.5;
  c.efficiency.memory = 0.8;
  c.efficiency.scale_up = 0.8;
  c.efficiency.scale_out = 0.9;
  c.efficiency.scale_up_latency = Seconds(3.4e-6);
  c.gpus = gpus;
  return c;
}

}  // namespace aif::testing
