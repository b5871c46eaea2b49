package dev.claudeproxy.upstream;

import dev.claudeproxy.api.ApiError;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamEventSender;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * One upstream call on a worker: sends the request, and streams the response back over the bus.
 *
 * <p>For an SSE answer each upstream read becomes at most one bus message holding the complete events it finished:
 * their original bytes on {@link Endpoint#MESSAGES}, or their chat translation on {@link Endpoint#CHAT}. Only the
 * events that carry usage, stop reason or errors are decoded. A stream that ends without {@code message_stop} or an
 * {@code error} event is reported as an error, never as a clean end.
 *
 * <p>Flow control: the HTTP side grants bytes; once they are spent the upstream socket is paused until more come.
 */
final class UpstreamCall {
  static final String DEFAULT_VERSION = "2023-06-01";
  private static final String USER_AGENT = "claude-stream-proxy/0.1";

  private final HttpClient client;
  private final UpstreamTarget target;
  private final StartRequest start;
  private final StreamEventSender sender;
  private final Runnable onDone;
  private final StreamFacts facts = new StreamFacts();
  private final SseParser parser = new SseParser();
  private final ChatTranslator chat;

  private HttpClientRequest request;
  private HttpClientResponse response;
  private boolean sse;
  private long credits;
  private boolean paused;
  private boolean cancelled;
  private boolean done;

  UpstreamCall(HttpClient client, UpstreamTarget target, StartRequest start, StreamEventSender sender,
      Runnable onDone) {
    this.client = client;
    this.target = target;
    this.start = start;
    this.sender = sender;
    this.onDone = onDone;
    this.credits = start.credits();
    this.chat = start.endpoint() == Endpoint.CHAT ? new ChatTranslator(facts) : null;
  }

  void begin() {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.valueOf(start.method()))
        .setHost(target.host())
        .setPort(target.port())
        .setSsl(target.ssl())
        .setURI(target.pathPrefix() + start.path())
        .putHeader(HttpHeaders.USER_AGENT, USER_AGENT)
        .putHeader("anthropic-version", start.forward().getOrDefault("anthropic-version", DEFAULT_VERSION))
        .putHeader(HttpHeaders.ACCEPT, start.streaming() ? "text/event-stream" : "application/json");
    start.forward().forEach((name, value) -> {
      if (!"anthropic-version".equals(name)) {
        options.putHeader(name, value);
      }
    });
    if (target.apiKey() != null) {
      options.putHeader("x-api-key", target.apiKey());
    }
    if (start.body().length() > 0) {
      options.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
    }
    client.request(options)
        .compose(req -> {
          request = req;
          if (cancelled) {
            req.reset();
            return io.vertx.core.Future.failedFuture("cancelled");
          }
          return start.body().length() > 0 ? req.send(start.body()) : req.send();
        })
        .onSuccess(this::onResponse)
        .onFailure(this::onFailure);
  }

  private void onResponse(HttpClientResponse resp) {
    if (cancelled) {
      return;
    }
    response = resp;
    sse = start.streaming() && resp.statusCode() == 200;
    sender.head(resp.statusCode(), passedHeaders(resp.headers()));
    resp.exceptionHandler(this::onFailure);
    resp.handler(sse ? this::onSseChunk : this::onRawChunk);
    resp.endHandler(v -> onEnd());
  }

  private void onSseChunk(Buffer chunk) {
    Buffer batch = Buffer.buffer(chunk.length() + 64);
    int[] events = {0};
    parser.feed(chunk, event -> {
      JsonObject decoded = facts.observe(event);
      if (chat == null) {
        batch.appendBuffer(event.raw());
        events[0]++;
      } else {
        events[0] += chat.translate(event, decoded, batch);
      }
    });
    if (batch.length() > 0) {
      forward(batch, events[0]);
    }
  }

  private void onRawChunk(Buffer chunk) {
    forward(chunk, 0);
  }

  private void forward(Buffer bytes, int events) {
    sender.data(bytes, events);
    credits -= bytes.length();
    if (credits <= 0 && !paused && response != null) {
      paused = true;
      response.pause();
    }
  }

  private void onEnd() {
    if (cancelled || done) {
      return;
    }
    if (!sse) {
      finish(() -> sender.end(facts.summary("completed")));
      return;
    }
    Buffer rest = parser.remainder();
    if (parser.hasPartialEvent()) {
      finish(() -> sender.error(ApiError.api("upstream stream was cut off in the middle of an event")));
    } else if (facts.upstreamError() != null) {
      finish(() -> sender.end(facts.summary("upstream_error")));
    } else if (!facts.sawStop()) {
      finish(() -> sender.error(ApiError.api("upstream stream ended before message_stop")));
    } else {
      if (rest.length() > 0 && chat == null) {
        sender.data(rest, 0);
      }
      finish(() -> sender.end(facts.summary("completed")));
    }
  }

  private void onFailure(Throwable failure) {
    if (cancelled || done) {
      return;
    }
    String reason = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
    ApiError error = response == null
        ? new ApiError(502, "api_error", "upstream request failed: " + reason)
        : ApiError.api("upstream connection failed mid-stream: " + reason);
    finish(() -> sender.error(error));
    if (request != null) {
      request.reset();
    }
  }

  /** Adds credit; resumes the upstream socket if it was paused for lack of it. */
  void grant(long bytes) {
    credits += bytes;
    if (paused && credits > 0 && response != null && !done) {
      paused = false;
      response.resume();
    }
  }

  /** The client went away: stop the upstream call now. */
  void cancel() {
    if (done) {
      return;
    }
    cancelled = true;
    done = true;
    if (request != null) {
      request.reset();
    }
    onDone.run();
  }

  private void finish(Runnable last) {
    done = true;
    last.run();
    onDone.run();
  }

  StreamFacts facts() {
    return facts;
  }

  /** The response headers a client may need: ids, rate limits and the retry hints the SDKs honour. */
  static MultiMap passedHeaders(MultiMap upstream) {
    MultiMap out = MultiMap.caseInsensitiveMultiMap();
    for (var e : upstream) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (name.equals("request-id") || name.startsWith("anthropic-ratelimit-") || name.equals("retry-after")
          || name.equals("retry-after-ms") || name.equals("x-should-retry") || name.equals("content-type")) {
        out.add(name, e.getValue());
      }
    }
    return out;
  }
}
