package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A stream read up to a chosen event and then cut, as a dropped connection cuts it: its id and the events the client
 * had (pings left out), whose number is the position it resumes after. With the helpers that read streams whole and
 * follow them on {@code /v1/streams/{id}}, for the resume tests of one process and of a cluster.
 */
record StreamCut(String id, List<String> received) {

  /** Where the client resumes: the events it received, pings not counted. */
  int position() {
    return received.size();
  }

  /**
   * POSTs {@code body} to {@code path}, reads events until {@code at} holds for those received so far (pings left
   * out), then closes the connection.
   */
  static StreamCut cut(String baseUrl, String path, Map<String, String> headers, String body,
      Predicate<List<String>> at) throws IOException {
    try (SseSocket stream = SseSocket.open(baseUrl, "POST", path, headers, body)) {
      assertEquals(200, stream.status(), "the stream to cut");
      String id = stream.header("x-stream-id");
      assertNotNull(id, "x-stream-id on the stream's answer");
      List<String> received = new ArrayList<>();
      for (String event = stream.next(); event != null; event = stream.next()) {
        if (!Wire.isPing(event)) {
          received.add(event);
          if (at.test(received)) {
            return new StreamCut(id, List.copyOf(received));
          }
        }
      }
      throw new AssertionError("the stream ended before the point to cut it: " + received);
    }
  }

  /** A POSTed stream read to its end: a cut after its last event. */
  static StreamCut finished(String baseUrl, String path, Map<String, String> headers, String body)
      throws IOException {
    try (SseSocket stream = SseSocket.open(baseUrl, "POST", path, headers, body)) {
      assertEquals(200, stream.status(), "the stream");
      return new StreamCut(stream.header("x-stream-id"), Wire.withoutPings(stream.rest()));
    }
  }

  /** A POSTed stream read to its end, pings left out: the reference a resumed stream is compared with. */
  static List<String> whole(String baseUrl, String path, Map<String, String> headers, String body)
      throws IOException {
    try (SseSocket stream = SseSocket.open(baseUrl, "POST", path, headers, body)) {
      assertEquals(200, stream.status(), "the uninterrupted stream");
      return Wire.withoutPings(stream.rest());
    }
  }

  /** {@code GET /v1/streams/{id}} with {@code query} ("" or "?after=N") and {@code headers}; its head is read. */
  static SseSocket follow(String baseUrl, String id, String query, Map<String, String> headers) throws IOException {
    return follow(baseUrl, id, query, headers, 0);
  }

  /** As {@link #follow(String, String, String, Map)}, with the socket's receive buffer set (0: the system's). */
  static SseSocket follow(String baseUrl, String id, String query, Map<String, String> headers, int receiveBuffer)
      throws IOException {
    return SseSocket.open(baseUrl, "GET", "/v1/streams/" + id + query, headers, null, receiveBuffer);
  }

  /**
   * Events as one text, the simulator's message id masked: it is drawn at random for each request, the one thing in
   * which two runs of the same request differ.
   */
  static String text(List<String> events) {
    return String.join("", events).replaceAll("\"id\":\"msg_[0-9A-Za-z]+\"", "\"id\":\"msg_(masked)\"");
  }
}
