#!/usr/bin/env python3
"""Measure the kernels the step model prices, on the GPU this runs on.

Writes one CSV (``--out``) of measured kernel times and a JSON of the machine's facts beside it:

- ``gemm``: dense GEMM time by shape (m x k times k x n), BF16 (torch.matmul -> cuBLAS) and FP8
  e4m3 with per-tensor scales (torch._scaled_mm -> cuBLASLt, Transformer Engine's FP8 GEMM
  path). Each shape is captured R times in one CUDA graph and replayed, so the time is the GPU's
  alone (no host launch), the figure the step model's GEMM time stands for.
- ``expert_gemm``: the GEMMs of one MoE layer's local experts as Transformer Engine's
  GroupedLinear runs them (one GEMM per expert, one after another on a stream), by tokens per
  expert, again graph-captured.
- ``host``: host time per eagerly launched kernel: a PyTorch op on a tiny tensor (dispatch and
  launch), a bare CUDA launch of an empty kernel (CuPy), and a graph replay's time per kernel.
- ``attention``: fused causal attention forward and forward + backward (PyTorch SDPA, flash and
  cuDNN back ends), head dim 128.
- ``memory``: device copy and a triad (a = b + s c) of 1 GiB tensors.

Needs PyTorch with CUDA (and CuPy for the bare launch). Deterministic shapes; timings are the
median of ``--repeats`` timed graph replays after warm-up.
"""
import argparse
import csv
import json
import math
import os
import platform
import random
import statistics
import sys
import time

import torch

FIELDS = ["kind", "variant", "precision", "m", "n", "k", "count", "seconds", "tflops", "tbps", "note"]


def median_replay_seconds(graph, repeats):
    times = []
    for _ in range(repeats):
        s = torch.cuda.Event(enable_timing=True)
        e = torch.cuda.Event(enable_timing=True)
        s.record()
        graph.replay()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e) / 1e3)
    return statistics.median(times)


def captured(fn, calls):
    """A CUDA graph of `calls` calls of fn (after an eager warm-up on a side stream)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(calls):
            fn()
    torch.cuda.synchronize()
    return g


def time_per_call(fn, est_seconds, repeats, target=2e-3, max_calls=64):
    calls = int(max(1, min(max_calls, math.ceil(target / max(est_seconds, 1e-7)))))
    g = captured(fn, calls)
    g.replay()
    torch.cuda.synchronize()
    t = median_replay_seconds(g, repeats) / calls
    del g
    return t, calls


class Out:
    def __init__(self, path):
        self.f = open(path, "w", newline="")
        self.w = csv.DictWriter(self.f, fieldnames=FIELDS)
        self.w.writeheader()

    def row(self, **kw):
        r = {k: kw.get(k, "") for k in FIELDS}
        for k in ("seconds",):
            if r[k] != "":
                r[k] = f"{r[k]:.6e}"
        for k in ("tflops", "tbps"):
            if r[k] != "":
                r[k] = f"{r[k]:.2f}"
        self.w.writerow(r)
        self.f.flush()


def gemm_section(out, args, deadline):
    dev = "cuda"
    dims_m = [int(x) for x in args.m.split(",")]
    dims_nk = [int(x) for x in args.nk.split(",")]
    big = max(dims_m + dims_nk)
    a_all = torch.randn(big * big, device=dev, dtype=torch.bfloat16)
    b_all = torch.randn(big * big, device=dev, dtype=torch.bfloat16)
    a8_all = a_all.to(torch.float8_e4m3fn)
    b8_all = b_all.to(torch.float8_e4m3fn)
    one = torch.ones((), device=dev, dtype=torch.float32)
    have_fp8 = hasattr(torch, "_scaled_mm")
    # Every shape `--grid-repeats` times, each sweep in its own shuffled order, so that clock and
    # temperature drift spread over the grid instead of following its order.
    points = [(prec, m, n, k) for prec in ("bf16", "fp8") if prec == "bf16" or have_fp8
              for m in dims_m for n in dims_nk for k in dims_nk]
    for rep in range(args.grid_repeats):
        order = list(points)
        random.Random(rep).shuffle(order)
        for prec, m, n, k in order:
            peak = 989e12 if prec == "bf16" else 1979e12
            if time.time() > deadline:
                print("gemm: time budget reached", flush=True)
                return
            if prec == "bf16":
                a = a_all[: m * k].view(m, k)
                b = b_all[: k * n].view(k, n)
                o = torch.empty(m, n, device=dev, dtype=torch.bfloat16)
                fn = lambda a=a, b=b, o=o: torch.matmul(a, b, out=o)
            else:
                a = a8_all[: m * k].view(m, k)
                b = b8_all[: k * n].view(n, k).t()  # column-major k x n
                fn = lambda a=a, b=b: torch._scaled_mm(a, b, scale_a=one, scale_b=one,
                                                       out_dtype=torch.bfloat16)
            flops = 2.0 * m * n * k
            est = flops / (0.6 * peak) + 3e-6
            try:
                t, calls = time_per_call(fn, est, args.repeats)
            except Exception as ex:  # a shape a back end refuses
                out.row(kind="gemm", variant="matmul", precision=prec, m=m, n=n, k=k,
                        note=f"sweep {rep} error: {type(ex).__name__}: {ex}"[:200])
                continue
            out.row(kind="gemm", variant="matmul" if prec == "bf16" else "scaled_mm",
                    precision=prec, m=m, n=n, k=k, count=calls, seconds=t,
                    tflops=flops / t / 1e12, note=f"sweep {rep}")
        print(f"gemm sweep {rep}: done", flush=True)
    del a_all, b_all, a8_all, b8_all
    torch.cuda.empty_cache()


# Dense models of the validation file: (hidden, ffn, heads, kv heads, head dim).
DENSE_SHAPES = [
    ("llama3-8b", 4096, 14336, 32, 8, 128),
    ("llama3-70b", 8192, 28672, 64, 8, 128),
    ("llama3-405b", 16384, 53248, 128, 8, 128),
]


def model_gemm_section(out, args, deadline):
    """A layer's forward GEMMs at real shapes (not powers of two), a check on the grid."""
    dev = "cuda"
    one = torch.ones((), device=dev, dtype=torch.float32)
    for name, h, f, heads, kv, d in DENSE_SHAPES:
        for tp in (1, 2, 4, 8):
            shapes = [("qkv", (heads + 2 * kv) * d // tp, h), ("proj", h, heads * d // tp),
                      ("fc1", 2 * f // tp, h), ("fc2", h, f // tp)]
            for m in (2048, 8192):
                for gname, n, k in shapes:
                    for prec in ("bf16", "fp8"):
                        if time.time() > deadline:
                            print("model gemm: time budget reached", flush=True)
                            return
                        a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
                        b = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
                        if prec == "bf16":
                            o = torch.empty(m, n, device=dev, dtype=torch.bfloat16)
                            fn = lambda a=a, b=b, o=o: torch.matmul(a, b, out=o)
                        else:
                            a8 = a.to(torch.float8_e4m3fn)
                            b8 = b.t().contiguous().to(torch.float8_e4m3fn).t()
                            fn = lambda a8=a8, b8=b8: torch._scaled_mm(a8, b8, scale_a=one, scale_b=one,
                                                                       out_dtype=torch.bfloat16)
                        flops = 2.0 * m * n * k
                        try:
                            t, calls = time_per_call(fn, flops / 5e14 + 3e-6, args.repeats)
                            out.row(kind="model_gemm", variant=gname, precision=prec, m=m, n=n, k=k,
                                    count=calls, seconds=t, tflops=flops / t / 1e12, note=f"{name} tp{tp}")
                        except Exception as ex:
                            out.row(kind="model_gemm", variant=gname, precision=prec, m=m, n=n, k=k,
                                    note=f"error: {type(ex).__name__}: {ex}"[:200])
        print(f"model gemm {name}: done", flush=True)
    torch.cuda.empty_cache()


# (hidden, expert ffn, experts) of the MoE models in the validation file; the experts per GPU
# range over the expert-parallel sizes their plans use.
MOE_SHAPES = [
    ("qwen3-30b-a3b", 2048, 768, [16, 32, 64, 128]),
    ("qwen3-235b-a22b", 4096, 1536, [4, 8, 16, 32]),
    ("deepseek-v3", 7168, 2048, [4, 8, 16, 32]),
    ("gpt-oss-120b", 2880, 2880, [2, 4, 8, 16]),
    ("mixtral-8x7b", 4096, 14336, [1, 2, 4, 8]),
]


def expert_section(out, args, deadline):
    dev = "cuda"
    have_grouped = hasattr(torch, "_grouped_mm")
    for name, h, f, local_list in MOE_SHAPES:
        for local in local_list:
            for tpe in (64, 128, 256, 512, 1024, 2048, 4096):
                if time.time() > deadline:
                    print("expert gemm: time budget reached", flush=True)
                    return
                # fc1 (SwiGLU: 2f outputs) as the forward's larger GEMM: tpe x h times h x 2f
                n, k = 2 * f, h
                x = torch.randn(local, tpe, k, device=dev, dtype=torch.bfloat16)
                w = torch.randn(local, k, n, device=dev, dtype=torch.bfloat16)
                o = torch.empty(local, tpe, n, device=dev, dtype=torch.bfloat16)

                def per_expert(x=x, w=w, o=o, local=local):
                    for e in range(local):
                        torch.matmul(x[e], w[e], out=o[e])

                flops = 2.0 * local * tpe * n * k
                est = flops / (0.5 * 989e12) + local * 3e-6
                t, calls = time_per_call(per_expert, est, args.repeats, max_calls=16)
                out.row(kind="expert_gemm", variant="per_expert_matmul", precision="bf16",
                        m=tpe, n=n, k=k, count=local, seconds=t, tflops=flops / t / 1e12, note=name)
                if args.expert_fp8 and hasattr(torch, "_scaled_mm"):
                    # The FP8 recipes' expert GEMMs: one cuBLASLt FP8 GEMM per expert.
                    x8 = x.to(torch.float8_e4m3fn)
                    w8 = w.transpose(1, 2).contiguous().to(torch.float8_e4m3fn)  # (local, n, k)
                    one = torch.ones((), device=dev, dtype=torch.float32)

                    def per_expert8(x8=x8, w8=w8, local=local, one=one):
                        for e in range(local):
                            torch._scaled_mm(x8[e], w8[e].t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

                    t8, calls = time_per_call(per_expert8, flops / (0.5 * 1979e12) + local * 3e-6, args.repeats,
                                              max_calls=16)
                    out.row(kind="expert_gemm", variant="per_expert_scaled_mm", precision="fp8",
                            m=tpe, n=n, k=k, count=local, seconds=t8, tflops=flops / t8 / 1e12, note=name)
                    del x8, w8
                if have_grouped:
                    xs = x.view(local * tpe, k)
                    wt = w.transpose(1, 2).contiguous().transpose(1, 2)  # (local, k, n) column-major
                    offs = torch.arange(1, local + 1, device=dev, dtype=torch.int32) * tpe
                    try:
                        fn = lambda xs=xs, wt=wt, offs=offs: torch._grouped_mm(xs, wt, offs=offs)
                        tg, calls = time_per_call(fn, est, args.repeats, max_calls=16)
                        out.row(kind="expert_gemm", variant="grouped_mm", precision="bf16",
                                m=tpe, n=n, k=k, count=local, seconds=tg, tflops=flops / tg / 1e12,
                                note=name)
                    except Exception as ex:
                        out.row(kind="expert_gemm", variant="grouped_mm", precision="bf16",
                                m=tpe, n=n, k=k, count=local, note=f"error: {type(ex).__name__}: {ex}"[:200])
                        have_grouped = False
                del x, w, o
        print(f"expert gemm {name}: done", flush=True)
    torch.cuda.empty_cache()


def host_section(out, args):
    dev = "cuda"
    x = torch.ones(16, device=dev)
    y = torch.ones(16, device=dev)
    z = torch.empty(16, device=dev)
    n = 20000
    for variant, fn in (("torch_add_out", lambda: torch.add(x, y, out=z)),
                        ("torch_add_alloc", lambda: torch.add(x, y)),
                        ("torch_linear_small", None)):
        if fn is None:
            a = torch.randn(64, 256, device=dev, dtype=torch.bfloat16)
            wt = torch.randn(256, 256, device=dev, dtype=torch.bfloat16)
            fn = lambda a=a, wt=wt: torch.nn.functional.linear(a, wt)
        for _ in range(1000):
            fn()
        torch.cuda.synchronize()
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            t1 = time.perf_counter()  # host time to issue n launches (queue does not fill at 16 floats)
            torch.cuda.synchronize()
            samples.append((t1 - t0) / n)
        out.row(kind="host", variant=variant, count=n, seconds=statistics.median(samples),
                note="host seconds per eager launch (median of 5 x 20000)")
    # graph replay: GPU time per tiny kernel inside a graph
    g = captured(lambda: torch.add(x, y, out=z), 1000)
    t = median_replay_seconds(g, args.repeats) / 1000
    out.row(kind="host", variant="graph_replay_per_kernel", count=1000, seconds=t,
            note="GPU seconds per tiny kernel replayed in a CUDA graph")
    try:
        import cupy as cp
        k = cp.RawKernel(r'extern "C" __global__ void empty() {}', "empty")
        for _ in range(1000):
            k((1,), (32,), ())
        cp.cuda.Device().synchronize()
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                k((1,), (32,), ())
            t1 = time.perf_counter()
            cp.cuda.Device().synchronize()
            samples.append((t1 - t0) / n)
        out.row(kind="host", variant="cupy_empty_kernel", count=n, seconds=statistics.median(samples),
                note="host seconds per bare launch (CuPy RawKernel)")
    except Exception as ex:
        out.row(kind="host", variant="cupy_empty_kernel", note=f"error: {type(ex).__name__}: {ex}"[:200])
    print("host: done", flush=True)


def attention_section(out, args, deadline):
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    dev = "cuda"
    backends = [("flash", SDPBackend.FLASH_ATTENTION)]
    if hasattr(SDPBackend, "CUDNN_ATTENTION"):
        backends.append(("cudnn", SDPBackend.CUDNN_ATTENTION))
    for seq, causal in ((1024, True), (2048, True), (4096, True), (8192, True), (16384, True),
                        (1024, False), (2048, False), (4096, False), (8192, False)):
        heads = 32
        batch = max(1, 16384 // seq)
        d = 128
        q = torch.randn(batch, heads, seq, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
        kk = torch.randn(batch, heads, seq, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
        v = torch.randn(batch, heads, seq, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
        fwd_flops = 4.0 * batch * heads * seq * seq * d / (2 if causal else 1)  # causal: half the scores
        tag = "" if causal else "full_"
        for bname, be in backends:
            if time.time() > deadline:
                print("attention: time budget reached", flush=True)
                return
            try:
                with sdpa_kernel(be):
                    fn = lambda: F.scaled_dot_product_attention(q, kk, v, is_causal=causal)
                    for _ in range(3):
                        fn()
                    torch.cuda.synchronize()
                    ts = []
                    for _ in range(args.repeats):
                        s = torch.cuda.Event(enable_timing=True)
                        e = torch.cuda.Event(enable_timing=True)
                        s.record(); fn(); e.record(); e.synchronize()
                        ts.append(s.elapsed_time(e) / 1e3)
                    tf = statistics.median(ts)
                    out.row(kind="attention", variant=f"{tag}{bname}_fwd", precision="bf16", m=seq, n=heads,
                            k=d, count=batch, seconds=tf, tflops=fwd_flops / tf / 1e12)
                    go = torch.randn(batch, heads, seq, d, device=dev, dtype=torch.bfloat16)
                    ts = []
                    for i in range(args.repeats + 2):
                        s = torch.cuda.Event(enable_timing=True)
                        e = torch.cuda.Event(enable_timing=True)
                        s.record()
                        o = fn()
                        o.backward(go)
                        e.record(); e.synchronize()
                        if i >= 2:
                            ts.append(s.elapsed_time(e) / 1e3)
                        q.grad = kk.grad = v.grad = None
                    tb = statistics.median(ts)
                    out.row(kind="attention", variant=f"{tag}{bname}_fwd_bwd", precision="bf16", m=seq,
                            n=heads, k=d, count=batch, seconds=tb, tflops=3.5 * fwd_flops / tb / 1e12,
                            note="FLOPs counted as 3.5x the forward's (backward 2.5x)")
            except Exception as ex:
                out.row(kind="attention", variant=f"{tag}{bname}", m=seq, note=f"error: {type(ex).__name__}: {ex}"[:200])
        del q, kk, v
    print("attention: done", flush=True)


def memory_section(out, args):
    dev = "cuda"
    n = (1 << 30) // 4
    a = torch.empty(n, device=dev, dtype=torch.float32)
    b = torch.rand(n, device=dev, dtype=torch.float32)
    c = torch.rand(n, device=dev, dtype=torch.float32)
    for variant, fn, nbytes in (("copy", lambda: a.copy_(b), 2 * 4 * n),
                                ("triad", lambda: torch.add(b, c, alpha=3.0, out=a), 3 * 4 * n)):
        t, calls = time_per_call(fn, nbytes / 4e12, args.repeats, target=20e-3, max_calls=16)
        out.row(kind="memory", variant=variant, precision="fp32", count=n, seconds=t, tbps=nbytes / t / 1e12,
                note="bytes read + written")
    print("memory: done", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--m", default="64,128,256,512,1024,2048,4096,8192,16384")
    ap.add_argument("--nk", default="512,1024,2048,4096,8192,16384")
    ap.add_argument("--budget", type=float, default=300, help="seconds for the GEMM sweeps")
    ap.add_argument("--grid-repeats", type=int, default=3, help="sweeps of the GEMM grid")
    ap.add_argument("--expert-fp8", action="store_true", help="also time the expert GEMMs in FP8")
    ap.add_argument("--sections", default="memory,host,gemm,model,expert,attention")
    args = ap.parse_args()
    assert torch.cuda.is_available(), "no CUDA device"
    torch.manual_seed(0)
    start = time.time()
    props = torch.cuda.get_device_properties(0)
    facts = {
        "gpu": props.name, "sms": props.multi_processor_count,
        "memory_bytes": props.total_memory, "torch": torch.__version__,
        "cuda": torch.version.cuda, "cublas": getattr(torch.backends.cuda, "preferred_blas_library", lambda: "")().__str__(),
        "cudnn": torch.backends.cudnn.version(), "python": platform.python_version(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    try:
        import subprocess
        facts["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,power.limit",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as ex:
        facts["nvidia_smi"] = f"error: {ex}"
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(facts, f, indent=1)
    print(json.dumps(facts), flush=True)
    out = Out(args.out)
    sections = args.sections.split(",")
    deadline = start + args.budget
    plan = [("memory", lambda: memory_section(out, args)),
            ("host", lambda: host_section(out, args)),
            ("gemm", lambda: gemm_section(out, args, start + 0.55 * args.budget)),
            ("model", lambda: model_gemm_section(out, args, start + 0.65 * args.budget)),
            ("expert", lambda: expert_section(out, args, start + 0.85 * args.budget)),
            ("attention", lambda: attention_section(out, args, deadline))]
    for name, run in plan:
        if name not in sections:
            continue
        try:
            run()
        except Exception as ex:  # keep the other sections' figures
            print(f"{name}: failed: {type(ex).__name__}: {ex}", flush=True)
            out.row(kind=name, note=f"section failed: {type(ex).__name__}: {ex}"[:200])
            torch.cuda.synchronize()
    print(f"total {time.time() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
