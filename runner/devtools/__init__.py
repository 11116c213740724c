"""Tools for trying and measuring the engine, installed with the `demo` extra:
the embedded PostgreSQL, the Alumate-like sample, and the benchmarks."""
