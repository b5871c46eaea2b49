package dev.claudeproxy.internal.client;

import dev.claudeproxy.ClaudeStream;
import dev.claudeproxy.ClaudeStreamEvent;
import dev.claudeproxy.ClaudeStreamException;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamEvent;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.bus.StreamErrors;
import dev.claudeproxy.internal.upstream.SseParser;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;

/**
 * One stream of a {@link StreamClientImpl}, started by it or followed: checks the order of its bus events, splits their
 * data into SSE events, queues them for a reader that honours demand, grants credit for what the reader has taken,
 * counts its position, and cancels, detaches or leaves. Everything runs on the client's context.
 *
 * <p>A stream the client started is named on the bus by its id; a followed one by its reader id ({@code cp-reader}),
 * which its events carry as {@code cp-stream} and its credits and leaving as {@code cp-reader}.
 */
public final class ClaudeStreamImpl implements ClaudeStream {
  /** The most of an upstream error answer's body kept, to read its error from. */
  private static final int MAX_ERROR_BODY = 64 * 1024;

  private final String id;
  /** The reader's id on the bus for a followed stream; null for one this client started. */
  private final String reader;
  /** A stream this client started with a replay buffer: letting it go detaches it. */
  private final boolean resumable;
  private final StreamClientImpl client;
  private final Promise<ClaudeStream> started;
  private final long window;
  private final SseParser parser = new SseParser();
  private final ArrayDeque<Queued> queue = new ArrayDeque<>();

  private String worker;
  /** The control operation to send once the worker is known (a start not answered yet); null for none. */
  private String whenKnown;
  private long expectedSeq;
  /** What the worker had sent for this stream (its acceptance, then each event) at the last worker check. */
  private long heardAtCheck;
  private boolean headSeen;
  private int status;
  private JsonObject headers = new JsonObject();
  /** The body of an upstream error answer (a head other than 200), gathered until its end. */
  private Buffer errorBody;
  private long eventSeq;
  /** The position the stream was followed after (0 for one this client started). */
  private long after;
  /** The counted events (pings not) handed to the handler: written on the context, read from anywhere. */
  private volatile long delivered;
  /** Bytes the reader has taken and the worker has not been granted yet. */
  private long ungranted;
  /** Bytes received and not yet taken by the reader. */
  private long queuedBytes;
  private long demand = Long.MAX_VALUE;
  private Handler<ClaudeStreamEvent> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  /** Nothing more comes from the worker: the end or a failure is queued behind the events. */
  private boolean finished;
  private JsonObject summary;
  private ClaudeStreamException failure;
  /** The end or failure has been handed to its handler, or the stream was cancelled: nothing more is delivered. */
  private boolean closed;
  private boolean delivering;

  private record Queued(ClaudeStreamEvent event, int credit) {}

  private ClaudeStreamImpl(String id, String reader, boolean resumable, StreamClientImpl client,
      Promise<ClaudeStream> started, long window) {
    this.id = id;
    this.reader = reader;
    this.resumable = resumable;
    this.client = client;
    this.started = started;
    this.window = window;
  }

  /** A stream this client starts; its worker is known once it accepts the start ({@link #accepted}). */
  static ClaudeStreamImpl started(String id, boolean resumable, StreamClientImpl client,
      Promise<ClaudeStream> started, long window) {
    return new ClaudeStreamImpl(id, null, resumable, client, started, window);
  }

  /** A reader {@code reader} of stream {@code id}, held by {@code worker}, which is asked to add it. */
  static ClaudeStreamImpl follower(String id, String reader, String worker, StreamClientImpl client,
      Promise<ClaudeStream> started, long window) {
    ClaudeStreamImpl stream = new ClaudeStreamImpl(id, reader, false, client, started, window);
    stream.worker = worker;
    return stream;
  }

  /** The id its events arrive under: the stream's, or for a followed stream the reader's. */
  String busId() {
    return reader == null ? id : reader;
  }

  String worker() {
    return worker;
  }

  /** Whether the worker has sent anything for this stream (its acceptance, an event) since the last call. */
  boolean heardSinceLastCheck() {
    long heard = expectedSeq + (worker == null ? 0 : 1);
    boolean news = heard != heardAtCheck;
    heardAtCheck = heard;
    return news;
  }

  /** The worker took the stream; credits and cancels go to {@code address}. */
  void accepted(String address) {
    worker = address;
    if (address == null) {
      return;
    }
    if (whenKnown != null) {
      client.control(worker, id, null, whenKnown, 0);
    } else if (!finished && ungranted >= window / 2) {
      grant();
    }
  }

  void onEvent(StreamEvent event) {
    if (finished) {
      return;
    }
    if (event.seq() != expectedSeq) {
      fail(new ClaudeStreamException(500, "api_error", "stream events were lost or reordered on the bus (expected "
          + expectedSeq + ", got " + event.seq() + ")"), true);
      return;
    }
    expectedSeq++;
    String op = event.op() == null ? "" : event.op();
    switch (op) {
      case StreamBus.EV_HEAD -> head(event.json());
      case StreamBus.EV_DATA -> data(event.body());
      case StreamBus.EV_END -> end(event.json());
      case StreamBus.EV_ERROR -> {
        ApiError error = StreamErrors.decode(event.json());
        fail(new ClaudeStreamException(error.status(), error.type(), error.message()), false);
      }
      default -> fail(new ClaudeStreamException(500, "api_error", "unknown stream event kind: " + op), true);
    }
  }

  private void head(JsonObject head) {
    headSeen = true;
    if (reader != null) {
      after = head.getLong("after", 0L); // a follower's head says where it starts
    }
    status = head.getInteger("status", 502);
    JsonObject passed = head.getJsonObject("headers");
    if (passed != null) {
      headers = passed;
    }
    if (status == 200) {
      started.tryComplete(this);
    } else {
      errorBody = Buffer.buffer();
    }
  }

  private void data(Buffer bytes) {
    if (errorBody != null) {
      if (errorBody.length() + bytes.length() <= MAX_ERROR_BODY) {
        errorBody.appendBuffer(bytes);
      }
      credit(bytes.length());
      return;
    }
    if (!headSeen) {
      fail(new ClaudeStreamException(500, "api_error", "stream data arrived before its head"), true);
      return;
    }
    int[] parsed = {0};
    parser.feed(bytes, sse -> {
      int length = sse.raw().length();
      parsed[0] += length;
      queuedBytes += length;
      queue.add(new Queued(new Event(sse, eventSeq++), length));
    });
    // The worker sends whole events; anything else still counts as taken, so credit never leaks.
    if (bytes.length() > parsed[0]) {
      credit(bytes.length() - parsed[0]);
    }
    deliver();
  }

  private void end(JsonObject end) {
    if (errorBody != null) {
      fail(upstreamError(), false);
      return;
    }
    summary = end;
    if ("upstream_error".equals(end.getString("outcome"))) {
      JsonObject error = end.getJsonObject("error", new JsonObject());
      String type = error.getString("type", "api_error");
      fail(new ClaudeStreamException(statusOf(type), type, error.getString("message", "the upstream failed")),
          false);
      return;
    }
    finished = true;
    client.forget(busId());
    deliver();
  }

  /** The status the API gives an error type sent in a stream (where there is no status). */
  private static int statusOf(String type) {
    return switch (type) {
      case "invalid_request_error" -> 400;
      case "authentication_error" -> 401;
      case "permission_error" -> 403;
      case "not_found_error" -> 404;
      case "request_too_large" -> 413;
      case "rate_limit_error" -> 429;
      case "timeout_error" -> 504;
      case "overloaded_error" -> 529;
      default -> 500;
    };
  }

  private ClaudeStreamException upstreamError() {
    try {
      ApiError error = ApiError.fromJson(status, new JsonObject(errorBody));
      if (error != null) {
        return new ClaudeStreamException(error.status(), error.type(), error.message());
      }
    } catch (DecodeException | ClassCastException e) {
      // not Anthropic-shaped: described below
    }
    return new ClaudeStreamException(status, "api_error", "the upstream answered " + status);
  }

  /**
   * Ends the stream with {@code error}: the start fails with it if the stream was not handed out yet, else the
   * reader gets it after the events already queued.
   *
   * @param letGo whether the worker is told this reader is gone ({@link #letGo()}), as when the worker still sends
   */
  void fail(ClaudeStreamException error, boolean letGo) {
    if (finished) {
      return;
    }
    if (letGo) {
      letGo();
    }
    finished = true;
    failure = error;
    client.forget(busId());
    if (!started.tryFail(error)) {
      deliver();
    }
  }

  /**
   * Tells the worker this reader is gone: a resumable stream this client started is detached, a plain one cancelled,
   * and a followed stream loses this reader only ({@code cancel} with {@code cp-reader}).
   */
  private void letGo() {
    send(resumable ? StreamBus.CTL_DETACH : StreamBus.CTL_CANCEL);
  }

  /** Sends {@code op} about this stream (as its reader, if followed) to its worker, now or once it is known. */
  private void send(String op) {
    if (worker == null) {
      whenKnown = op;
    } else {
      client.control(worker, id, reader, op, 0);
    }
  }

  /** Hands the reader what its demand allows; then the end or the failure, once nothing is left before it. */
  private void deliver() {
    if (delivering) {
      return; // a handler called fetch or resume: the loop below goes on with the new demand
    }
    delivering = true;
    try {
      while (!closed) {
        if (!queue.isEmpty()) {
          if (handler == null || demand == 0) {
            return;
          }
          Queued next = queue.poll();
          if (demand != Long.MAX_VALUE) {
            demand--;
          }
          queuedBytes -= next.credit();
          credit(next.credit());
          if (!"ping".equals(next.event().name())) {
            delivered++;
          }
          handler.handle(next.event());
          continue;
        }
        if (finished) {
          if (failure != null && exceptionHandler != null) {
            closed = true;
            exceptionHandler.handle(failure);
          } else if (failure == null && endHandler != null) {
            closed = true;
            endHandler.handle(null);
          }
        }
        return;
      }
    } finally {
      delivering = false;
    }
  }

  /** The reader took {@code bytes}: once half the window is taken, it is granted back to the worker. */
  private void credit(long bytes) {
    ungranted += bytes;
    if (ungranted >= window / 2) {
      grant();
    }
  }

  private void grant() {
    if (worker != null && !finished && ungranted > 0) {
      client.control(worker, id, reader, StreamBus.CTL_CREDIT, ungranted);
      ungranted = 0;
    }
  }

  /** Bytes of events received and not yet handed to the reader. */
  public long bufferedBytes() {
    return queuedBytes;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public long position() {
    return after + delivered;
  }

  @Override
  public JsonObject headers() {
    return headers;
  }

  @Override
  public JsonObject summary() {
    return finished && failure == null ? summary : null;
  }

  @Override
  public void cancel() {
    // A follower stops the stream for everyone (stop); the stream's own client cancels it.
    release(reader != null ? () -> client.stopOn(worker, id) : () -> send(StreamBus.CTL_CANCEL));
  }

  @Override
  public void detach() {
    release(this::letGo);
  }

  /** Delivers nothing more; if the worker still sends, {@code tell} says so. */
  private void release(Runnable tell) {
    client.onContext(() -> {
      if (closed) {
        return;
      }
      closed = true;
      queue.clear();
      queuedBytes = 0;
      if (!finished) {
        finished = true;
        failure = new ClaudeStreamException(499, "api_error", "the stream was let go");
        client.forget(busId());
        tell.run();
      }
    });
  }

  @Override
  public ClaudeStream exceptionHandler(Handler<Throwable> handler) {
    client.onContext(() -> {
      exceptionHandler = handler;
      deliver();
    });
    return this;
  }

  @Override
  public ClaudeStream handler(Handler<ClaudeStreamEvent> handler) {
    client.onContext(() -> {
      this.handler = handler;
      deliver();
    });
    return this;
  }

  @Override
  public ClaudeStream pause() {
    client.onContext(() -> demand = 0);
    return this;
  }

  @Override
  public ClaudeStream resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public ClaudeStream fetch(long amount) {
    if (amount < 0) {
      throw new IllegalArgumentException("negative fetch: " + amount);
    }
    client.onContext(() -> {
      demand = demand > Long.MAX_VALUE - amount ? Long.MAX_VALUE : demand + amount;
      deliver();
    });
    return this;
  }

  @Override
  public ClaudeStream endHandler(Handler<Void> endHandler) {
    client.onContext(() -> {
      this.endHandler = endHandler;
      deliver();
    });
    return this;
  }

  /** One SSE event; its data decoded on first use. */
  private static final class Event implements ClaudeStreamEvent {
    private final dev.claudeproxy.internal.upstream.SseEvent sse;
    private final long seq;
    private Buffer data;
    private JsonObject json;

    Event(dev.claudeproxy.internal.upstream.SseEvent sse, long seq) {
      this.sse = sse;
      this.seq = seq;
    }

    @Override
    public String name() {
      return sse.name();
    }

    @Override
    public Buffer data() {
      if (data == null) {
        String text = sse.data();
        data = text == null ? Buffer.buffer() : Buffer.buffer(text);
      }
      return data;
    }

    @Override
    public JsonObject json() {
      if (json == null) {
        json = data().toJsonObject();
      }
      return json;
    }

    @Override
    public Buffer raw() {
      return sse.raw();
    }

    @Override
    public long seq() {
      return seq;
    }

    @Override
    public String toString() {
      return "ClaudeStreamEvent[" + seq + " " + name() + "]";
    }
  }
}
