import os

# Reproducible, fast BLAS in tests; tests never assert wall-clock times.
os.environ.setdefault("MPLBACKEND", "Agg")
