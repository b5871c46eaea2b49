/**
 * The benchmark suite ({@code bench} command, {@code scripts/bench}): the simulator, the proxies, a cluster, nginx and
 * a bare Vert.x pass-through on loopback, driven by a warm load-generator process, measured from /proc, and written to
 * bench/results.md. {@link dev.claudeproxy.internal.bench.BenchCommand} says what it measures; by concern:
 * {@code Processes} (starting, readiness, stopping), {@code CpuAccounting} (CPU and memory from /proc),
 * {@code LoadGeneratorProcess} (runs on a load generator's standard input), {@code Bench} (what the sections share:
 * measured runs, the warm-up, held streams), the sections ({@code FullBench}, {@code ResumeCosts},
 * {@code AbComparison}), {@code Rounds} and {@code Meters} (medians, the proxy's own meters), and
 * {@code ResultsMarkdown} (the report, with {@code ResultFormat}: numbers written as the Python bench wrote them).
 */
package dev.claudeproxy.internal.bench;
