package dev.claudeproxy.internal.observe;

import dev.claudeproxy.internal.api.Outcome;
import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Logger;

/**
 * One proxy's access log: one JSON line per request, with request id, user, model, status, time to first token,
 * duration, tokens and outcome. Only fields named by the proxy are written: no key, token or prompt text can reach a
 * line.
 *
 * <p>Each request has an {@link Entry}, opened when the request arrives ({@link #begin}) and filled in as it goes. A
 * request answered by the proxy itself is written when its response ends ({@link Entry#responded}). A request handed
 * to a stream worker is written once both halves of its story are in, whatever their order: the end of the client's
 * stream ({@link Entry#streamEnded}) and the worker's usage report ({@link Entry#usage}); or, when the usage will not
 * come (no worker took the stream, the worker was lost), without it ({@link Entry#writeWithoutUsage}).
 *
 * <p>Lines go to the logger {@value #LOGGER} by default, or to standard output ({@link #toStandardOutput}). Each
 * proxy has its own log, so two proxies in one JVM share nothing here.
 */
public final class AccessLog {
  /** The java.util.logging logger that lines go to unless they go to standard output. */
  public static final String LOGGER = "claude-proxy.access";
  private static final Logger LOG = Logger.getLogger(LOGGER);

  /** Null when lines go to the logger. */
  private final LineWriter stdout;

  private AccessLog(LineWriter stdout) {
    this.stdout = stdout;
  }

  /** A log whose lines go to the logger {@value #LOGGER}. */
  public static AccessLog toLogger() {
    return new AccessLog(null);
  }

  /**
   * A log whose lines go to standard output, one JSON object a line. Lines are written in batches by a thread of their
   * own (see {@link LineWriter}), so an event loop never waits on the terminal or a pipe, nor makes a system call a
   * line; if that thread falls more than 100,000 lines behind, lines are dropped and the drop is counted in the next
   * line written. Lines go straight to the writer, not through java.util.logging: the JVM resets that (removing every
   * handler) as soon as it begins to stop, and the lines of the streams that end during a drain would be lost.
   */
  public static AccessLog toStandardOutput() {
    return new AccessLog(new LineWriter("access-log", new FileOutputStream(FileDescriptor.out), 100_000, 20,
        lost -> "{\"access_log_dropped\":" + lost + "}", e -> { }));
  }

  /** Opens the line of a request that has just arrived. */
  public Entry begin(String requestId, String method, String path) {
    return new Entry(this, requestId, method, path);
  }

  /**
   * A worker node's line for one upstream call, from the worker's record of how it ended: {@code request_id} is the
   * stream id, which is the request id of the HTTP node's line for the same request.
   */
  public void workerCall(JsonObject record) {
    JsonObject line = new JsonObject().put("time", java.time.Instant.now().toString()).put("side", "worker")
        .put("request_id", record.getString("stream"));
    record.forEach(e -> {
      if (!"stream".equals(e.getKey())) {
        line.put(e.getKey(), e.getValue());
      }
    });
    write(line.encode());
  }

  /** Waits (up to {@code millis}) until the lines queued for standard output are written; for a clean stop. */
  public void awaitWritten(long millis) {
    if (stdout != null) {
      stdout.awaitWritten(millis);
    }
  }

  private void write(String line) {
    if (stdout != null) {
      stdout.offer(line);
    } else {
      LOG.info(line);
    }
  }

  /**
   * One request's line, filled in as the request goes, on the event loop that serves the request. Fields keep the
   * order in which they were first set; setting one again replaces its value in place.
   */
  public static final class Entry {
    private final AccessLog log;
    private final long startNanos = System.nanoTime();
    /**
     * The fields, {@code time} first, then in the order first set: names and values side by side in
     * {@code [0, size)}. Two arrays rather than a map, which holds an entry object per field: an open stream keeps its
     * entry for as long as it lasts.
     */
    private String[] names = new String[24];
    private Object[] values = new Object[24];
    private int size;
    private final Instant time = Instant.now();
    private final String requestId;
    /** When the client's stream ended ({@link System#currentTimeMillis()}); 0 while it is open. */
    private long endedAt;
    private boolean usageIn;
    private boolean written;

    private Entry(AccessLog log, String requestId, String method, String path) {
      this.log = log;
      this.requestId = requestId;
      set("time", null);
      put("request_id", requestId).put("method", method).put("path", path);
    }

    /** The caller, once known. */
    public Entry user(String userId, String tier, String via) {
      put("user", userId).put("via", via);
      if (tier != null) {
        put("tier", tier);
      }
      return this;
    }

    /** Sets a field (a string, a whole number or a boolean); a null value leaves the line as it is. */
    public Entry put(String field, Object value) {
      if (value != null) {
        set(field, value);
      }
      return this;
    }

    private void set(String field, Object value) {
      int at = indexOf(field);
      if (at >= 0) {
        values[at] = value;
        return;
      }
      if (size == names.length) {
        names = Arrays.copyOf(names, size * 2);
        values = Arrays.copyOf(values, size * 2);
      }
      names[size] = field;
      values[size++] = value;
    }

    private int indexOf(String field) {
      for (int i = 0; i < size; i++) {
        if (names[i].equals(field)) {
          return i;
        }
      }
      return -1;
    }

    public String requestId() {
      return requestId;
    }

    public long startNanos() {
      return startNanos;
    }

    public long elapsedMillis() {
      return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** A request the proxy answered itself, without a stream: its line is written now. */
    public void responded(int status) {
      put("status", status).put("outcome", (status < 400 ? Outcome.COMPLETED : Outcome.REJECTED).wire());
      write();
    }

    /**
     * The client's side of a stream is over: how it ended, and the status the client got ({@code null} when no head
     * was sent). The line is written now if the worker's usage report is in, else when it comes.
     */
    public void streamEnded(Outcome outcome, Integer status) {
      put("outcome", outcome.wire()).put("duration_ms", elapsedMillis()).put("status", status);
      endedAt = System.currentTimeMillis();
      if (usageIn) {
        write();
      }
    }

    /**
     * The worker's report of how the call ended ({@code {"usage":{...},"output_tokens_estimated":true,...}}): its
     * token counters are added, and the line is written if the client's stream is over.
     */
    public void usage(JsonObject report) {
      JsonObject usage = report.getJsonObject("usage", new JsonObject());
      for (String counter : ProxyMetrics.TOKEN_KINDS) {
        if (usage.getValue(counter) instanceof Number n) {
          put(counter, n.longValue());
        }
      }
      if (report.getBoolean("output_tokens_estimated", false)) {
        put("output_tokens_estimated", true);
      }
      usageIn = true;
      if (endedAt != 0) {
        write();
      }
    }

    /** Whether the client's stream ended more than {@code millis} before {@code now} and the line is not written. */
    public boolean waitedLongerThan(long millis, long now) {
      return !written && endedAt != 0 && now - endedAt > millis;
    }

    /** Writes the line without waiting any longer for the usage (the worker is gone, or never took the stream). */
    public void writeWithoutUsage() {
      write();
    }

    public boolean written() {
      return written;
    }

    /** Writes the line once; later calls do nothing. */
    private void write() {
      if (written) {
        return;
      }
      written = true;
      if (indexOf("duration_ms") < 0) {
        set("duration_ms", elapsedMillis());
      }
      log.write(encode());
    }

    /** The line: {@code time} first, then the fields in the order they were first set. */
    public String encode() {
      set("time", time.toString());
      Map<String, Object> fields = new LinkedHashMap<>(size * 2);
      for (int i = 0; i < size; i++) {
        fields.put(names[i], values[i]);
      }
      return new JsonObject(fields).encode();
    }
  }
}
