package dev.claudeproxy.examples.host;

import dev.claudeproxy.UsageRecord;
import dev.claudeproxy.UsageSink;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host's own usage book, fed by the proxy as its {@link UsageSink}: calls and tokens per user, as a host would
 * keep them for billing. {@code GET /api/usage} shows a signed-in user their own line.
 */
public final class HostUsage {
  /** One user's totals. */
  private record Totals(long calls, long inputTokens, long outputTokens) {
    Totals add(Totals other) {
      return new Totals(calls + other.calls, inputTokens + other.inputTokens, outputTokens + other.outputTokens);
    }
  }

  private final Map<String, Totals> byUser = new ConcurrentHashMap<>();

  // tag::usage-sink[]
  /** The proxy's {@link UsageSink}: called once per upstream call, on an event loop, so it only adds. */
  public void record(UsageRecord usage) {
    String user = usage.userId() == null ? "(none)" : usage.userId();
    byUser.merge(user, new Totals(1, usage.inputTokens(), usage.outputTokens()), Totals::add);
  }
  // end::usage-sink[]

  /** {@code user}'s totals as JSON: {@code user}, {@code calls}, {@code input_tokens}, {@code output_tokens}. */
  public JsonObject of(String user) {
    Totals totals = byUser.getOrDefault(user, new Totals(0, 0, 0));
    return new JsonObject().put("user", user).put("calls", totals.calls())
        .put("input_tokens", totals.inputTokens()).put("output_tokens", totals.outputTokens());
  }
}
