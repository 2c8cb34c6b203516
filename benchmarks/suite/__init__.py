"""The SST-2 benchmark suite (`python benchmarks/run_suite.py`): every compression variant vs the baselines."""
