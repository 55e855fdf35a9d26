"""Speed and memory benchmarks: ``make bench`` prints figures, never asserts timings."""
