# Empty dependencies file for step_model_bench.
# This may be replaced when dependencies are built.
