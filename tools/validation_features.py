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
