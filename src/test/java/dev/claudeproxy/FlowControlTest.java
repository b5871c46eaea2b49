package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.simulator.SimulatorStats;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A slow reader makes the proxy stop reading the upstream (credits over the bus), and one that reads nothing at all
 * is let go. Proved from the outside: the simulator stops producing while the client does not read.
 */
class FlowControlTest {
  /** ~15 MB of deltas: far more than all the socket buffers and credit windows on the way can hold. */
  private static final String BIG = "{\"model\":\"claude-opus-4-6\",\"max_tokens\":128000,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"A very long answer, please\"}]}";

  @Test
  void aSlowReaderPausesTheUpstreamAndGetsEverythingWhenItReads() throws Exception {
    slowReader("http1");
  }

  /** Over HTTP/2 the upstream stream's window is the credit window: the upstream stops once both are full. */
  @Test
  void aSlowReaderPausesAnHttp2UpstreamStreamToo() throws Exception {
    slowReader("h2c");
  }

  private static void slowReader(String protocol) throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_STREAM_CREDIT_BYTES", 65536, "UPSTREAM_PROTOCOL", protocol))) {
      SimulatorStats stats = stack.simulator.stats();
      long deltasBefore = stats.deltas();
      long completedBefore = stats.streamsCompleted();
      try (Socket client = openUnreadStream(stack)) {
        long plateau = awaitPlateau(stats);
        long produced = plateau - deltasBefore;
        System.out.println(protocol + " upstream paused after " + produced
            + " deltas of 128000 while the client read nothing");
        assertEquals(1, stats.streamsOpen(), "the upstream stream is held open, paused");
        assertEquals(completedBefore, stats.streamsCompleted(), "and did not run to its end");
        String body = readToEnd(client.getInputStream());
        assertTrue(body.contains("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "every byte arrives once the client reads");
        assertEquals(1, Wire.count(body, "event: message_stop"));
      }
      Wire.waitFor(() -> stats.streamsOpen() == 0, "the stream to finish");
    }
  }

  /**
   * A plain (non-streaming) answer goes over the bus with credits like a stream: one larger than the credit window
   * needs the grants of its own client to reach the worker, though only streams are held there for readers.
   */
  @Test
  void aWholeAnswerLargerThanTheCreditWindowArrivesWhole() throws Exception {
    int window = 4096;
    try (TestStack stack = TestStack.start(Map.of("PROXY_STREAM_CREDIT_BYTES", window))) {
      JsonObject request = new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 16000)
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Whole, please")));
      HttpRequest.Builder post = HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/messages"))
          .timeout(Duration.ofSeconds(15)).POST(HttpRequest.BodyPublishers.ofString(request.encode()));
      stack.jsonHeaders(Map.of("x-sim-output-tokens", "8000")).forEach(post::header);
      HttpResponse<String> answer;
      try {
        // The request's own timeout ends at the head; the body is what waits when credits are lost.
        answer = stack.http().sendAsync(post.build(), HttpResponse.BodyHandlers.ofString()).get(15, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        throw new AssertionError("the answer never came whole: its worker waits for credits that never reached it");
      }
      assertEquals(200, answer.statusCode(), answer.body());
      assertTrue(answer.body().length() > 4 * window, "larger than the window: " + answer.body().length());
      JsonObject message = new JsonObject(answer.body());
      assertEquals(ReplyPlan.of(request, 8000).text(),
          message.getJsonArray("content").getJsonObject(0).getString("text"), "the simulator's whole text");
      assertEquals(8000, message.getJsonObject("usage").getInteger("output_tokens"));
    }
  }

  @Test
  void aClientThatReadsNothingIsDisconnectedAndTheUpstreamCancelled() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_CLIENT_STALL_TIMEOUT_MS", 500))) {
      SimulatorStats stats = stack.simulator.stats();
      long cancelledBefore = stats.streamsCancelled();
      try (Socket client = openUnreadStream(stack)) {
        Wire.waitFor(() -> stats.streamsCancelled() == cancelledBefore + 1,
            "the stalled client's upstream to be cancelled");
        String body = readToEnd(client.getInputStream());
        assertTrue(!body.contains("message_stop"), "the response was cut, not completed");
      }
    }
  }

  /** Sends a streaming request over a socket with a tiny receive buffer, and reads nothing. */
  private static Socket openUnreadStream(TestStack stack) throws IOException {
    Socket socket = new Socket();
    socket.setReceiveBufferSize(4096);
    socket.connect(new InetSocketAddress("127.0.0.1", stack.proxy.port()));
    socket.setSoTimeout(20_000);
    byte[] body = BIG.getBytes(StandardCharsets.UTF_8);
    String head = "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        + "x-api-key: " + stack.callerKey + "\r\nanthropic-version: 2023-06-01\r\n"
        + "x-sim-tokens-per-second: 0\r\nx-sim-output-tokens: 128000\r\ncontent-length: " + body.length + "\r\n\r\n";
    OutputStream out = socket.getOutputStream();
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
    return socket;
  }

  /** Waits until the simulator has produced nothing new for half a second; returns its delta count then. */
  private static long awaitPlateau(SimulatorStats stats) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 15_000;
    long last = -1;
    while (System.currentTimeMillis() < deadline) {
      long now = stats.deltas();
      if (now == last && now > 0) {
        return now;
      }
      last = now;
      Thread.sleep(500);
    }
    throw new AssertionError("the upstream never paused: " + stats.deltas() + " deltas");
  }

  private static String readToEnd(InputStream in) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] buf = new byte[65536];
    try {
      for (int n; (n = in.read(buf)) > 0; ) {
        all.write(buf, 0, n);
        if (all.size() > 5 && endsWithLastChunk(all)) {
          break;
        }
      }
    } catch (IOException reset) {
      // A connection the proxy cut ends here.
    }
    return all.toString(StandardCharsets.UTF_8);
  }

  private static boolean endsWithLastChunk(ByteArrayOutputStream all) {
    byte[] b = all.toByteArray();
    String tail = new String(b, Math.max(0, b.length - 7), Math.min(7, b.length), StandardCharsets.US_ASCII);
    return tail.endsWith("\r\n0\r\n\r\n");
  }
}
