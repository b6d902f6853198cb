#!/usr/bin/env python3
"""Regenerates docs/validation.md from `aifactory validate` on shared/validation/training_runs.csv.

Usage: tools/validation_report.py [--aifactory build/release/aifactory] [--csv PATH] [--out docs/validation.md]
"""
import argparse
import collections
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validation_features  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])


def stats(rows):
    errs = [r["ape_pct"] for r in rows if r["status"] == "ok"]
    return len(rows), len(errs), pct(errs, 0.5), pct(errs, 0.9), (sum(errs) / len(errs) if errs else float("nan"))


def features_section(rows, featured, path, source):
    """The same rows with each run's framework settings from its recipe (validate --features)."""
    settings = {r["row_id"]: r for r in csv.DictReader(open(path))}
    rel = os.path.relpath(path, ROOT)
    lines = ["", "## With each run's framework settings", "",
             f"`aifactory validate ../shared/validation/training_runs.csv --features {rel}`: "
             f"{len(settings)} rows carry framework settings: of the Megatron-Bridge summaries' rows, from their "
             f"release's tag, the {sum(1 for r in settings.values() if r['ep_overlap'])} pretraining rows whose "
             "recipe could be matched (MoE and dense) its EP all-to-all overlap (MoE only), full-iteration CUDA "
             "graphs, per-layer CUDA graph modules and, where it differs from the table's, its parallel plan, and the "
             f"{sum(1 for r in settings.values() if r['low_precision_weights'])} rows in an 8- or 4-bit format "
             "whether the model kept its weights in that format; of NeMo 24.07's, the "
             f"{sum(1 for r in settings.values() if r.get('fp8_scaling'))} FP8 rows' delayed scaling and, for the "
             f"{sum(1 for r in settings.values() if r.get('vp'))} fine-tuning rows whose table has no VP column, the "
             "virtual pipeline size of the release's launcher example that ran them; and of 25.09's, the "
             f"{sum(1 for r in settings.values() if r.get('dtype'))} rows' format (its table states none: the "
             "footnote's parentheses and the perf_matrix's precisions), "
             f"the {sum(1 for r in settings.values() if r.get('moe_capacity_factor'))} MoE rows its table names "
             "'(tokendrop)', token dropping at capacity factor 1 (written by `tools/recipe_features.py`; "
             "docs/calibration-method.md). The calibration is the same (fitted on the CSV alone).", "",
             "| accelerator | median % | p90 % | mean % | held-out median % | held-out p90 % |",
             "|---|---|---|---|---|---|"]
    by = collections.defaultdict(list)
    for r in featured:
        by[r["accelerator_id"]].append(r)
    for acc in sorted(by) + ["all"]:
        rs = featured if acc == "all" else by[acc]
        held = [r for r in rs if r["row_id"].isdigit() and int(r["row_id"]) % 2 == 0]
        _, _, med, p90, mean = stats(rs)
        _, _, mh, ph, _ = stats(held)
        name = f"**{acc}**" if acc == "all" else acc
        lines.append(f"| {name} | {med:.1f} | {p90:.1f} | {mean:.1f} | {mh:.1f} | {ph:.1f} |")
    before = {r["row_id"]: r for r in rows}
    lines += ["", "Rows whose settings change the prediction (signed error of the prediction):", "",
              "| row | accelerator | model | release | EP overlap | CUDA graphs | per-layer graphs | FP8 scaling | "
              "capacity factor | VP | format | without | with |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in featured:
        b = before[r["row_id"]]
        if r["status"] != "ok" or b["status"] != "ok" or abs(r["predicted"] - b["predicted"]) <= 1e-9 * abs(b["predicted"]):
            continue
        s = source[r["row_id"]]
        f = settings.get(r["row_id"], {})
        release = s["framework"].replace(" container", "").split()[-1]
        lines.append(f"| {r['row_id']} | {s['accelerator_id']} | {s['model_id']} | {release} | "
                     f"{f.get('ep_overlap', '')} | {f.get('cuda_graphs', '')} | {f.get('cuda_graph_modules', '')} | "
                     f"{f.get('fp8_scaling', '')} | {f.get('moe_capacity_factor', '')} | {f.get('vp', '')} | {f.get('dtype', '')} | "
                     f"{100 * (b['predicted'] - b['measured']) / b['measured']:+.1f} | "
                     f"{100 * (r['predicted'] - r['measured']) / r['measured']:+.1f} |")
    return lines


def plan_text(fields):
    """A row's parallel plan in the report's words: the degrees above 1, then the micro-batch."""
    return " ".join(f"{k}{fields[k]}" for k in ("tp", "pp", "vp", "cp", "ep") if fields.get(k, "1") not in ("", "1")) + \
        f" mbs{fields.get('micro_batch') or 1}"


def recipe_section(featured, recipe_rows, plans, source):
    """Rows whose table plan disagrees with the plan of their release's recipe, priced both ways."""
    if not plans:
        return []
    by_id = {r["row_id"]: r for r in featured}
    recipe = {r["row_id"]: r for r in recipe_rows}
    lines = ["", "### Rows whose table and recipe disagree on the plan", "",
             f"For {len(plans)} of these rows the recipe in their release's tag runs another plan than the "
             "performance summary's table states (`recipe_plan` in the features file). The contract predicts "
             "the table's plan; here both are priced, with the run's settings. Neither source is right "
             "throughout: where the recipe's plan is much closer, the table likely repeats an older plan "
             "(row 402 measured like the recipe's EP 16 of rows 358 and 312, not like its stated plan, "
             "row 439; rows 376 and 378, whose table gives micro-batch 2 without interleaving where the tag's "
             "recipe and the same table's later rows 332-334 run PP 4 x VP 5 at micro-batch 1), and where the "
             "table's is, the tag's recipe likely changed after the run.", "",
             "| row | accelerator | model | release | table plan | recipe plan | error, table's plan | "
             "error, recipe's plan |", "|---|---|---|---|---|---|---|---|"]
    def signed(r):
        return f"{100 * (r['predicted'] - r['measured']) / r['measured']:+.1f}" if r["status"] == "ok" else "n/a"
    for row_id in sorted(plans, key=int):
        s = source[row_id]
        lines.append(f"| {row_id} | {s['accelerator_id']} | {s['model_id']} | {s['framework'].split()[-1]} | "
                     f"{plan_text({k: s[k] for k in ('tp', 'pp', 'vp', 'cp', 'ep', 'micro_batch')})} | "
                     f"{plan_text(plans[row_id])} | {signed(by_id[row_id])} | {signed(recipe[row_id])} |")
    return lines


def heldout_section(rows, path):
    """The runs of data/validation/heldout_runs.csv: measured outside shared/validation, never fitted."""
    source = {r["row_id"]: r for r in csv.DictReader(open(path))}
    by_id = {r["row_id"]: r for r in rows}
    lines = ["", "## Runs kept apart", "",
             f"`{os.path.relpath(path, ROOT)}` holds measured runs from other sources than shared/validation "
             "(each row names its source), which the calibration never sees: step times, throughput and the peak "
             "memory per GPU (metric `peak_memory_gb_per_gpu`, decimal GB). Where a row changes one setting of "
             "another, or runs the same job on more GPUs (column `compare_with`), the second table sets the measured "
             "change of the metric beside the predicted one: the plan search ranks plans, and the scaling curve "
             "sizes clusters, by exactly such changes. The error is signed in the row's metric: a "
             "predicted step time above the measured one is a slower prediction, a predicted throughput above the "
             "measured one a faster one.", "",
             "| row | model | accelerator | plan and settings | metric | measured | predicted | error % |",
             "|---|---|---|---|---|---|---|---|"]
    def plan(s):
        words = [plan_text(s), s["dtype"], s["task_kind"]]
        if s.get("moe_dispatcher"):
            words.append(s["moe_dispatcher"])
        if s.get("fp8_scaling") == "delayed":
            words.append("delayed-scaling")
        if s.get("moe_capacity_factor"):
            words.append("capacity-factor=" + s["moe_capacity_factor"])
        if s.get("ep_overlap") == "true":
            words.append("ep-overlap")
        if s.get("cuda_graphs") == "true":
            words.append("cuda-graphs")
        if s.get("cuda_graph_modules"):
            words.append("graphs=" + s["cuda_graph_modules"])
        if s.get("nccl_max_ctas"):
            words.append("ctas(" + s["nccl_max_ctas"].replace(" ", ",") + ")")
        return " ".join(words)
    def err(r):
        return f"{100 * (r['predicted'] - r['measured']) / r['measured']:+.1f}" if r["status"] == "ok" else "n/a"
    for row_id, s in source.items():
        r = by_id[row_id]
        lines.append(f"| {row_id} | {s['model_id']} | {s['accelerator_id']} | {plan(s)} | {s['metric']} | "
                     f"{float(s['measured']):g} | {r['predicted']:.4g} | {err(r)} |")
    for memory, name in ((True, "Peak memory"), (False, "Time and throughput")):
        rs = [by_id[i] for i, s in source.items() if (s["metric"] == "peak_memory_gb_per_gpu") == memory]
        _, k, med, p90, mean = stats(rs)
        lines.append(f"\n{name}: {k} rows, median error {med:.1f}%, mean {mean:.1f}%.")
    lines += ["", "| row | changes from | what changes | measured change | predicted change |", "|---|---|---|---|---|"]
    for row_id, s in source.items():
        base = s.get("compare_with")
        if not base:
            continue
        r, b = by_id[row_id], by_id[base]
        s0 = source[base]
        what = [f"{k} {s0[k] or 1} -> {s[k] or 1}" for k in ("gpus", "global_batch", "tp", "pp", "vp", "cp", "ep", "micro_batch",
                                                             "ep_overlap") if (s0[k] or "1") != (s[k] or "1")]
        lines.append(f"| {row_id} | {base} | {', '.join(what)} | x{r['measured'] / b['measured']:.3f} | "
                     f"x{r['predicted'] / b['predicted']:.3f} |")
    lines += ["", "NVIDIA's MLPerf configurations cap the CTAs NCCL may use per communicator "
              "(training_results_v5.1 NVIDIA/benchmarks/llama31_8b/implementations/nemo/conf/nccl/"
              "custom_communicator_cta.yaml, set through NCCL_CFG_PATH, and the same caps in v5.0's and v5.1's "
              "Llama 3.1 405B configurations: context parallel 1, data parallel (dp and dp_cp) 8, pipeline 2; "
              "tensor parallel 8 too, but their TP traffic goes through Transformer Engine's userbuffers overlap, "
              "not that communicator), to leave the SMs to compute. The rows say so (`nccl_max_ctas`, `ctas(...)` "
              "above), and the step model moves a capped communicator's NVLink traffic at the caps times the "
              "accelerator's NCCL channel bandwidth: the per-channel speed NCCL's own ring search settles on, "
              "45 GB/s on Blackwell (8 channels of 90 GB/s in 18 NVLinks, doubled to 16 of 45; NVIDIA/nccl "
              "src/graph/search.cc), 30 GB/s on Hopper. It moved the held-out rows from MAPE / median / p90 "
              "13.4 / 8.5 / 26.4% to 10.5 / 7.3 / 26.4% (2026-12-05): the Llama 3.1 8B rows on 72 GPUs from "
              "-18.7 / -18.1% to -2.7 / -4.2%, those on 512 GPUs from -60 / -56% to -30 / -27%, the GB200 "
              "405B rows about 0.7 points closer. Pricing a CTA at 1/36 of the NVLink bandwidth instead (two CTAs "
              "per link, the most NCCL launches, NVIDIA/nccl issue #1703) overshoots (+10 to +27% on the 8B rows "
              "with context parallelism), and at NCCL's 90 GB/s before the doubling it undershoots (the 72-GPU rows "
              "-16%). What else the 512-GPU 8B rows (85 ms steps) spend is not found."]
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aifactory", default=os.path.join(ROOT, "build/release/aifactory"))
    ap.add_argument("--csv", default=os.path.join(ROOT, "../shared/validation/training_runs.csv"))
    validation_features.add_argument(ap)
    ap.add_argument("--heldout", default=os.path.join(ROOT, "data/validation/heldout_runs.csv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/validation.md"))
    args = ap.parse_args()
    def validate_file(path, extra):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "v.json")
            subprocess.run([args.aifactory, "validate", path, "--json", out, "--quiet"] + extra, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return json.load(open(out))["rows"]

    def validate(extra):
        return validate_file(args.csv, extra)

    rows = validate([])  # the contract: the CSV alone
    featured = validate(validation_features.validate_args(args.features)) if args.features else None
    source = {r["row_id"]: r for r in csv.DictReader(open(args.csv))}
    modelable = [r for r in rows if source[r["row_id"]]["model_id"] and source[r["row_id"]]["accelerator_id"]]

    lines = ["# Validation of the training step model", "",
             "Generated by `tools/validation_report.py` from `aifactory validate "
             "../shared/validation/training_runs.csv`; do not edit by hand.", "",
             "Error is the absolute percentage error of the predicted metric against the measured one "
             "(tokens/s/GPU or TFLOP/s/GPU; the TFLOP/s metrics use the Megatron FLOP formula the sources "
             "use, so their error equals the step-time error). Percentiles interpolate linearly.", "",
             "## Coverage", ""]
    n_ok = sum(r["status"] == "ok" for r in modelable)
    lines.append(f"{len(rows)} rows in the file; {len(modelable)} name both a catalog model and an accelerator; "
                 f"{n_ok} of those are predicted ({100 * n_ok / len(modelable):.1f}%). Skipped rows and why:")
    lines.append("")
    for r in rows:
        if r["status"] != "ok":
            reason = re.sub(r"^.*?training_runs.csv:\d+: ", "", r["reason"])
            lines.append(f"- row {r['row_id']}: {reason}")
    lines += ["", "## Error per accelerator (all predicted rows)", "",
              "| accelerator | rows | predicted | median % | p90 % | mean % |", "|---|---|---|---|---|---|"]
    by = collections.defaultdict(list)
    for r in rows:
        by[r["accelerator_id"]].append(r)
    for acc in sorted(by):
        n, k, med, p90, mean = stats(by[acc])
        lines.append(f"| {acc} | {n} | {k} | {med:.1f} | {p90:.1f} | {mean:.1f} |")
    n, k, med, p90, mean = stats(rows)
    lines.append(f"| **all** | {n} | {k} | **{med:.1f}** | **{p90:.1f}** | {mean:.1f} |")

    lines += ["", "## Fitted rows against held-out rows", "",
              "The GEMM efficiencies and the host time per kernel were fitted on rows with an odd `row_id` only "
              "(`tools/calibrate.py --fit`); rows with an even `row_id` were never seen by the fit.", "",
              "| accelerator | fit rows | fit median % | held-out rows | held-out median % | held-out p90 % |",
              "|---|---|---|---|---|---|"]
    for acc in sorted(by) + ["all"]:
        rs = rows if acc == "all" else by[acc]
        fit = [r for r in rs if r["row_id"].isdigit() and int(r["row_id"]) % 2 == 1]
        held = [r for r in rs if r["row_id"].isdigit() and int(r["row_id"]) % 2 == 0]
        _, kf, mf, _, _ = stats(fit)
        _, kh, mh, ph, _ = stats(held)
        lines.append(f"| {acc} | {kf} | {mf:.1f} | {kh} | {mh:.1f} | {ph:.1f} |")

    if featured:
        lines += features_section(rows, featured, args.features, source)
        plans = validation_features.recipe_plans(args.features)
        if plans:
            with tempfile.TemporaryDirectory() as d:
                recipe_csv = os.path.join(d, "training_runs_recipe_plans.csv")
                validation_features.write_with_recipe_plans(args.csv, plans, recipe_csv)
                recipe_rows = validate_file(recipe_csv, validation_features.validate_args(args.features))
            lines += recipe_section(featured, recipe_rows, plans, source)
    lines += heldout_section(validate_file(args.heldout, []), args.heldout)
    lines += ["", "## Error per model and precision", "",
              "| accelerator | model | dtype | rows | median % | signed median % |", "|---|---|---|---|---|---|"]
    groups = collections.defaultdict(list)
    for r in rows:
        if r["status"] != "ok":
            continue
        s = source[r["row_id"]]
        groups[(s["accelerator_id"], s["model_id"], s["dtype"] or "(unstated)")].append(r)
    for key in sorted(groups):
        rs = groups[key]
        signed = [100 * (r["predicted"] - r["measured"]) / r["measured"] for r in rs]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {len(rs)} | {pct([r['ape_pct'] for r in rs], 0.5):.1f} | "
                     f"{pct(signed, 0.5):+.1f} |")

    cal = open(os.path.join(ROOT, "data/catalog/calibration.yaml")).read()
    lines += ["", "## Calibration", "", open(os.path.join(ROOT, "docs/calibration-method.md")).read().strip(), "",
              "The constants in force (`data/catalog/calibration.yaml`):", "", "```yaml", cal.strip(), "```", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
