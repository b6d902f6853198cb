"""The framework settings of the shared validation runs (data/validation/training_runs_features.csv,
written by tools/recipe_features.py), as the report and calibration tools pass them to
`aifactory validate --features`."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "data/validation/training_runs_features.csv")


def add_argument(ap, default=DEFAULT):
    ap.add_argument("--features", default=default,
                    help="CSV of each row's framework settings, by row_id (default: %(default)r; '' for none)")


def validate_args(path):
    """The `aifactory validate` arguments that pass the file, none for ''."""
    return ["--features", path] if path else []


def recipe_plans(features_path):
    """row_id -> {column: value} for the rows whose release's recipe runs another plan than the
    performance summary's table says (the features file's recipe_plan column)."""
    import csv
    out = {}
    if not features_path:
        return out
    with open(features_path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("recipe_plan"):
                out[r["row_id"]] = dict(field.split("=", 1) for field in r["recipe_plan"].split())
    return out


def write_with_recipe_plans(csv_path, plans, out_path):
    """A copy of the validation CSV whose rows in `plans` take the recipe's plan (their dp and
    grad_accum left to follow from it)."""
    import csv
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)
    for r in rows:
        plan = plans.get(r["row_id"])
        if plan:
            r.update({k: ("" if v == "1" and k == "vp" else v) for k, v in plan.items()})
            r["dp"] = r["grad_accum"] = ""
    with open(out_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
