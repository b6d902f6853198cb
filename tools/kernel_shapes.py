#!/usr/bin/env python3
"""Writes data/catalog/kernel_shapes.yaml from kernel measurements (tools/gpu/measure_kernels.py).

Each table comes from one accelerator's measurement runs: dense GEMM efficiency over the (m, n, k)
grid per format (the median of every sweep of every run) and fused attention's forward + backward
efficiency per sequence length, causal and unmasked, each as a fraction of the measured
accelerator's peak in data/catalog/accelerators.yaml. The step model uses the tables for the shape
of a kernel relative to the best shape (docs/calibration-method.md).

Usage: tools/kernel_shapes.py [--out data/catalog/kernel_shapes.yaml]
"""
import argparse
import csv
import json
import os
import re
import statistics
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# id -> (measurement CSVs, catalog accelerator measured, attention back end Transformer Engine uses)
TABLES = {
    "h200-2026-12-04": (["data/measurements/h200-kernels-2026-12-04a.csv",
                         "data/measurements/h200-kernels-2026-12-04b.csv"], "h200", "cudnn"),
}


def peaks(accelerator):
    text = open(os.path.join(ROOT, "data/catalog/accelerators.yaml")).read()
    block = text.split(f"- id: {accelerator}\n", 1)[1].split("\n  - id:", 1)[0]
    out = {}
    for key in ("bf16", "fp8"):
        m = re.search(rf'^\s+{key}: "([0-9.]+) TFLOP/s"', block, re.M)
        out[key] = float(m.group(1))
    return out


def table(tid, paths, accelerator, backend):
    peak = peaks(accelerator)
    gemm = defaultdict(list)
    att = {"causal": defaultdict(list), "full": defaultdict(list)}
    sweeps = 0
    triad = []
    for path in paths:
        rows = list(csv.DictReader(open(os.path.join(ROOT, path))))
        sweeps += len({r["note"] for r in rows if r["kind"] == "gemm"})
        for r in rows:
            if r["kind"] == "memory" and r["variant"] == "triad" and r["tbps"]:
                triad.append(float(r["tbps"]))
            if not r["tflops"]:
                continue
            if r["kind"] == "gemm":
                gemm[(r["precision"], int(r["m"]), int(r["n"]), int(r["k"]))].append(float(r["tflops"]))
            elif r["kind"] == "attention" and r["variant"] in (f"{backend}_fwd_bwd", f"full_{backend}_fwd_bwd"):
                series = "full" if r["variant"].startswith("full_") else "causal"
                att[series][int(r["m"])].append(float(r["tflops"]))
    med = {k: statistics.median(v) / peak[k[0]] for k, v in gemm.items()}
    ms = sorted({k[1] for k in med})
    ns = sorted({k[2] for k in med})
    ks = sorted({k[3] for k in med})
    facts = [json.load(open(os.path.join(ROOT, os.path.splitext(p)[0] + ".json"))) for p in paths]
    f0 = facts[0]
    where = (f"tools/gpu/measure_kernels.py on one {f0['gpu']} (driver {f0['nvidia_smi'].split(', ')[1]}, "
             f"PyTorch {f0['torch']}, CUDA {f0['cuda']}, cuDNN {f0['cudnn']}), "
             f"{', '.join(f['date_utc'] for f in facts)} UTC, {', '.join(paths)}")
    bw = statistics.median(triad)
    out = [f"  - id: {tid}", "    measured_on:",
           f'      peak_bf16: "{peak["bf16"]:g} TFLOP/s"',
           f'      peak_fp8: "{peak["fp8"]:g} TFLOP/s"',
           f'      bandwidth: "{bw:g} TB/s"',
           "    gemm:",
           f"      m: [{', '.join(map(str, ms))}]",
           f"      n: [{', '.join(map(str, ns))}]",
           f"      k: [{', '.join(map(str, ks))}]"]
    for prec in ("bf16", "fp8"):
        if not any(k[0] == prec for k in med):
            continue
        out.append(f"      {prec}:  # one row per (m, n), m-major: the efficiency along k")
        for m in ms:
            for n in ns:
                out.append("        - [" + ", ".join(f"{med[(prec, m, n, k)]:.4f}" for k in ks) + "]")
    out.append("    attention:")
    for series in ("causal", "full"):
        pts = sorted((s, statistics.median(v) / peak["bf16"]) for s, v in att[series].items())
        out += [f"      {series}:",
                f"        seq: [{', '.join(str(s) for s, _ in pts)}]",
                f"        bf16: [{', '.join(f'{e:.4f}' for _, e in pts)}]"]
    out += ["    sources:",
            f'      measured_on.peak_bf16: "data/catalog/accelerators.yaml, {accelerator}"',
            f'      measured_on.peak_fp8: "data/catalog/accelerators.yaml, {accelerator}"',
            f'      measured_on.bandwidth: "{where}: triad a = b + s c of 1 GiB fp32 tensors, bytes read and written, '
            f'median of the runs"',
            f'      gemm.bf16: "{where}: torch.matmul (cuBLAS), each shape captured in a CUDA graph, median of 7 replays; '
            f'the median of {sweeps} sweeps of the grid (all but the first in shuffled orders); fraction of the {accelerator} BF16 peak '
            f'{peak["bf16"]:g} TFLOP/s"',
            f'      gemm.fp8: "{where}: torch._scaled_mm (cuBLASLt, E4M3, per-tensor scales), as BF16; '
            f'fraction of the {accelerator} FP8 peak {peak["fp8"]:g} TFLOP/s"',
            f'      attention.causal: "{where}: scaled_dot_product_attention, {backend} back end (Transformer Engine\'s '
            f'fused attention on Hopper), causal, head dim 128, 32 heads, 16,384 tokens per batch, forward + backward '
            f'counted as 3.5x the forward\'s FLOPs; fraction of the BF16 peak"',
            f'      attention.full: "{where}: as attention.causal, unmasked (every query over every key)"']
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data/catalog/kernel_shapes.yaml"))
    args = ap.parse_args()
    lines = ["# Kernel efficiency measured by shape: GEMM over an (m, n, k) grid, fused attention over the",
             "# sequence length, as fractions of the accelerator's peak. Generated by tools/kernel_shapes.py",
             "# from data/measurements/; a calibration entry names the table of its accelerator (or die).",
             "kernel_shapes:"]
    for tid, (paths, acc, backend) in TABLES.items():
        lines += table(tid, paths, acc, backend)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
