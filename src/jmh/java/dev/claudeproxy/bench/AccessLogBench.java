package dev.claudeproxy.bench;

import dev.claudeproxy.internal.api.Outcome;
import dev.claudeproxy.internal.observe.AccessLog;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * One access line of a streamed request, filled in as a stream fills it (request, caller, endpoint, upstream status
 * and request id, first event, first token, outcome, duration, status, usage) and encoded into its text: the line's
 * whole cost but the write to the log. {@code jackson} is {@link AccessLog.Entry}, a map encoded by Jackson as
 * {@code JsonObject.encode()} does; {@code handWritten} is the writer it replaced ({@link HandWrittenAccessLine}).
 * One operation is one line.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AccessLogBench {
  private final AccessLog log = AccessLog.toLogger();
  private final JsonObject report = new JsonObject().put("usage", new JsonObject().put("input_tokens", 1234)
      .put("output_tokens", 200).put("cache_creation_input_tokens", 0).put("cache_read_input_tokens", 512));
  private long n;

  @Benchmark
  public String jackson() {
    AccessLog.Entry entry = log.begin("req_011CUn4xYtZbJ6" + (n++ & 1023), "POST", "/v1/messages");
    entry.user("alice", "pro", "api_key").put("endpoint", "messages").put("streaming", true)
        .put("model", "claude-sonnet-4-6").put("upstream_status", 200)
        .put("upstream_request_id", "req_011CUn4xYtZbJ6upstream").put("first_event_ms", 3L).put("ttft_ms", 41L)
        .put("outcome", Outcome.COMPLETED.wire()).put("duration_ms", 2_345L).put("status", 200);
    entry.usage(report); // the stream has not ended: the line is not written, only encoded below
    return entry.encode();
  }

  @Benchmark
  public String handWritten() {
    HandWrittenAccessLine.Entry entry = new HandWrittenAccessLine.Entry("req_011CUn4xYtZbJ6" + (n++ & 1023), "POST",
        "/v1/messages");
    entry.user("alice", "pro", "api_key").put("endpoint", "messages").put("streaming", true)
        .put("model", "claude-sonnet-4-6").put("upstream_status", 200)
        .put("upstream_request_id", "req_011CUn4xYtZbJ6upstream").put("first_event_ms", 3L).put("ttft_ms", 41L)
        .put("outcome", Outcome.COMPLETED.wire()).put("duration_ms", 2_345L).put("status", 200);
    entry.usage(report.getJsonObject("usage"));
    return entry.encode();
  }
}
