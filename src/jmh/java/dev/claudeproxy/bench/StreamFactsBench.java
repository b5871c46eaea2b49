package dev.claudeproxy.bench;

import dev.claudeproxy.internal.upstream.SseEvent;
import dev.claudeproxy.internal.upstream.SseParser;
import dev.claudeproxy.internal.upstream.StreamFacts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What the worker learns from one stream's fact events (message_start, message_delta, message_stop): model, id,
 * usage and stop reason. {@code streaming} is {@link StreamFacts#observe}, which reads only those fields with a
 * streaming parser; {@code tree} decodes each fact event into a {@link JsonObject} and reads the same fields from it,
 * as StreamFacts did before. One operation is one stream's facts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class StreamFactsBench {
  private final List<SseEvent> events = new ArrayList<>();

  @Setup(Level.Trial)
  public void setUp() {
    new SseParser().feed(Buffer.buffer(SampleStream.stream(1, 42)), events::add);
    StreamFacts facts = streaming();
    JsonObject tree = tree();
    if (facts.malformed() || !facts.usage().equals(tree.getJsonObject("usage"))
        || !facts.stopReason().equals(tree.getString("stop_reason"))) {
      throw new IllegalStateException("the two readings differ: " + facts.usage() + " / " + tree);
    }
  }

  @Benchmark
  public StreamFacts streaming() {
    StreamFacts facts = new StreamFacts();
    for (SseEvent event : events) {
      facts.observe(event);
    }
    return facts;
  }

  @Benchmark
  public JsonObject tree() {
    JsonObject usage = new JsonObject();
    JsonObject out = new JsonObject().put("usage", usage);
    for (SseEvent event : events) {
      String name = event.name();
      if ("message_start".equals(name)) {
        JsonObject message = new JsonObject(event.data()).getJsonObject("message");
        out.put("model", message.getString("model")).put("id", message.getString("id"));
        counters(message.getJsonObject("usage"), usage);
      } else if ("message_delta".equals(name)) {
        JsonObject data = new JsonObject(event.data());
        JsonObject delta = data.getJsonObject("delta");
        if (delta != null && delta.getString("stop_reason") != null) {
          out.put("stop_reason", delta.getString("stop_reason"));
        }
        counters(data.getJsonObject("usage"), usage);
      }
    }
    return out;
  }

  private static void counters(JsonObject from, JsonObject into) {
    if (from != null) {
      for (String key : from.fieldNames()) {
        if (from.getValue(key) instanceof Number n) {
          into.put(key, n);
        }
      }
    }
  }
}
