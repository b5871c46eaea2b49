package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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

  /** What the client had, then {@code rest}: the stream as a resuming client ends up with it. */
  List<String> then(List<String> rest) {
    List<String> all = new ArrayList<>(received);
    all.addAll(rest);
    return all;
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

  /** Where a connection drops, as a predicate on the events received so far (pings left out). */
  enum Where {
    BEFORE_FIRST_TOKEN,
    INSIDE_A_TEXT_BLOCK,
    INSIDE_A_TOOL_INPUT,
    AFTER_THE_LAST_DELTA;

    Predicate<List<String>> on(Endpoint endpoint) {
      return switch (this) {
        case BEFORE_FIRST_TOKEN -> events -> events.size() == 1;
        case INSIDE_A_TEXT_BLOCK -> events -> events.stream().filter(endpoint::isText).count() == 3;
        case INSIDE_A_TOOL_INPUT -> events -> last(events).contains("\"type\":\"input_json_delta\"")
            && !last(events).contains("\"partial_json\":\"\"");
        case AFTER_THE_LAST_DELTA -> endpoint == Endpoint.MESSAGES
            ? events -> last(events).startsWith("event: message_delta\n")
            // chat: the usage event of the upstream's message_delta, after the text
            : events -> last(events).contains("\nevent: usage\n") && events.stream().anyMatch(endpoint::isText);
      };
    }

    /** What the resumed part must begin with when the cut was where this says. */
    void checkRest(Endpoint endpoint, List<String> received, List<String> rest) {
      assertFalse(rest.isEmpty(), "nothing after the cut");
      String first = rest.get(0);
      switch (this) {
        case BEFORE_FIRST_TOKEN -> {
          assertTrue(received.stream().noneMatch(endpoint::isContent), "a token before the cut: " + received);
          assertTrue(rest.stream().anyMatch(endpoint::isText), "no text after the cut");
        }
        case INSIDE_A_TEXT_BLOCK -> assertTrue(endpoint.isText(first), "the text block goes on: " + first);
        case INSIDE_A_TOOL_INPUT -> assertTrue(first.contains("\"type\":\"input_json_delta\""),
            "the tool input goes on: " + first);
        case AFTER_THE_LAST_DELTA -> {
          assertEquals(1, rest.size(), "only the end is left: " + rest);
          assertTrue(first.contains(endpoint == Endpoint.MESSAGES ? "event: message_stop\n" : "\nevent: done\n"),
              first);
        }
      }
    }
  }

  /** The two streaming endpoints, and how their events show text and content. */
  enum Endpoint {
    MESSAGES("/v1/messages"),
    CHAT("/v1/chat");

    final String path;

    Endpoint(String path) {
      this.path = path;
    }

    boolean isText(String event) {
      return this == MESSAGES ? event.contains("\"type\":\"text_delta\"") : event.contains("\nevent: text\n");
    }

    boolean isContent(String event) {
      return this == MESSAGES ? event.startsWith("event: content_block_delta\n")
          : event.contains("\nevent: text\n") || event.contains("\nevent: tool_use\n");
    }
  }

  /** The caller's key, JSON and the API version, plus {@code extra}. */
  static Map<String, String> headers(String key, Map<String, String> extra) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("content-type", "application/json");
    h.put("x-api-key", key);
    h.put("anthropic-version", "2023-06-01");
    h.putAll(extra);
    return h;
  }

  /** As {@link #headers}, opting in to resume. */
  static Map<String, String> resumable(String key, Map<String, String> extra) {
    Map<String, String> h = headers(key, extra);
    h.put("x-stream-resumable", "true");
    return h;
  }

  /** {@code body} (a Messages request) with one tool the simulator must call, its input streamed in several pieces. */
  static String withTool(String body) {
    JsonObject schema = new JsonObject().put("type", "object")
        .put("properties", new JsonObject()
            .put("city", new JsonObject().put("type", "string"))
            .put("country", new JsonObject().put("type", "string"))
            .put("days", new JsonObject().put("type", "integer")))
        .put("required", new JsonArray().add("city").add("country").add("days"));
    return new JsonObject(body)
        .put("tools", new JsonArray().add(new JsonObject().put("name", "get_forecast")
            .put("description", "The weather forecast for a city").put("input_schema", schema)))
        .put("tool_choice", new JsonObject().put("type", "any")).encode();
  }

  static String last(List<String> events) {
    return events.isEmpty() ? "" : events.get(events.size() - 1);
  }

  /**
   * Events as one text, the simulator's message id masked: it is drawn at random for each request, the one thing in
   * which two runs of the same request differ.
   */
  static String text(List<String> events) {
    return String.join("", events).replaceAll("\"id\":\"msg_[0-9A-Za-z]+\"", "\"id\":\"msg_(masked)\"");
  }
}
