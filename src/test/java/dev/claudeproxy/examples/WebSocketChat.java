package dev.claudeproxy.examples;

import dev.claudeproxy.ClaudeStream;
import dev.claudeproxy.StreamClient;
import dev.claudeproxy.StreamRequest;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A host's own verticle that streams Claude to its WebSocket clients through {@link StreamClient}, with no HTTP
 * between it and the proxy's stream workers: each text message in is a prompt, each text message out a piece of the
 * answer. The README shows the tagged part, so it is compiled and run ({@code ReadmeSnippetsTest},
 * {@code WebSocketChatTest}).
 */
public final class WebSocketChat extends VerticleBase {
  private HttpServer server;

  @Override
  public Future<?> start() {
    StreamClient client = StreamClient.create(vertx); // belongs to this verticle: undeploying it cancels its streams
    server = vertx.createHttpServer()
        .webSocketHandler(ws -> ws.textMessageHandler(prompt -> ask(client, ws, prompt)));
    return server.listen(0, "127.0.0.1");
  }

  /** The port the WebSocket server listens on. */
  public int port() {
    return server.actualPort();
  }

  // tag::stream-client[]
  /** Streams Claude's answer to {@code prompt} to a WebSocket, one text message per text delta. */
  static void ask(StreamClient client, ServerWebSocket ws, String prompt) {
    JsonObject body = new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 1024)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt)));
    client.messages(StreamRequest.of(body).setUser("alice")).onComplete(started -> {
      if (started.failed()) { // a ClaudeStreamException: no worker, or the upstream's own error answer
        ws.close((short) 1011, "could not start");
        return;
      }
      ClaudeStream stream = started.result();
      ws.closeHandler(v -> stream.cancel()); // the reader left: the upstream call is cancelled
      stream.handler(event -> {
        if ("content_block_delta".equals(event.name())) {
          ws.writeTextMessage(event.json().getJsonObject("delta").getString("text", ""));
          if (ws.writeQueueFull()) { // a slow reader: no more credit to the worker until the socket drains
            stream.pause();
            ws.drainHandler(v -> stream.resume());
          }
        }
      });
      stream.exceptionHandler(failure -> ws.close((short) 1011, "stream failed")); // never a clean end
      stream.endHandler(v -> ws.close());
    });
  }
  // end::stream-client[]
}
