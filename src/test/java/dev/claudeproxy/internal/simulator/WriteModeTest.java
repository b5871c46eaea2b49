package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code SIM_WRITE}: the same bytes either way; with {@code event} each SSE event is an HTTP/1.1 chunk (and an HTTP/2
 * DATA frame) of its own, with {@code batch} events share them. HTTP/1.1 is read from a plain socket and its chunked
 * encoding parsed here, so the chunks are the simulator's writes whatever the TCP reads were.
 */
class WriteModeTest {
  private static final Pattern MESSAGE_ID = Pattern.compile("\"id\":\"(msg_01[0-9A-Za-z]+)\"");

  private static Vertx vertx;
  /** The default configuration's write mode ({@code event}), no TTFT, full speed. */
  private static Simulator sim;
  /** The same with {@code SIM_WRITE=batch}. */
  private static Simulator batchSim;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    sim = SimTestSupport.start(vertx, SimTestSupport.fast());
    batchSim = SimTestSupport.start(vertx, SimTestSupport.fast().withWrite(WriteMode.BATCH));
  }

  @AfterAll
  static void tearDown() {
    SimTestSupport.await(vertx.close());
  }

  /** Thinking, text and a tool call: ticks that carry a block's start, the ping, a signature and a stop. */
  private static JsonObject richRequest(int maxTokens) {
    return SimTestSupport.request("claude-opus-4-6", maxTokens, "What's the weather in Paris?")
        .put("stream", true)
        .put("thinking", new JsonObject().put("type", "enabled").put("budget_tokens", 2048))
        .put("tools", new JsonArray().add(SseFramingTest.weatherTool()));
  }

  @Test
  void eventIsTheDefault() {
    assertEquals(WriteMode.EVENT, SimulatorConfig.defaults().write());
  }

  @Test
  void atFullSpeedEachEventIsAChunkOfItsOwn() throws IOException {
    JsonObject req = richRequest(64_000);
    List<byte[]> chunks = chunks(sim.port(), req, "x-sim-output-tokens", "300");
    ReplyPlan plan = ReplyPlan.of(req, 300);
    assertOneEventEach(chunks);
    // Every event, the ping included, in a chunk of its own.
    assertEquals(plan.eventCount() + 1, chunks.size());
    assertEquals(expected(plan, chunks), text(chunks));
  }

  @Test
  void batchPacksEventsAtFullSpeedAndSendsTheSameBytes() throws IOException {
    JsonObject req = richRequest(64_000);
    ReplyPlan plan = ReplyPlan.of(req, 300);
    List<byte[]> byHeader = chunks(sim.port(), req, "x-sim-output-tokens", "300", "x-sim-write", "batch");
    List<byte[]> byConfig = chunks(batchSim.port(), req, "x-sim-output-tokens", "300");
    for (List<byte[]> chunks : List.of(byHeader, byConfig)) {
      assertEquals(expected(plan, chunks), text(chunks));
      assertTrue(maxEvents(chunks) > 100, "one write carries many events: at most " + maxEvents(chunks));
      assertTrue(chunks.size() < 10, chunks.size() + " chunks");
    }
    // And a request can ask the batching simulator for events one by one.
    List<byte[]> events = chunks(batchSim.port(), req, "x-sim-output-tokens", "300", "x-sim-write", "Event");
    assertOneEventEach(events);
    assertEquals(expected(plan, events), text(events));
  }

  @Test
  void pacedTokensDueAtOneWakeUpStillGoOneByOne() throws IOException {
    // 4,000 tokens a second against the clock's 5 ms tick: about 20 tokens are due at each wake-up.
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 1000, "quickly but paced").put("stream", true);
    String[] paced = {"x-sim-output-tokens", "200", "x-sim-tokens-per-second", "4000", "x-sim-ttft-ms", "5"};
    ReplyPlan plan = ReplyPlan.of(req, 200);
    List<byte[]> batched = chunks(batchSim.port(), req, paced);
    assertEquals(expected(plan, batched), text(batched));
    assertTrue(maxEvents(batched) > 3, "the premise: several tokens were due at one wake-up, "
        + maxEvents(batched) + " events in a write at most");
    List<byte[]> events = chunks(sim.port(), req, paced);
    assertOneEventEach(events);
    assertEquals(plan.eventCount() + 1, events.size());
    assertEquals(expected(plan, events), text(events));
  }

  @Test
  void aMidstreamErrorIsAnEventOfItsOwnToo() throws IOException {
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 1000, "fail please").put("stream", true);
    List<byte[]> chunks = chunks(sim.port(), req, "x-sim-scenario", "midstream_error");
    assertOneEventEach(chunks);
    String last = new String(chunks.get(chunks.size() - 1), StandardCharsets.UTF_8);
    assertTrue(last.startsWith("event: error\n"), last);
    // message_start, content_block_start, ping, three deltas (SIM_FAULT_AFTER_DELTAS), the error.
    assertEquals(7, chunks.size());
  }

  @Test
  void overHttp2EachEventIsADataFrameOfItsOwn() {
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false));
    try {
      JsonObject req = richRequest(64_000);
      ReplyPlan plan = ReplyPlan.of(req, 300);
      List<Buffer> frames = h2Frames(client, req, "event");
      List<byte[]> events = frames.stream().map(Buffer::getBytes).toList();
      assertOneEventEach(events);
      assertEquals(plan.eventCount() + 1, events.size());
      assertEquals(expected(plan, events), text(events));
      List<byte[]> batched = h2Frames(client, req, "batch").stream().map(Buffer::getBytes).toList();
      assertEquals(expected(plan, batched), text(batched));
      assertTrue(maxEvents(batched) > 100, "frames carry many events: at most " + maxEvents(batched));
    } finally {
      SimTestSupport.await(client.close());
    }
  }

  private static List<Buffer> h2Frames(HttpClient client, JsonObject req, String write) {
    Context context = vertx.getOrCreateContext();
    return SimTestSupport.onLoop(context, () -> client.request(HttpMethod.POST, sim.port(), "127.0.0.1",
            "/v1/messages")
        .compose(r -> r.putHeader("anthropic-version", "2023-06-01").putHeader("content-type", "application/json")
            .putHeader("x-sim-output-tokens", "300").putHeader("x-sim-write", write).send(req.encode()))
        .compose(resp -> {
          assertEquals(HttpVersion.HTTP_2, resp.version());
          List<Buffer> frames = new ArrayList<>();
          resp.handler(frames::add);
          return resp.end().map(v -> frames);
        }));
  }

  private static void assertOneEventEach(List<byte[]> chunks) {
    for (int i = 0; i < chunks.size(); i++) {
      String c = new String(chunks.get(i), StandardCharsets.UTF_8);
      assertTrue(c.startsWith("event: ") && c.endsWith("\n\n") && c.indexOf("\n\n") == c.length() - 2,
          "chunk " + i + " of " + chunks.size() + " is not exactly one event: " + c);
    }
  }

  /** The most events one chunk carried. */
  private static int maxEvents(List<byte[]> chunks) {
    int most = 0;
    for (byte[] c : chunks) {
      most = Math.max(most, new String(c, StandardCharsets.UTF_8).split("\n\n", -1).length - 1);
    }
    return most;
  }

  private static String text(List<byte[]> chunks) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    chunks.forEach(all::writeBytes);
    return all.toString(StandardCharsets.UTF_8);
  }

  /** What the plan says the simulator sends, with the message id it chose (read from the chunks). */
  private static String expected(ReplyPlan plan, List<byte[]> chunks) {
    Matcher m = MESSAGE_ID.matcher(text(chunks));
    assertTrue(m.find(), "a message id in message_start");
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (Iterator<Buffer> it = plan.pieces(m.group(1)); it.hasNext(); ) {
      all.writeBytes(it.next().getBytes());
    }
    return all.toString(StandardCharsets.UTF_8);
  }

  /**
   * POSTs {@code body} over a fresh HTTP/1.1 connection and returns the response body's chunks, as the chunked
   * encoding delimits them.
   */
  private static List<byte[]> chunks(int port, JsonObject body, String... headers) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(20_000);
      byte[] content = body.encode().getBytes(StandardCharsets.UTF_8);
      StringBuilder head = new StringBuilder("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\n"
          + "content-type: application/json\r\nanthropic-version: 2023-06-01\r\nconnection: close\r\n");
      for (int i = 0; i < headers.length; i += 2) {
        head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
      }
      head.append("content-length: ").append(content.length).append("\r\n\r\n");
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
      out.write(content);
      out.flush();
      InputStream in = new java.io.BufferedInputStream(socket.getInputStream());
      String status = line(in);
      assertTrue(status.startsWith("HTTP/1.1 200"), status);
      boolean chunked = false;
      for (String h = line(in); !h.isEmpty(); h = line(in)) {
        chunked |= h.toLowerCase(Locale.ROOT).equals("transfer-encoding: chunked");
      }
      assertTrue(chunked, "a chunked body");
      List<byte[]> chunks = new ArrayList<>();
      while (true) {
        String size = line(in);
        int n = Integer.parseInt(size.split(";", 2)[0].trim(), 16);
        if (n == 0) {
          assertEquals("", line(in), "no trailers");
          return chunks;
        }
        chunks.add(in.readNBytes(n));
        assertEquals("", line(in), "CRLF after a chunk");
      }
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) != '\n') {
      if (c < 0) {
        throw new IOException("connection closed mid-line after \"" + b + "\"");
      }
      b.append((char) c);
    }
    int n = b.length();
    return n > 0 && b.charAt(n - 1) == '\r' ? b.substring(0, n - 1) : b.toString();
  }
}
