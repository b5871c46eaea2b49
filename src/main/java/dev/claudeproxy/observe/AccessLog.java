package dev.claudeproxy.observe;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One JSON line per request on the logger {@value #LOGGER}: request id, user, model, status, time to first token,
 * duration, tokens and outcome. Only fields named here are written: no key, token or prompt text can reach a line.
 */
public final class AccessLog {
  public static final String LOGGER = "claude-proxy.access";
  private static final Logger LOG = Logger.getLogger(LOGGER);

  /** One request's line, filled in as the request goes. */
  public static final class Entry {
    private final long startNanos = System.nanoTime();
    private final JsonObject fields = new JsonObject();
    private boolean written;

    public Entry(String requestId, String method, String path) {
      fields.put("time", Instant.now().toString()).put("request_id", requestId).put("method", method)
          .put("path", path);
    }

    public Entry user(String userId, String tier, String via) {
      fields.put("user", userId).put("via", via);
      if (tier != null) {
        fields.put("tier", tier);
      }
      return this;
    }

    public Entry put(String field, Object value) {
      if (value != null) {
        fields.put(field, value);
      }
      return this;
    }

    public String requestId() {
      return fields.getString("request_id");
    }

    public long elapsedMillis() {
      return (System.nanoTime() - startNanos) / 1_000_000;
    }

    public long startNanos() {
      return startNanos;
    }

    /** Adds the token counters of a usage object. */
    public Entry usage(JsonObject usage) {
      for (String counter : new String[] {"input_tokens", "output_tokens", "cache_creation_input_tokens",
          "cache_read_input_tokens"}) {
        if (usage.getValue(counter) instanceof Number n) {
          fields.put(counter, n.longValue());
        }
      }
      return this;
    }

    public boolean written() {
      return written;
    }
  }

  private AccessLog() {}

  /** Writes the entry once; later calls do nothing. */
  public static void write(Entry entry) {
    if (entry.written) {
      return;
    }
    entry.written = true;
    entry.fields.put("duration_ms", entry.fields.getLong("duration_ms", entry.elapsedMillis()));
    LOG.info(entry.fields.encode());
  }

  /** Sends access lines to standard output, one JSON object a line, and not through the root handlers. */
  public static void toStandardOutput() {
    Handler handler = new ConsoleHandler() {
      {
        setOutputStream(System.out);
      }
    };
    handler.setFormatter(new Formatter() {
      @Override
      public String format(LogRecord record) {
        return record.getMessage() + System.lineSeparator();
      }
    });
    handler.setLevel(Level.INFO);
    LOG.setUseParentHandlers(false);
    LOG.addHandler(handler);
  }
}
