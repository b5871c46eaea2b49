package dev.claudeproxy.internal.load;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The outcome of a load run: a JSON summary, and an HTML report with charts that works offline. */
public final class LoadReport {
  private static final String CHART_JS = "META-INF/resources/webjars/chart.js/4.4.9/dist/chart.umd.js";

  private final JsonObject summary;
  private final LoadStats stats;
  private final double seconds;

  LoadReport(LoadConfig config, LoadStats stats, double seconds) {
    this.stats = stats;
    this.seconds = seconds;
    this.summary = stats.summary(seconds).put("config", new JsonObject()
        .put("target", config.targets().get(0).toString()).put("endpoint", config.endpoint())
        .put("concurrency", config.concurrency()).put("total", config.total())
        .put("duration_s", config.duration() == null ? null : config.duration().toSeconds())
        .put("ramp_up_s", config.rampUp() == null ? 0 : config.rampUp().toSeconds())
        .put("verify_tokens", config.verifyTokens()).put("source_addresses", config.addresses())
        .put("warmup_streams", config.warmup())
        .put("headers", new JsonObject(new java.util.TreeMap<>(config.headers())))
        .put("targets", new JsonArray(config.targets().stream().map(URI::toString).toList()))
        .put("cut_and_resume", config.cutAndResume()).put("cancel", config.cancel()));
    if (config.cutAndResume()) {
      summary.put("resume", stats.resumeSummary());
    }
    if (config.cancel()) {
      summary.put("cancel", stats.cancelSummary());
    }
  }

  /**
   * The report of one run made by several processes, each with its share of the streams: {@code config} is the
   * whole run's, {@code shares} what each process counted ({@link #export}); the run lasted as long as the longest.
   *
   * @throws IllegalArgumentException when a share cannot be read
   */
  public static LoadReport merged(LoadConfig config, List<JsonObject> shares) {
    LoadStats stats = new LoadStats();
    double seconds = 0;
    for (JsonObject share : shares) {
      stats.merge(share);
      seconds = Math.max(seconds, share.getDouble("seconds"));
    }
    return new LoadReport(config, stats, seconds);
  }

  /** Everything this run counted, whole, for {@link #merged}. */
  public JsonObject export() {
    return stats.export(seconds);
  }

  public JsonObject summary() {
    return summary;
  }

  /** Whether every stream completed and every check passed. */
  public boolean clean() {
    return summary.getJsonObject("streams").getLong("failed") == 0;
  }

  public void writeJson(Path file) throws IOException {
    Files.writeString(file, summary.copy().put("timeline", stats.timeline.copy()).encodePrettily());
  }

  public void writeHtml(Path file) throws IOException {
    String chartJs;
    try (InputStream in = LoadReport.class.getClassLoader().getResourceAsStream(CHART_JS)) {
      if (in == null) {
        throw new IOException("Chart.js is missing from the class path (" + CHART_JS + ")");
      }
      chartJs = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    JsonObject data = new JsonObject().put("summary", summary).put("timeline", stats.timeline)
        .put("ttft", stats.ttftBuckets());
    // The data goes in as JSON inside a script; "</" is escaped so no value can close the script element.
    String json = data.encode().replace("</", "<\\/");
    Files.writeString(file, HTML.replace("/*CHART_JS*/", chartJs).replace("/*DATA*/", json));
  }

  private static final String HTML = """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><title>Load report · Claude Stream Proxy</title>
      <style>
        body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1f1e1d; }
        h1 { font-weight: 600; } table { border-collapse: collapse; margin: 1rem 0; }
        td, th { padding: .3rem .8rem; border-bottom: 1px solid #e4e0da; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 2rem; }
        pre { background: #f3f1ee; padding: 1rem; overflow-x: auto; }
      </style></head><body>
      <h1>Load report</h1>
      <p id="headline"></p>
      <table id="latency"><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></table>
      <div class="charts">
        <div><h2>Time to first token (ms)</h2><canvas id="ttft"></canvas></div>
        <div><h2>Active streams and deltas per second</h2><canvas id="timeline"></canvas></div>
      </div>
      <h2>Errors</h2><pre id="errors"></pre>
      <h2>Summary</h2><pre id="summary"></pre>
      <script>/*CHART_JS*/</script>
      <script>
      const data = /*DATA*/;
      const s = data.summary;
      document.getElementById('headline').textContent =
        `${s.streams.completed} of ${s.streams.started} streams completed (${(100 * s.streams.completion_rate).toFixed(2)} %)`
        + ` in ${s.seconds} s against ${s.config.target} (${s.config.endpoint}), ${s.config.concurrency} at once;`
        + ` ${s.deltas} deltas, ${s.deltas_per_second}/s; integrity: ${s.integrity.verified} verified,`
        + ` ${s.integrity.mismatched} mismatched.`;
      const table = document.getElementById('latency');
      const rows = [['time to first token (ms)', s.time_to_first_token_ms],
          ['gap between deltas (ms)', s.gap_between_deltas_ms], ['stream duration (ms)', s.stream_duration_ms]];
      if (s.resume) {
        rows.push(['time to resume (ms)', s.resume.time_to_resume_ms]);
        document.getElementById('headline').textContent += ` Cut and resumed: ${s.resume.resumed} of`
          + ` ${s.resume.cuts} cuts, failed resumes ${JSON.stringify(s.resume.failed)}.`;
      }
      for (const [name, p] of rows) {
        const row = table.insertRow();
        row.insertCell().textContent = name;
        for (const k of ['p50', 'p90', 'p99', 'max']) row.insertCell().textContent = p[k] ?? '–';
      }
      document.getElementById('errors').textContent = JSON.stringify({counts: s.errors, examples: s.error_examples}, null, 2);
      document.getElementById('summary').textContent = JSON.stringify(s, null, 2);
      new Chart(document.getElementById('ttft'), { type: 'bar',
        data: { labels: data.ttft.map(b => b.ms), datasets: [{ label: 'streams', data: data.ttft.map(b => b.count),
          backgroundColor: '#c96442' }] },
        options: { animation: false, scales: { x: { title: { display: true, text: 'ms' } } } } });
      new Chart(document.getElementById('timeline'), { type: 'line',
        data: { labels: data.timeline.map(p => p.t), datasets: [
          { label: 'active streams', data: data.timeline.map(p => p.active), yAxisID: 'y', borderColor: '#1f1e1d' },
          { label: 'deltas/s', data: data.timeline.map(p => p.deltas_per_s), yAxisID: 'y1', borderColor: '#c96442' }] },
        options: { animation: false, scales: { x: { title: { display: true, text: 's' } },
          y: { position: 'left' }, y1: { position: 'right', grid: { drawOnChartArea: false } } } } });
      </script></body></html>
      """;
}
