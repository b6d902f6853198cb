"""Measured kernel efficiencies per accelerator, each with its source.

tools/calibrate.py starts from these, fits what the training runs can pin down, and writes
data/catalog/calibration.yaml. A value here is a measurement of the kernel class on that
accelerator (microbenchmark), never a fit to a training run.
"""

MAMF = ("stas00/ml-engineering compute/accelerator/README.md @744d01e18b79 "
        "(maximum achievable matmul FLOPS, torch.matmul, best shape)")
NCCL_212 = "NVIDIA/nccl-tests issue #212 (NVIDIA: ring ~370 GB/s busbw on 8x H100 NVLink4, 450 GB/s line rate)"
MLE_NET = "stas00/ml-engineering network/README.md @744d01e18b79 (nccl-tests busbw tables)"
NDR_NIC = "NVIDIA/nccl-tests issues #290 and #267 (NVIDIA: 46-48 GB/s busbw per NDR 400G NIC) -> 47/50"
HDR_NIC = "NVIDIA/nccl-tests issue #119 (NVIDIA: 24 GB/s peak per 200G NIC) -> 24/25"
CW_NVL72 = ("coreweave/nccl-tests README.md @bee97e71ff87 (GB200 NVL72, 72 GPUs, all_reduce busbw "
            "681 GB/s at 1 GiB; 900 GB/s per direction line rate)")
NCCL_TUNING = ("NVIDIA/nccl src/graph/tuning.cc @5067397c2676 (per-hop NVLink latency, Simple protocol: "
               "3.4 us)")
FA3 = ("Shah et al., FlashAttention-3, arXiv 2407.08608, fig. 5-6 (H100 SXM5 BF16, head dim 128: forward "
       "648, backward 561 TFLOP/s at 16K tokens; 989 peak) -> mean of forward and backward")
AZ_H100 = ("Azure/AI-benchmarking-guide Azure_Results/ND_H100_v5_results.md @8fd0c6e1bd0f (STREAM triad "
           "2.97 TB/s of 3.35 peak)")
AZ_A100 = ("Azure/AI-benchmarking-guide Azure_Results/ND_A100_v4 results (STREAM triad 1.70 TB/s of "
           "2.039 peak; FA2 179.5 TFLOP/s at head dim 64)")
AZ_GB200 = ("Azure/AI-benchmarking-guide ND_GB200_v6_results.md @2a370be6de95 (cuBLASLt FP4 8192^3: "
            "7536 TFLOP/s of 10000)")

# Transformer Engine's GEMM benchmark on one B300, inputs quantized beforehand (the 12 GEMMs of a
# hidden-4096 layer): NVFP4 3.764 ms against per-tensor FP8 6.812 ms. Blackwell Ultra's NVFP4 rate
# relative to its measured FP8 one, for the accelerators of that die with no NVFP4 microbenchmark.
TE_B300 = ("NVIDIA/TransformerEngine docs/examples/gemm_profiling/gemm_profiling.rst @8f2e63578e10 (B300, "
           "pre-quantized model-config GEMMs: NVFP4 3.764 ms, FP8 current scaling 6.812 ms)")

H200_KERNELS = ("data/catalog/kernel_shapes.yaml h200-2026-12-04 (tools/gpu/measure_kernels.py on one H200, "
                "2026-12-04: cuDNN fused attention, head dim 128, forward + backward)")

PRIORS = {
    "a100-sxm-80gb": {
        "gemm_16bit": (0.869, MAMF + ": A100 SXM BF16 271.2 / 312"),
        "attention": (0.575, AZ_A100 + " -> 179.5 / 312"),
        "memory": (0.83, AZ_A100),
        "scale_up": (0.76, MLE_NET + ": DGX A100 all_reduce 229 GB/s at 1 GiB / 300"),
        "scale_out": (0.96, HDR_NIC),
    },
    "h100-sxm": {
        "gemm_16bit": (0.803, MAMF + ": H100 SXM BF16 794.5 / 989"),
        "gemm_8bit": (0.709, MAMF + ": H100 SXM FP8 1402.6 / 1979"),
        "attention": (0.5749, H200_KERNELS + ": 568.6 TFLOP/s unmasked at 4,096 keys per query, the best measured, / 989 "
                      "(same GH100 tensor cores and clocks; " + FA3 + " = 0.61, with the backward weighted by its "
                      "2.5x FLOPs 0.59)"),
        "memory": (0.887, AZ_H100),
        "scale_up": (0.815, NCCL_212 + " -> 367/450 (" + MLE_NET + ")"),
        "scale_out": (0.94, NDR_NIC),
    },
    "h200": {
        "gemm_16bit": (0.803, MAMF + ": H100 SXM BF16 794.5 / 989 ('H200 is the same')"),
        "gemm_8bit": (0.734, MAMF + ": H200 FP8 1453.4 / 1979"),
        "attention": (0.5749, H200_KERNELS + ": 568.6 TFLOP/s unmasked at 4,096 keys per query, the best measured, / 989"),
        "memory": (0.910, "data/catalog/kernel_shapes.yaml h200-2026-12-04 measured_on.bandwidth (tools/gpu/measure_kernels.py "
                          "on one H200, 2026-12-04: triad a = b + s c of 1 GiB fp32 tensors, median of the runs "
                          "4.37 TB/s) / 4.8 TB/s"),
        "scale_up": (0.816, MLE_NET + ": 8x H200 ring all_reduce 367.2 GB/s at 16 GiB / 450"),
        "scale_out": (0.94, NDR_NIC),
    },
    "b200": {
        "gemm_16bit": (0.776, MAMF + ": B200 BF16 1745 / 2250"),
        "gemm_8bit": (0.763, MAMF + ": B200 FP8 3432.5 / 4500"),
        "scale_up": (0.758, MLE_NET + ": p6-b200 all_reduce ring 682.2 GB/s / 900"),
        "scale_out": (0.94, NDR_NIC),
    },
    "b300": {
        "gemm_16bit": (0.786, MAMF + ": B300 BF16 1769 / 2250"),
        "gemm_8bit": (0.745, MAMF + ": B300 FP8 3353.3 / 4500"),
        "gemm_4bit": (0.4335, TE_B300 + " x " + MAMF + ": B300 FP8 3353.3 -> 3353.3 x 6.812 / 3.764 = 6069 / 14000"),
        "scale_up": (0.758, MLE_NET + ": p6-b200 all_reduce ring 682.2 GB/s / 900 (same NVLink5 switch)"),
        "scale_out": (0.94, NDR_NIC + " (XDR: same NCCL protocol overhead assumed)"),
    },
    "gb200": {
        "gemm_16bit": (0.729, MAMF + ": GB200 BF16 1822 / 2500"),
        "gemm_8bit": (0.723, MAMF + ": GB200 FP8 3615.6 / 5000"),
        "gemm_4bit": (0.754, AZ_GB200),
        "scale_up": (0.757, CW_NVL72),
        "scale_out": (0.94, NDR_NIC),
    },
    "gb300": {
        "gemm_16bit": (0.729, MAMF + ": GB200 BF16 1822 / 2500 (GB300: same tensor-core BF16 rate)"),
        "gemm_8bit": (0.723, MAMF + ": GB200 FP8 3615.6 / 5000 (GB300: same FP8 rate)"),
        "gemm_4bit": (0.4362, TE_B300 + " x " + MAMF + ": GB200 FP8 3615.6 (GB300: same FP8 rate) -> 3615.6 x 6.812 / 3.764 = 6543 / 15000"),
        "scale_up": (0.757, CW_NVL72 + " (GB300 NVL72: same NVLink5 switch)"),
        "scale_out": (0.94, NDR_NIC + " (XDR: same NCCL protocol overhead assumed)"),
    },
}

# Chips of one family share a die and its kernels: the training-time derating fitted on the runs
# is shared within a family, so that e.g. B200 and GB200 keep their measured ratio.
FAMILY = {
    "a100-sxm-80gb": "ampere",
    "h100-sxm": "hopper",
    "h200": "hopper",
    "b200": "blackwell",
    "gb200": "blackwell",
    "b300": "blackwell-ultra",
    "gb300": "blackwell-ultra",
}

# Kernels measured by shape (data/catalog/kernel_shapes.yaml): the table an accelerator's GEMMs
# and attention take their shape's efficiency from, relative to the best shape. Accelerators of
# one die share the table.
KERNEL_SHAPES = {
    "h100-sxm": ("h200-2026-12-04", "measured on H200, the same GH100 die, tensor cores and clocks as the H100 SXM "
                 "(its faster HBM matters only for the smallest, memory-bound shapes)"),
    "h200": ("h200-2026-12-04", "measured on this accelerator"),
}

# Accelerators with no measured runs take the fitted training derating of a same-die accelerator.
DERATE_FROM = {"h200": "h100-sxm"}

# Every accelerator shares the NVLink per-hop latency model of NCCL.
SCALE_UP_LATENCY = ("3.4 us", NCCL_TUNING)

# Host (CPU) time per launched kernel, in microseconds: the CUDA runtime launch on the CPU side is
# 5-20 us (Holistic Trace Analysis docs, facebookresearch/HolisticTraceAnalysis
# docs/source/features/cuda_kernel_launch_stats.rst, "Short GPU kernels"); the start value is its
# midpoint. The framework's own dispatch (PyTorch dispatcher, Python module code) comes on top,
# which is what the fit may add.
HOST_KERNEL_US = (12.5, "facebookresearch/HolisticTraceAnalysis docs/source/features/cuda_kernel_launch_stats.rst "
                        "('the launch time on the CPU side is between 5-20 microseconds') -> midpoint")

# The host time per kernel is a property of the host CPU and the framework, not of the GPU, so
# accelerators whose nodes have the same kind of host and run the same software (NeMo containers)
# share one value, fitted on the fit rows of all of them: GB300 and GB200 trays share the Grace
# CPU (systems.yaml host_link sources); DGX B300 (2x Intel Xeon 6776P) and DGX B200 (2x Intel Xeon
# Platinum 8570) are x86 hosts of the same design (NVIDIA DGX B300 and DGX B200 datasheets).
# follower -> leader. Fitted alone, GB300's rows hide the host (a flat objective) and kept the
# launch-only 12.5 us, below every value a fit has found.
HOST_FROM = {"b300": "b200", "gb300": "gb200"}

# Compute slowdown while a collective runs beside it: Lee et al., "Characterizing
# Compute-Communication Overlap in GPU-Accelerated Distributed Deep Learning: Performance and
# Power Implications", arXiv 2507.03114, abstract: an average computational slowdown of 18.9%
# (maximum 40%) with overlapped communication, over GPT and LLaMA models on A100, H100, MI250 and
# MI210. Shared by every accelerator (not fitted).
OVERLAP_SLOWDOWN = (0.189, "Lee et al., arXiv 2507.03114, abstract: overlapping computation and communication "
                           "slows the computation by 18.9% on average (A100, H100, MI250, MI210; GPT and LLaMA)")
