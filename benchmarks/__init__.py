"""Side-by-side benchmarks against PyTorch (a benchmark-only dependency)."""
