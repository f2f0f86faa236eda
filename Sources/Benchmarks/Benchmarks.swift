/// Wall-clock benchmarks (placeholder).
public enum Benchmarks {}
