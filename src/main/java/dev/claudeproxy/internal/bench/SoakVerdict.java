package dev.claudeproxy.internal.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The soak's pass or fail: every stream completed and matched what the simulator sent; the live heap after a full
 * collection, idle, within a tolerance from the first minute to the end; the descriptors, idle, the same give or take a
 * few; no line of Netty's leak detector.
 */
final class SoakVerdict {
  /** One check: its name, whether it passed, and what was measured. */
  record Check(String name, boolean passed, String detail) {
    JsonObject toJson() {
      return new JsonObject().put("name", name).put("passed", passed).put("detail", detail);
    }
  }

  /**
   * What the load generator counted over every run of the soak.
   *
   * @param cuts streams cut to be resumed (-1 when the soak cut none by design: no resumed shape)
   * @param resumed of those, the ones resumed (each then checked whole, as the others, in {@code verified})
   * @param toFail streams the upstream was to break (-1 when the soak broke none by design); the others are
   *     {@code requested}
   * @param failedAsPlanned of those, the ones that ended with the error they were to end with
   */
  record Streams(long requested, long started, long completed, long failed, long verified, long mismatched,
                 Map<String, Long> errors, long cuts, long resumed, long toFail, long failedAsPlanned) {}

  private final List<Check> checks = new ArrayList<>();

  /**
   * @param heapFirst live heap bytes after a full collection at the first idle point (the end of the first minute's
   *     load), or -1 when there was none
   * @param heapLast the same at the end
   * @param heapTolerance the allowed change, as a fraction (0.05: ±5 %)
   * @param fdFirst the proxy's open descriptors at that first idle point, its pooled connections to the upstream left
   *     out (the pool keeps them for a while, and closes them when idle: they come and go); fdLast at the end
   * @param fdSlack how many more or fewer descriptors are no leak
   * @param leakLines lines of Netty's leak detector in the proxy's output
   */
  SoakVerdict(Streams s, long heapFirst, long heapLast, double heapTolerance, long fdFirst, long fdLast, int fdSlack,
              long leakLines) {
    checks.add(new Check("streams", s.started() == s.requested() && s.completed() == s.requested() && s.failed() == 0,
        String.format(Locale.ROOT, "%d requested, %d started, %d completed, %d failed%s", s.requested(), s.started(),
            s.completed(), s.failed(), s.errors().isEmpty() ? "" : " " + s.errors())));
    checks.add(new Check("integrity", s.mismatched() == 0 && s.verified() == s.requested(),
        String.format(Locale.ROOT, "%d verified against the simulator's plan, %d mismatched", s.verified(),
            s.mismatched())));
    if (s.cuts() >= 0) {
      checks.add(new Check("resumes", s.cuts() > 0 && s.resumed() == s.cuts(),
          String.format(Locale.ROOT, "%d streams cut, %d resumed", s.cuts(), s.resumed())));
    }
    if (s.toFail() >= 0) {
      checks.add(new Check("failures", s.toFail() > 0 && s.failedAsPlanned() == s.toFail(),
          String.format(Locale.ROOT, "%d streams broken by the upstream, %d ended with the error owed", s.toFail(),
              s.failedAsPlanned())));
    }
    if (heapFirst <= 0 || heapLast <= 0) {
      checks.add(new Check("heap", false, "no heap sample at the first minute or at the end"));
    } else {
      double change = (double) (heapLast - heapFirst) / heapFirst;
      checks.add(new Check("heap", Math.abs(change) <= heapTolerance + 1e-12,
          String.format(Locale.ROOT, "live heap after full GC %.1f MB first minute, %.1f MB last (%+.2f %%; allowed"
              + " ±%.0f %%)", heapFirst / 1e6, heapLast / 1e6, 100 * change, 100 * heapTolerance)));
    }
    if (fdFirst < 0 || fdLast < 0) {
      checks.add(new Check("descriptors", false, "no descriptor count at the first minute or at the end"));
    } else {
      checks.add(new Check("descriptors", Math.abs(fdLast - fdFirst) <= fdSlack,
          String.format(Locale.ROOT, "%d open first minute, %d at the end, idle, pooled upstream connections aside (allowed ±%d)", fdFirst, fdLast,
              fdSlack)));
    }
    checks.add(new Check("leak detector", leakLines == 0, leakLines + " LEAK lines in the proxy's log"));
  }

  List<Check> checks() {
    return checks;
  }

  boolean passed() {
    return checks.stream().allMatch(Check::passed);
  }

  JsonArray toJson() {
    JsonArray out = new JsonArray();
    checks.forEach(c -> out.add(c.toJson()));
    return out;
  }
}
