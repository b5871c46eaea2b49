package dev.claudeproxy.observe;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
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

  private static volatile java.util.Collection<String> pending;

  private AccessLog() {}

  /** Waits (up to {@code millis}) until the lines queued for standard output are written; for a clean stop. */
  public static void awaitWritten(long millis) {
    long deadline = System.currentTimeMillis() + millis;
    java.util.Collection<String> queue = pending;
    while (queue != null && !queue.isEmpty() && System.currentTimeMillis() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    System.out.flush();
  }

  /** Writes the entry once; later calls do nothing. */
  public static void write(Entry entry) {
    if (entry.written) {
      return;
    }
    entry.written = true;
    entry.fields.put("duration_ms", entry.fields.getLong("duration_ms", entry.elapsedMillis()));
    LOG.info(entry.fields.encode());
  }

  /**
   * Sends access lines to standard output, one JSON object a line, and not through the root handlers. Lines are
   * written by a thread of their own, so an event loop never waits on the terminal or a pipe; if that thread falls
   * more than 100,000 lines behind, lines are dropped and the drop is counted in the next line written.
   */
  public static void toStandardOutput() {
    java.util.concurrent.BlockingQueue<String> queue = new java.util.concurrent.ArrayBlockingQueue<>(100_000);
    pending = queue;
    java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();
    Thread writer = new Thread(() -> {
      java.io.PrintStream out = System.out;
      try {
        for (;;) {
          String line = queue.take();
          long lost = dropped.getAndSet(0);
          if (lost > 0) {
            out.println("{\"access_log_dropped\":" + lost + "}");
          }
          out.println(line);
          if (queue.isEmpty()) {
            out.flush();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "access-log");
    writer.setDaemon(true);
    writer.start();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        if (!queue.offer(record.getMessage())) {
          dropped.incrementAndGet();
        }
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    handler.setLevel(Level.INFO);
    LOG.setUseParentHandlers(false);
    LOG.addHandler(handler);
  }
}
