//! Benchmark workloads and peers (filled in by the benchmarks issue).
