package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A request whose body never comes whole is answered 408 once the request timeout has passed, and its connection
 * closed; requests whose bodies do come are not touched. Several waiting at once are each answered at their own time.
 */
class BodyDeadlineTest {
  private static final String BODY = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":16,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

  @Test
  void bodiesThatNeverFinishGet408AtTheirOwnDeadline() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_REQUEST_TIMEOUT_MS", 400))) {
      long start = System.nanoTime();
      CompletableFuture<long[]> first = CompletableFuture.supplyAsync(() -> halfABody(stack, 0));
      CompletableFuture<long[]> second = CompletableFuture.supplyAsync(() -> halfABody(stack, 250));
      // A whole request meanwhile is answered as usual.
      var whole = stack.http().send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create(stack.proxyUrl() + "/v1/messages"))
          .header("content-type", "application/json").header("x-api-key", stack.callerKey)
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString(BODY)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, whole.statusCode(), whole.body());
      for (CompletableFuture<long[]> waiting : java.util.List.of(first, second)) {
        long[] result = waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(408, result[0]);
      }
      long firstAt = (first.get()[1] - start) / 1_000_000;
      long secondAt = (second.get()[1] - start) / 1_000_000;
      assertTrue(firstAt >= 400 && firstAt < 3_000, "first answered after " + firstAt + " ms");
      assertTrue(secondAt >= 650 && secondAt < 3_500, "second answered after " + secondAt + " ms");
    }
  }

  /** Sends a request with half its body after {@code delayMs}; returns its status and when it was answered. */
  private static long[] halfABody(TestStack stack, long delayMs) {
    try (Socket socket = new Socket()) {
      Thread.sleep(delayMs);
      socket.connect(new InetSocketAddress("127.0.0.1", stack.proxy.port()), 5_000);
      socket.setSoTimeout(10_000);
      byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-api-key: "
          + stack.callerKey + "\r\ncontent-length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      out.write(body, 0, body.length / 2);
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      byte[] buffer = new byte[4096];
      for (int n; (n = in.read(buffer)) > 0; ) {
        answer.write(buffer, 0, n);
      }
      long at = System.nanoTime();
      String text = answer.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("did not arrive within 400 ms"), text);
      return new long[] {Long.parseLong(text.substring(9, 12)), at};
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
