package dev.claudeproxy.bench;

import dev.claudeproxy.internal.upstream.SseEvent;
import dev.claudeproxy.internal.upstream.SseParser;
import dev.claudeproxy.internal.upstream.StreamFacts;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The worker's per-chunk work on an upstream SSE stream: parsing alone, and parsing plus what the worker does for
 * {@code /v1/messages} pass-through (UpstreamCall.onSseChunk: StreamFacts.observe on each event, its raw bytes
 * appended to one batch Buffer per chunk).
 *
 * <p>One operation is one delta: an invocation parses a whole stream of {@link #DELTAS} deltas (plus its
 * {@link SampleStream#NON_DELTA_EVENTS} other events, whose cost is spread over the deltas), so the score is ns per
 * delta.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SseParserBench {
  /** A long answer: about 1,000 tokens of text. */
  static final int DELTAS = 1000;

  /** Bytes per upstream chunk: a small TLS record's worth, a typical read, a large read. */
  @Param({"64", "1024", "16384"})
  int chunkSize;

  /**
   * Whether content deltas also feed the output estimate, as UpstreamCall always has them do; false measures the
   * path without it, so that one run shows what the estimate costs per delta.
   */
  @Param({"true", "false"})
  boolean estimate;

  private byte[][] chunks;
  private int events;
  private final Consumer<SseEvent> count = event -> events++;

  @Setup(Level.Trial)
  public void setUp() {
    chunks = SampleStream.chunks(SampleStream.stream(DELTAS, 42), chunkSize);
    // A benchmark that parsed the wrong number of events would measure nothing useful.
    int parsed = parse();
    if (parsed != DELTAS + SampleStream.NON_DELTA_EVENTS) {
      throw new IllegalStateException("parsed " + parsed + " events, expected "
          + (DELTAS + SampleStream.NON_DELTA_EVENTS));
    }
    StreamFacts facts = new StreamFacts();
    passThrough(facts, null);
    if (!facts.sawStop() || facts.malformed() || !"end_turn".equals(facts.stopReason())) {
      throw new IllegalStateException("the sample stream did not read as a complete stream");
    }
  }

  @Benchmark
  @OperationsPerInvocation(DELTAS)
  public int parse() {
    SseParser parser = new SseParser();
    events = 0;
    for (byte[] chunk : chunks) {
      // A fresh Buffer per chunk, as from the network: the parser may keep and append to the chunk it was given.
      parser.feed(Buffer.buffer(chunk), count);
    }
    return events;
  }

  @Benchmark
  @OperationsPerInvocation(DELTAS)
  public int parseObserveBatch(Blackhole hole) {
    return passThrough(new StreamFacts(), hole);
  }

  /** What UpstreamCall.onSseChunk does per chunk when the client speaks the Messages API. */
  private int passThrough(StreamFacts facts, Blackhole hole) {
    SseParser parser = new SseParser();
    // As UpstreamCall does: every content delta also feeds the output estimate of a stream that ends early.
    if (estimate) {
      facts.countContentOf(parser);
    }
    int total = 0;
    for (byte[] chunk : chunks) {
      Buffer whole = parser.forward(Buffer.buffer(chunk), FACT_EVENTS, event -> {
        facts.observe(event);
        return !facts.malformed();
      });
      if (whole != null) {
        if (hole != null) {
          // Stands for sender.data(whole, events): the bytes must be produced, not optimised away.
          hole.consume(whole);
        }
        total += parser.forwardedEvents();
      }
    }
    return total;
  }

  private static final byte[][] FACT_EVENTS = SseParser.names("message_start", "message_delta", "message_stop",
      "error");
}
