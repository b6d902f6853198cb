#!/usr/bin/env python3
"""Writes data/validation/training_runs_features.csv: for each pretraining row of the Megatron-Bridge
performance summaries in ../shared/validation/training_runs.csv whose model has workload configs
(the MoE models Qwen3 30B/235B, DeepSeek-V3, GPT-OSS 120B and the dense Llama 3 8B/70B, 3.1 405B),
the framework settings its release's recipe ran with, read from that release's tag of
NVIDIA-NeMo/Megatron-Bridge.

  ep_overlap   the expert-parallel all-to-all overlapped with the compute of the adjacent
               micro-batch (recipe moe_a2a_overlap / overlap_moe_expert_parallel_comm), where it
               can take effect: scripts/performance/perf_plugins.py gives the job 32 CUDA device
               connections on Blackwell or with a flex dispatcher (DeepEP, HybridEP), "to avoid
               serialization of streams", and 8 otherwise (Hopper with the NCCL all-to-all
               dispatcher), so there the overlapping streams serialize and the overlap is
               recorded as not taking effect (the recipe's setting is named in the source column).
               On Hopper it is recorded as not taking effect with 32 connections either: the one
               H100 pair that differs in it measured no gain (Qwen3 235B on 256 H100, same plan:
               26.02.01 with DeepEP and the overlap on 32 connections 1,611 tokens/s/GPU, row 406;
               26.02 with the overlap on 8 connections 1,633, row 444), and the H100 runs that
               enabled it measured slower, not faster, than the step model without it (rows 406,
               439: +4.9% and +92% too fast already), while on Blackwell the runs that enabled it
               measured faster than the model without it (25 GB200/GB300/B300 rows).
  cuda_graphs  the whole iteration captured as CUDA graphs (cuda_graph_impl "full_iteration", or
               in 25.11 "local" with cuda_graph_scope "full_iteration").
  cuda_graph_modules
               the modules of every layer captured as CUDA graphs of their own (cuda_graph_impl
               "transformer_engine" or "local" with cuda_graph_scope), e.g. attn+moe_router+moe_preprocess;
               an empty scope captures a dense layer whole (attn+mlp); a MoE layer captured whole
               needs token dropping, which the step model does not price, so it is noted, not set.
  low_precision_weights
               for every row of a tagged release in an 8- or 4-bit format (dense models too): whether
               the model keeps its weights only in that format (Megatron-Core fp8_param_gather /
               fp4_param_gather), as the release's precision config for the row's format sets it
               (scripts/performance/utils get_precision_config -> training/mixed_precision.py), or a
               matched recipe function (v0.6.0 on) overrides it. Empty for 16-bit rows.
  fp8_scaling  "delayed" for the FP8 rows of NeMo 24.07, whose Transformer Engine had per-tensor FP8 only
               as DelayedScaling (Float8CurrentScaling arrived in NVIDIA/TransformerEngine 77fa1e596,
               2025-03-07); empty elsewhere (current scaling, Megatron-Bridge's FP8_CS configs).
  recipe_plan  where the recipe's parallel plan differs from the one the performance summary's
               table gives the row, the recipe's (tp, pp, vp, cp, ep, micro_batch); validate reads
               the table's plan, and the reports price both (docs/validation.md).
  moe_capacity_factor
               1 for the 25.09 rows the table names "(tokendrop)": Megatron-Bridge's token-drop
               benchmarks drop and pad every expert to capacity factor 1.0 (apply_moe_token_drop's
               defaults, src/megatron/bridge/training/utils/moe_token_drop.py at v0.1.0rc4, which
               also asserts the NCCL all-to-all dispatcher; noted, not set, as for the later rows).
  dtype        the format of a 25.09 row, whose table has no precision column: on B200 and GB200
               per-tensor FP8 for the table's value and MXFP8 for a value it gives in parentheses
               ("different quantization granularities ... 32x32"), where a perf_matrix entry of
               that precision (fp8_cs, fp8_mx) runs the row's plan; unstated on H100 (blockwise
               FP8, which the step model does not have) and where no entry runs the plan.
  vp           the virtual pipeline size of a row whose table has no VP column: NeMo 24.07's
               fine-tuning rows, from the release's NeMo-Framework-Launcher example that runs the
               row (examples/peft/llama/h100 at tag 24.07: same model size, task, GPUs, batch,
               micro-batch, TP and PP). validate fills only the cells the table leaves empty. The
               same examples set fp8_params with a distributed optimizer: low_precision_weights.

The row's recipe is the config of its model, accelerator and precision whose GPU count and global
batch match the row. Rows whose config cannot be matched are left out (not stated: settings off).
The 25.09 table first appears at tag v0.1.0rc4, whose settings live in another format:
scripts/performance/configs/<family>/<model>_llm_pretrain.yaml, a perf_matrix of GPU and GPU count
with common settings and per-precision overrides (utils/helpers.py merges them). The table states
no precision, so a row's recipe is every precision entry of its GPU count that runs the row's
global batch and plan (micro-batch, tp, pp, vp, cp, ep, and FSDP as the table's column says); its
CUDA graphs are stated where those entries agree. `cuda_graphs: true` there is Megatron-Core's
enable_cuda_graph (helpers.py set_cuda_graph_overrides): per-layer graphs of whole layers, which a
MoE layer allows only with token dropping (attn+mlp, and moe with it). Needs a clone of the
repositories (git directories), so it runs by hand; its output is committed.

Usage: tools/recipe_features.py --bridge /path/to/Megatron-Bridge.git --launcher /path/to/NeMo-Framework-Launcher.git
                                [--csv PATH] [--out PATH]
"""
import argparse
import csv
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAGS = {"25.11": "v0.2.0", "26.02": "v0.3.0", "26.02.01": "v0.3.1", "26.04": "v0.4.0", "26.04.01": "v0.4.1",
        "26.06": "v0.5.0", "26.06.01": "v0.5.1", "26.08": "v0.6.0"}
MODELS = {"qwen3-30b-a3b": "QWEN3_30B_A3B", "qwen3-235b-a22b": "QWEN3_235B_A22B", "deepseek-v3": "DEEPSEEK_V3",
          "gpt-oss-120b": "GPT_OSS_120B", "llama3-8b": "LLAMA3_8B", "llama3-70b": "LLAMA3_70B",
          "llama3.1-405b": "LLAMA31_405B"}
MOE = {"qwen3-30b-a3b", "qwen3-235b-a22b", "deepseek-v3", "gpt-oss-120b"}
GPUS = {"h100-sxm": "H100", "b200": "B200", "b300": "B300", "gb200": "GB200", "gb300": "GB300"}
BLACKWELL = {"B200", "B300", "GB200", "GB300"}
# The plan fields of a row (validation CSV column, recipe setting); unset in a recipe means 1.
PLAN_FIELDS = [("tp", "tensor_model_parallel_size"), ("pp", "pipeline_model_parallel_size"),
               ("vp", "virtual_pipeline_model_parallel_size"), ("cp", "context_parallel_size"),
               ("ep", "expert_model_parallel_size"), ("micro_batch", "micro_batch_size")]
# Per-layer CUDA graph modules the step model knows (train::ParseCudaGraphModules).
MODULES = {"attn", "mlp", "moe_router", "moe_preprocess"}
PRECISIONS = {"bf16": "BF16", "fp8": "FP8_CS", "mxfp8": "FP8_MX", "nvfp4": "NVFP4"}
# Where a release keeps its workload configs (model directory, file) and how it names them.
# Directories are tried in order (the releases renamed qwen3/ to qwen/ and split llama/ out of
# llama3/ and llama31/).
CONFIG_FILES = {"deepseek-v3": (["deepseek"], ["deepseek_workload_base_configs.py", "workload_base_configs.py"]),
                "qwen3-30b-a3b": (["qwen", "qwen3"], ["qwen3_workload_base_configs.py", "workload_base_configs.py"]),
                "qwen3-235b-a22b": (["qwen", "qwen3"], ["qwen3_workload_base_configs.py", "workload_base_configs.py"]),
                "gpt-oss-120b": (["gpt_oss"], ["gpt_oss_workload_base_configs.py", "workload_base_configs.py"]),
                "llama3-8b": (["llama", "llama3"], ["llama3_workload_base_configs.py", "workload_base_configs.py"]),
                "llama3-70b": (["llama", "llama3"], ["llama3_workload_base_configs.py", "workload_base_configs.py"]),
                "llama3.1-405b": (["llama", "llama31"], ["llama31_workload_base_configs.py", "workload_base_configs.py"])}
# v0.6.0 and later: (directory, file, function name stem) of a model's perf recipes.
PERF_RECIPES = {"deepseek-v3": ("deepseek", "deepseek_v3", "deepseek_v3"),
                "qwen3-30b-a3b": ("qwen", "qwen3_moe", "qwen3_30b_a3b"),
                "qwen3-235b-a22b": ("qwen", "qwen3_moe", "qwen3_235b_a22b"),
                "gpt-oss-120b": ("gpt_oss", "gpt_oss", "gpt_oss_120b"),
                "llama3-8b": ("llama", "llama3", "llama3_8b"), "llama3-70b": ("llama", "llama3", "llama3_70b"),
                "llama3.1-405b": ("llama", "llama31", "llama31_405b")}


# 25.09: the tag where its table first appears, and each model's perf_matrix file there.
MATRIX_TAGS = {"25.09": "v0.1.0rc4"}
MATRIX_FILES = {"qwen3-30b-a3b": "qwen3/qwen3_30b_a3b_llm_pretrain.yaml",
                "qwen3-235b-a22b": "qwen3/qwen3_235b_a22b_llm_pretrain.yaml",
                "deepseek-v3": "deepseek/deepseek_v3_llm_pretrain.yaml",
                "llama3-8b": "llama3/llama3_8b_llm_pretrain.yaml", "llama3-70b": "llama3/llama3_70b_llm_pretrain.yaml",
                "llama3.1-405b": "llama31/llama31_405b_llm_pretrain.yaml"}
# The plan fields of a row (validation CSV column, perf_matrix key); a key left out or null is 1.
MATRIX_PLAN = [("tp", "tp"), ("pp", "pp"), ("vp", "vp"), ("cp", "cp"), ("ep", "ep"), ("micro_batch", "mbs")]
MOE_TOKEN_DROP = ("moe_expert_capacity_factor 1.0 with moe_pad_expert_input_to_capacity "
                  "(src/megatron/bridge/training/utils/moe_token_drop.py apply_moe_token_drop defaults; it asserts the "
                  "alltoall dispatcher)")


# 25.09's table states no precision; its footnote: "The numbers in parentheses indicate the use of
# different quantization granularities: In case of GB200 and B200 systems, 32x32 for both weights and
# activations. For H100 system, 128x128 for weights and 1x128 for activations". The shared CSV keeps a
# parenthesized value as a row of its own, noted "values in parentheses in source row". So on
# Blackwell the unparenthesized value is per-tensor FP8 (the perf_matrix's fp8_cs) and the
# parenthesized one MXFP8 (fp8_mx), where an entry of that precision runs the row's plan; H100's
# blockwise FP8 (fp8_ss) is a format the step model does not have, so it stays unstated.
MATRIX_PRECISIONS = {False: ("fp8_cs", "fp8"), True: ("fp8_mx", "mxfp8")}


def matrix_precision(row, hits):
    """(dtype, words) of a 25.09 row from the table's footnote and the precisions whose entries run
    its plan, or ("", "") where they do not say."""
    alternate = "values in parentheses in source row" in row["notes"]
    entry, dtype = MATRIX_PRECISIONS[alternate]
    if GPUS[row["accelerator_id"]] not in BLACKWELL and alternate or entry not in hits:
        return "", ""
    which = "parenthesized value: the other quantization granularity" if alternate else "unparenthesized value"
    return dtype, f"the table's {which} -> {entry}"


def matrix_features(git_dir, tag, row):
    """A 25.09 row's settings from its tag's perf_matrix: ([ep_overlap, cuda_graphs, modules,
    low_precision_weights, recipe_plan, note], moe_capacity_factor, dtype), or (None, why not, "")."""
    import yaml  # python3-yaml: only this reader needs it
    path = f"scripts/performance/configs/{MATRIX_FILES[row['model_id']]}"
    text = git_show(git_dir, tag, path)
    if text is None:
        return None, f"no {path} at {tag}", ""
    gpu, gpus = GPUS[row["accelerator_id"]].lower(), int(row["gpus"])
    cell = ((yaml.safe_load(text) or {}).get("perf_matrix") or {}).get(gpu, {}).get(f"num_gpus_{gpus}")
    if not cell:
        return None, f"no {gpu} num_gpus_{gpus} in {path} at {tag}", ""
    common = cell.get("common") or {}
    entries = {name: dict(common, **(v or {})) for name, v in cell.items() if name != "common"}

    def runs_the_row(e):
        if e.get("gbs") != int(row["global_batch"]):
            return False
        if any(int(e.get(key) or 1) != int(row[column] or 1) for column, key in MATRIX_PLAN):
            return False
        return row["fsdp"] == "" or bool(e.get("use_megatron_fsdp")) == (float(row["fsdp"]) > 0)

    hits = sorted(name for name, e in entries.items() if runs_the_row(e))
    moe = row["model_id"] in MOE
    drop = moe and "(tokendrop)" in row["model"]
    dropped = f"the table's '(tokendrop)': {MOE_TOKEN_DROP}; " if drop else ""
    if not hits:
        why = f"no precision of {gpu} num_gpus_{gpus} in {path} at {tag} runs the table's plan"
        if not drop:
            return None, why, ""
        # The table itself says the tokens drop; the recipe's other settings stay unstated.
        return ["", "", "", "", "", f"NVIDIA-NeMo/Megatron-Bridge {tag}: {dropped}{why} (not stated)"], "1", ""
    graphs = {bool(entries[name].get("cuda_graphs")) for name in hits}
    dtype, precision = matrix_precision(row, hits)
    note = (f"NVIDIA-NeMo/Megatron-Bridge {tag} {path} perf_matrix {gpu} num_gpus_{gpus} ({', '.join(hits)}): "
            f"{precision + '; ' if precision else ''}{dropped}")
    modules = ""
    if len(graphs) > 1:
        note += "cuda_graphs differs between them (not stated)"
    elif graphs == {True}:
        note += "cuda_graphs=True (enable_cuda_graph: per-layer graphs of whole layers)"
        if moe and not drop:
            note += " (not modelled: a dropless MoE layer is not captured whole)"
        else:
            modules = "attn+mlp+moe" if moe else "attn+mlp"
    else:
        note += "cuda_graphs=False"
    if row["model_id"] == "deepseek-v3":
        # run_script.py picks DeepSeek-V3's dispatcher and EP overlap by GPU.
        script = git_show(git_dir, tag, "scripts/performance/run_script.py") or ""
        for name, what in (("enable_deepep", "DeepEP dispatcher"), ("A2A_1F1B", "overlap_moe_expert_parallel_comm")):
            m = re.search(rf"{name} = bool\(args\.gpu\.lower\(\) in \[([^\]]*)\]\)", script)
            if m and f'"{gpu}"' in m.group(1) and not (drop and name == "enable_deepep"):
                note += f"; run_script.py: {what}" + (" (Hopper: overlap recorded as not taking effect)"
                                                      if name == "A2A_1F1B" and gpu.upper() not in BLACKWELL else "")
    return ["false", "false", modules, "", "", note], "1" if drop else "", dtype


# NeMo 24.07's FP8: Transformer Engine's per-tensor recipe of the time.
NEMO_2407_FP8 = ("NeMo 24.07 container (July 2024): Transformer Engine's per-tensor FP8 was DelayedScaling alone "
                 "until Float8CurrentScaling, NVIDIA/TransformerEngine 77fa1e596 (2025-03-07)")
# NeMo 24.07's fine-tuning runs: the release's launcher examples (NVIDIA/NeMo-Framework-Launcher at
# tag 24.07) run each row of the performance summary's fine-tuning table, whose columns stop at TP
# and PP. The example of a row has its model size in the file name, its task (LoRA or not) and the
# row's GPUs, batch, micro-batch, TP and PP; it adds the virtual pipeline size and whether the
# weights are kept in FP8 (fp8_params, with the config's distributed_fused_adam optimizer).
LAUNCHER_TAG = "24.07"
LAUNCHER_EXAMPLES = "examples/peft/llama/h100"
LAUNCHER_CONFIG = "launcher_scripts/conf/peft/llama/sft.yaml"
LAUNCHER_MODELS = {"llama2-7b": "7b", "llama2-13b": "13b", "llama2-70b": "70b"}


def launcher_features(git_dir, row):
    """(vp, low_precision_weights, note) of a NeMo 24.07 fine-tuning row from the launcher example
    that runs it, or (None, why not)."""
    size = LAUNCHER_MODELS.get(row["model_id"])
    if size is None:
        return None, f"no launcher example of {row['model_id']}"
    listing = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "--name-only", f"{LAUNCHER_TAG}:{LAUNCHER_EXAMPLES}"],
                             capture_output=True, text=True)
    config = git_show(git_dir, LAUNCHER_TAG, LAUNCHER_CONFIG) or ""
    optimizer = re.search(r"^\s*optim:\s*\n\s*name:\s*(\S+)", config, re.M)
    for name in sorted(listing.stdout.split()):
        if not name.startswith(f"{size}_") or not name.endswith(".sh"):
            continue
        text = git_show(git_dir, LAUNCHER_TAG, f"{LAUNCHER_EXAMPLES}/{name}") or ""
        args = dict(re.findall(r"^\s*[+~]*peft\.(?:model|trainer)\.([\w.]+)=(\S+?)\s*\\?$", text, re.M))
        lora = args.get("peft.peft_scheme") == "lora"
        gpus = int(args.get("devices", 0)) * int(args.get("num_nodes", 0))
        fields = [("gpus", gpus), ("global_batch", args.get("global_batch_size")), ("micro_batch", args.get("micro_batch_size")),
                  ("tp", args.get("tensor_model_parallel_size", 1)), ("pp", args.get("pipeline_model_parallel_size", 1))]
        if lora != (row["task_kind"] == "lora") or any(str(v) != (row[c] or "1") for c, v in fields):
            continue
        vp = args.get("virtual_pipeline_model_parallel_size", "")
        kept = args.get("fp8_params") == "true" and optimizer is not None and "distributed" in optimizer.group(1)
        note = (f"NVIDIA/NeMo-Framework-Launcher {LAUNCHER_TAG} {LAUNCHER_EXAMPLES}/{name}: "
                f"virtual_pipeline_model_parallel_size={vp or 'unset'}, fp8_params={args.get('fp8_params', 'unset')}"
                f" ({LAUNCHER_CONFIG}: optim {optimizer.group(1) if optimizer else 'unset'})")
        if vp and row["vp"] and vp != row["vp"]:
            return None, f"{name} runs vp {vp}, the table {row['vp']}"
        return (vp if not row["vp"] else "", "true" if kept else "", note), ""
    return None, f"no launcher example at {LAUNCHER_TAG} runs the row's model, task, GPUs, batch and plan"


class Config:
    """Stands in for utils.utils.WorkloadBaseConfig: keeps whatever it is given."""
    DEFAULTS = {"moe_a2a_overlap": False, "moe_flex_dispatcher_backend": None, "cuda_graph_impl": None,
                "cuda_graph_scope": None, "num_gpus": None, "global_batch_size": None,
                # WorkloadBaseConfig's defaults (scripts/performance/utils/utils.py)
                "tensor_model_parallel_size": 1, "pipeline_model_parallel_size": 1, "context_parallel_size": 1,
                "virtual_pipeline_model_parallel_size": None, "expert_model_parallel_size": 1,
                "micro_batch_size": 1}

    def __init__(self, **kw):
        self.values = dict(self.DEFAULTS, **kw)

    def get(self, key):
        return self.values.get(key)


def replace(cfg, **kw):
    return Config(**dict(cfg.values, **kw))


def git_show(git_dir, tag, path):
    r = subprocess.run(["git", "--git-dir", git_dir, "show", f"{tag}:{path}"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def workload_configs(git_dir, tag, model):
    """name -> Config of one model family's workload configs at a tag, or None."""
    directories, names = CONFIG_FILES[model]
    for d in directories:
        for n in names:
            path = f"{tag}:scripts/performance/configs/{d}/{n}"
            text = git_show(git_dir, tag, path.split(":", 1)[1])
            if text is None:
                continue
            text = text.replace("from dataclasses import replace", "").replace(
                "from utils.utils import WorkloadBaseConfig", "")
            scope = {"WorkloadBaseConfig": Config, "replace": replace}
            exec(compile(text, path, "exec"), scope)  # noqa: S102 -- a pinned tag of a public repository
            return {k: v for k, v in scope.items() if isinstance(v, Config)}, path
    return None, None


def function_statements(sources, name, depth=0):
    """The unconditional statements of a function defined in one of `sources` (texts), with the
    statements of the underscore helpers it calls on cfg put in place of the calls (three levels)."""
    for text in sources:
        at = text.find(f"\ndef {name}(")
        if at >= 0:
            break
    else:
        return []
    lines = text[at + 1:].split("\n")
    body = next(i for i, line in enumerate(lines) if line.rstrip().endswith(":")) + 1  # past the signature
    out = []
    i = body
    while i < len(lines):
        line = lines[i]
        i += 1
        if line and not line[0].isspace():
            break  # the next top-level definition
        if not line.startswith("    ") or line[4:5].isspace():
            continue  # blank, or nested in a condition or loop: not taken for certain
        statement = line.strip()
        while statement.count("(") > statement.count(")") and i < len(lines):  # a call over several lines
            statement += " " + lines[i].strip()
            i += 1
        call = re.match(r"(_\w+)\(cfg\b", statement)
        if call and depth < 3:
            out += function_statements(sources, call.group(1), depth + 1)
        else:
            out.append(statement)
    return out


def last_assignment(statements, pattern):
    value = None
    for st in statements:
        m = re.search(pattern, st)
        if m:
            value = m.group(1)
    return value


def perf_recipe(git_dir, tag, model, gpu, precision, gpus):
    """v0.6.0 and later: recipes are functions; read the settings off the function's statements
    (and those of the helpers it calls), the last assignment of each setting winning."""
    family = PERF_RECIPES[model]
    path = f"src/megatron/bridge/perf_recipes/{family[0]}/{gpu.lower()}/{family[1]}.py"
    text = git_show(git_dir, tag, path)
    if text is None:
        return None
    sources = [text] + [t for t in (git_show(git_dir, tag, f"src/megatron/bridge/perf_recipes/{family[0]}/common.py"),
                                     git_show(git_dir, tag, "src/megatron/bridge/perf_recipes/_common.py")) if t]
    prec = {"BF16": "bf16", "FP8_CS": "fp8cs", "FP8_MX": "fp8mx", "NVFP4": "nvfp4"}[precision]
    name = f"{family[2]}_pretrain_{gpus}gpu_{gpu.lower()}_{prec}_config"
    statements = function_statements(sources, name)
    if not statements:
        return None
    overlap = last_assignment(statements, r"(?:moe_a2a_overlap|overlap_moe_expert_parallel_comm)\s*=\s*(True|False)")
    impl = last_assignment(statements, r'cfg\.model\.cuda_graph_impl\s*=\s*"(\w+)"')
    scope = last_assignment(statements, r"cfg\.model\.cuda_graph_scope\s*=\s*\[(.*)\]")
    dispatcher = last_assignment(statements, r'cfg\.model\.moe_flex_dispatcher_backend\s*=\s*"(\w+)"')
    plan = {}
    for _, setting in PLAN_FIELDS:
        v = last_assignment(statements, rf"cfg\.(?:model|train)\.{setting}\s*=\s*(\w+)")
        if v is not None:
            plan[setting] = None if v == "None" else int(v)
    param_gather = {k: last_assignment(statements, rf"cfg\.(?:mixed_precision|model)\.{k}\s*=\s*(True|False)")
                    for k in ("fp8_param_gather", "fp4_param_gather")}
    plan.update({k: v == "True" for k, v in param_gather.items() if v is not None})
    memory = {"use_megatron_fsdp": last_assignment(statements, r"cfg\.ddp\.use_megatron_fsdp\s*=\s*(True|False)") == "True"}
    for setting in ("cpu_offloading_num_layers", "recompute_num_layers"):
        v = last_assignment(statements, rf"cfg\.model\.{setting}\s*=\s*(\d+)")
        if v is not None:
            memory[setting] = int(v)
    gbs = last_assignment(statements, r"(?:cfg\.train\.global_batch_size\s*=\s*|_with_global_batch_size\(cfg,\s*)(\d+)")
    return {**plan, **memory, "global_batch_size": int(gbs) if gbs else None,
            "moe_a2a_overlap": overlap == "True", "cuda_graph_impl": impl,
            "cuda_graph_scope": re.findall(r'"(\w+)"', scope or ""),
            "moe_flex_dispatcher_backend": dispatcher,
            "source": f"NVIDIA-NeMo/Megatron-Bridge {tag} {path} {name}"}


# The precision config function get_precision_config takes for each low-precision format.
PRECISION_CONFIGS = {"fp8": ("fp8_cs", "bf16_with_fp8_current_scaling_mixed", "fp8_param_gather"),
                     "mxfp8": ("fp8_mx", "bf16_with_mxfp8_mixed", "fp8_param_gather"),
                     "nvfp4": ("nvfp4", "bf16_with_nvfp4_mixed", "fp4_param_gather")}


def precision_param_gather(git_dir, tag, dtype):
    """(setting, source) for whether a release's precision config of a low-precision format keeps
    the weights in it, or None where the tag lacks the config."""
    name, function, setting = PRECISION_CONFIGS[dtype]
    chooser = None
    for path in ("scripts/performance/utils/precision.py", "scripts/performance/utils/helpers.py"):
        text = git_show(git_dir, tag, path)
        if text and re.search(rf'compute_dtype == "{name}":\s*\n\s*(?:\w+ = |return ){function}\(\)', text):
            chooser = path
            break
    mixed = git_show(git_dir, tag, "src/megatron/bridge/training/mixed_precision.py")
    if chooser is None or mixed is None:
        return None
    # The config's dataclass default is False; the function's last assignment wins.
    value = last_assignment(function_statements([mixed], function), rf"cfg\.{setting}\s*=\s*(True|False)") or "False"
    return value == "True", f"{chooser} {name} -> mixed_precision.py {function}: {setting}={value}"


def recipe_plan(row, recipe):
    """The recipe's plan as 'tp=1 pp=16 vp=1 cp=1 ep=8 micro_batch=1' where it differs from the
    row's (the performance summary's table), else ''. A setting the recipe does not state is not
    compared."""
    fields, differs = [], False
    for column, setting in PLAN_FIELDS:
        if setting not in recipe:
            continue
        value = recipe[setting] or 1
        fields.append(f"{column}={value}")
        differs |= str(value) != (row[column] or "1")
    return " ".join(fields) if differs else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bridge", required=True, help="git directory of NVIDIA-NeMo/Megatron-Bridge")
    ap.add_argument("--launcher", required=True, help="git directory of NVIDIA/NeMo-Framework-Launcher")
    ap.add_argument("--csv", default=os.path.join(ROOT, "../shared/validation/training_runs.csv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "data/validation/training_runs_features.csv"))
    args = ap.parse_args()
    cache, gather_cache = {}, {}
    out = {}  # row_id -> [ep_overlap, cuda_graphs, cuda_graph_modules, low_precision_weights, recipe_plan, source]
    delayed = {}  # row_id -> fp8_scaling "delayed" (NeMo 24.07's FP8), with its source
    capacity = {}  # row_id -> moe_capacity_factor (25.09's token-drop rows)
    launcher = {}  # row_id -> (vp, low_precision_weights, note) of NeMo 24.07's fine-tuning rows
    dtypes = {}  # row_id -> the format of a 25.09 row (its table states none)
    skipped = []
    with open(args.csv, newline="") as f:
        for r in csv.DictReader(f):
            release = r["framework"].split("container")[-1].strip()
            if r["framework"].strip() == "NeMo 24.07 container" and r["dtype"] == "fp8":
                delayed[int(r["row_id"])] = NEMO_2407_FP8
                if r["task_kind"] in ("sft", "lora"):
                    found, why = launcher_features(args.launcher, r)
                    if found is None:
                        skipped.append((r["row_id"], why))
                    else:
                        launcher[int(r["row_id"])] = found
                continue
            if release in MATRIX_TAGS and "Megatron-Bridge" in r["framework"] and r["task_kind"] == "pretrain" and \
                    r["model_id"] in MATRIX_FILES and r["accelerator_id"] in GPUS:
                found, factor, dtype = matrix_features(args.bridge, MATRIX_TAGS[release], r)
                if found is None:
                    skipped.append((r["row_id"], factor))
                else:
                    out[int(r["row_id"])] = found
                    if factor:
                        capacity[int(r["row_id"])] = factor
                    if dtype and not r["dtype"]:
                        dtypes[int(r["row_id"])] = dtype
                continue
            if release not in TAGS or "Megatron-Bridge" not in r["framework"]:
                continue
            tag = TAGS[release]
            gather = None  # (weights kept in the format, why) from the release's precision config
            if r["dtype"] in PRECISION_CONFIGS:
                key = (tag, r["dtype"])
                if key not in gather_cache:
                    gather_cache[key] = precision_param_gather(args.bridge, tag, r["dtype"])
                gather = gather_cache[key]
                if gather:
                    out[int(r["row_id"])] = ["", "", "", "true" if gather[0] else "false", "",
                                             f"NVIDIA-NeMo/Megatron-Bridge {tag} {gather[1]}"]
                else:
                    skipped.append((r["row_id"], f"no precision config of {r['dtype']} at {tag}"))
            if r["model_id"] not in MODELS or r["accelerator_id"] not in GPUS or r["task_kind"] != "pretrain":
                continue
            if r["dtype"] not in PRECISIONS:
                skipped.append((r["row_id"], "no precision"))
                continue
            gpu, prec = GPUS[r["accelerator_id"]], PRECISIONS[r["dtype"]]
            gpus, gbs = int(r["gpus"]), int(r["global_batch"])
            found = None
            if tag >= "v0.6.0":
                found = perf_recipe(args.bridge, tag, r["model_id"], gpu, prec, gpus)
                if found and found["global_batch_size"] not in (None, gbs):
                    found = None  # the function of this GPU count runs another global batch
            else:
                key = (tag, r["model_id"])
                if key not in cache:
                    cache[key] = workload_configs(args.bridge, tag, r["model_id"])
                configs, path = cache[key]
                if configs:
                    stem = MODELS[r["model_id"]]
                    patterns = [rf"^{stem}_PRETRAIN_CONFIG_{gpu}_{prec}_V\d+$", rf"^{stem}_{gpu}_{prec}_BASE_CONFIG$"]
                    for name in sorted(configs):
                        c = configs[name]
                        if any(re.match(p, name) for p in patterns) and c.get("global_batch_size") == gbs and \
                                c.get("num_gpus") in (None, gpus):
                            found = dict(c.values, source=f"NVIDIA-NeMo/Megatron-Bridge {tag} {path.split(':', 1)[1]} {name}")
                            break
            if not found:
                skipped.append((r["row_id"], f"no {MODELS[r['model_id']]} {gpu} {prec} config of {gpus} GPUs and "
                                             f"global batch {gbs} at {tag}"))
                continue
            overlap = bool(found.get("moe_a2a_overlap"))
            connections = 32 if (found.get("moe_flex_dispatcher_backend") in ("deepep", "hybridep") or gpu in BLACKWELL) else 8
            effective = overlap and connections == 32 and gpu in BLACKWELL  # Hopper: see ep_overlap above
            impl = found.get("cuda_graph_impl")
            scope = found.get("cuda_graph_scope") or []
            scope = [scope] if isinstance(scope, str) else [str(x) for x in scope]
            # The whole iteration as graphs: cuda_graph_impl "full_iteration", or (before that name)
            # the "local" implementation with cuda_graph_scope "full_iteration".
            graphs = impl == "full_iteration" or (impl == "local" and scope == ["full_iteration"])
            modules = ""
            if r["model_id"] in MOE:
                note = found["source"] + f": moe_a2a_overlap={overlap}, dispatcher " \
                    f"{found.get('moe_flex_dispatcher_backend') or 'alltoall'}, {connections} device connections"
                if overlap and not effective:
                    note += (" (streams serialize below 32: overlap does not take effect)" if connections < 32 else
                             " (Hopper: overlap recorded as not taking effect, see tools/recipe_features.py)")
                note += ", "
            else:
                note = found["source"] + ": "
                # Dense recipes' memory settings, for the record (the plan search chooses its own).
                for setting in ("use_megatron_fsdp", "cpu_offloading_num_layers", "recompute_num_layers"):
                    if found.get(setting):
                        note += f"{setting}={found[setting]}, "
            note += f"cuda_graph_impl={impl}"
            if impl in ("transformer_engine", "local") and not graphs:
                note += f" of {'+'.join(scope) or 'whole layers'}"
                if not scope and r["model_id"] not in MOE:
                    scope = ["attn", "mlp"]  # a dense layer captured whole
                if scope and set(scope) <= MODULES:
                    modules = "+".join(scope)
                else:
                    note += " (not modelled: only " + ", ".join(sorted(MODULES)) + ")"
            elif scope:
                note += f" with cuda_graph_scope={'+'.join(scope)}"
            weights = ""
            setting = PRECISION_CONFIGS.get(r["dtype"], (None, None, None))[2]
            if setting and setting in found:  # the recipe function sets it itself
                weights = "true" if found[setting] else "false"
                note += f", {setting}={found[setting]}"
            elif gather:
                weights = "true" if gather[0] else "false"
                note += "; " + gather[1]
            out[int(r["row_id"])] = ["true" if effective else "false", "true" if graphs else "false", modules, weights,
                                     recipe_plan(r, found), note]
    for rid, source in delayed.items():
        _, kept, note = launcher.get(rid, ("", "", ""))
        out[rid] = ["", "", "", kept, "", source + (f"; {note}" if note else "")]
    rows = sorted(out.items())
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["row_id", "ep_overlap", "cuda_graphs", "cuda_graph_modules", "low_precision_weights", "recipe_plan",
                    "fp8_scaling", "moe_capacity_factor", "vp", "dtype", "features_source"])
        w.writerows([rid] + cols[:5] + ["delayed" if rid in delayed else "", capacity.get(rid, ""),
                                        launcher.get(rid, ("",))[0], dtypes.get(rid, "")] + cols[5:] for rid, cols in rows)
    cols = [c for _, c in rows]
    print(f"{args.out}: {len(cols)} rows ({sum(1 for o in cols if o[0] == 'true')} with EP overlap, "
          f"{sum(1 for o in cols if o[1] == 'true')} with full-iteration CUDA graphs, "
          f"{sum(1 for o in cols if o[2])} with per-layer CUDA graphs, "
          f"{sum(1 for o in cols if o[3] == 'true')} keeping weights in their low-precision format and "
          f"{sum(1 for o in cols if o[3] == 'false')} not, {sum(1 for o in cols if o[4])} whose recipe "
          f"runs another plan than the table says, {len(delayed)} with delayed FP8 scaling, {len(capacity)} dropping "
          f"tokens, {sum(1 for v in launcher.values() if v[0])} with a VP and {len(dtypes)} with a format the table "
          f"leaves unstated); "
          f"{len(skipped)} left out")
    for rid, why in skipped:
        print(f"  row {rid}: {why}")


if __name__ == "__main__":
    main()
