package dev.claudeproxy.internal.users;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.observe.LineWriter;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Token usage by UTC day, user and model, kept in memory and in an append-only journal so that it survives a restart.
 *
 * <p>Every finished call adds one line to the journal (on a thread of its own, never an event loop). At start the
 * journal is read back and rewritten compacted, one line per day, user and model. In a cluster, {@link ClusterUsage}
 * keeps the shared totals and uses a ledger as each node's journal.
 */
public final class UsageLedger implements AutoCloseable, UsageStore {
  private static final Logger LOG = Logger.getLogger(UsageLedger.class.getName());
  /**
   * The counters of a row: the usage counters of the API, then how many of the output tokens were estimated (streams
   * that ended without the upstream's count), then the calls.
   */
  static final String[] COUNTERS = {"input_tokens", "output_tokens", "cache_creation_input_tokens",
      "cache_read_input_tokens", "estimated_output_tokens", "requests"};
  private static final int TOKEN_COUNTERS = 4;
  private static final int ESTIMATED = 4;

  private final LongSupplier clock;
  private final Path journal;
  /** day → user → model → counters. */
  private final TreeMap<String, TreeMap<String, TreeMap<String, long[]>>> days = new TreeMap<>();
  /** Appends journal lines in batches, off the caller's thread; null for a ledger in memory only. */
  private LineWriter writer;
  /** The name of the current UTC day, worked out once a day rather than once a call; shared by every event loop. */
  private volatile Today today = new Today(Long.MIN_VALUE, "");

  private record Today(long epochDay, String name) {}

  private UsageLedger(LongSupplier clock, Path journal) {
    this.clock = clock;
    this.journal = journal;
  }

  /** A ledger kept in memory only. */
  public static UsageLedger inMemory(LongSupplier clock) {
    return new UsageLedger(clock, null);
  }

  /** Opens (or creates) the journal, reads it back and compacts it. Blocking: call at start. */
  public static UsageLedger open(Path journal, LongSupplier clock) {
    UsageLedger ledger = new UsageLedger(clock, journal);
    try {
      if (journal.toAbsolutePath().getParent() != null) {
        Files.createDirectories(journal.toAbsolutePath().getParent());
      }
      if (Files.exists(journal)) {
        List<String> lines = Files.readAllLines(journal, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
          if (!lines.get(i).isBlank()) {
            ledger.load(lines.get(i), i + 1);
          }
        }
      }
      Path tmp = Files.createTempFile(journal.toAbsolutePath().getParent(), ".usage", ".tmp");
      try (BufferedWriter compact = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        for (JsonObject line : ledger.lines()) {
          compact.write(line.encode());
          compact.newLine();
        }
      }
      Files.move(tmp, journal, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      ledger.writer = new LineWriter("usage-journal", Files.newOutputStream(journal, StandardOpenOption.APPEND), 0, 20,
          null, e -> LOG.log(Level.SEVERE, "cannot append to the usage file " + journal, e));
    } catch (IOException e) {
      throw new ConfigException("cannot use the usage file " + journal + ": " + e.getMessage(), e);
    }
    return ledger;
  }

  private void load(String line, int number) {
    JsonObject entry;
    try {
      entry = new JsonObject(line);
    } catch (DecodeException e) {
      // A line cut short by a crash is the only way to get one; the rest of the journal still counts.
      LOG.warning("usage file " + journal + ", line " + number + " is not JSON; skipped");
      return;
    }
    long[] counters = slot(entry.getString("day", "unknown"), entry.getString("user", "unknown"),
        entry.getString("model", "unknown"));
    for (int i = 0; i < COUNTERS.length; i++) {
      counters[i] += entry.getLong(COUNTERS[i], 0L);
    }
  }

  /** Whether a usage object holds any token count above zero: only such calls make rows. */
  public static boolean carriesTokens(JsonObject usage) {
    for (int i = 0; i < TOKEN_COUNTERS; i++) {
      if (usage.getValue(COUNTERS[i]) instanceof Number n && n.longValue() > 0) {
        return true;
      }
    }
    return false;
  }

  /**
   * Adds a finished call's usage (cumulative counters as the stream last reported them).
   *
   * @param outputEstimated whether {@code output_tokens} is the proxy's estimate rather than the upstream's count
   */
  @Override
  public void record(String userId, String model, JsonObject usage, boolean outputEstimated) {
    String day = today();
    String m = model == null ? "unknown" : model;
    long[] counters = counters(usage, outputEstimated);
    add(day, userId, m, counters);
    JsonObject line = new JsonObject().put("day", day).put("user", userId).put("model", m);
    for (int i = 0; i < TOKEN_COUNTERS; i++) {
      line.put(COUNTERS[i], counters[i]);
    }
    if (outputEstimated) {
      line.put(COUNTERS[ESTIMATED], counters[ESTIMATED]);
    }
    line.put("requests", 1);
    if (writer != null) {
      writer.offer(line.encode());
    }
  }

  /** Blocks until every record so far is in the journal. */
  @Override
  public void sync() {
    if (writer == null) {
      return;
    }
    if (!writer.awaitWritten(10_000)) {
      throw new IllegalStateException("the usage journal did not catch up");
    }
  }

  /** Input plus output tokens {@code userId} used today (UTC). */
  public synchronized long tokensToday(String userId) {
    var users = days.get(today());
    var models = users == null ? null : users.get(userId);
    long total = 0;
    if (models != null) {
      for (long[] c : models.values()) {
        total += c[0] + c[1];
      }
    }
    return total;
  }

  /**
   * Usage by day and model for one user, or for everyone when {@code userId} is null, over the last {@code lastDays}
   * days: {@code {"days":[{"date","users":[{"user","models":[{"model","input_tokens",...}]}]}]}}.
   */
  public synchronized JsonObject report(String userId, int lastDays) {
    String from = LocalDate.ofInstant(Instant.ofEpochMilli(clock.getAsLong()), ZoneOffset.UTC)
        .minusDays(lastDays - 1L).toString();
    JsonArray out = new JsonArray();
    for (var day : days.descendingMap().entrySet()) {
      if (day.getKey().compareTo(from) < 0) {
        break;
      }
      JsonArray users = new JsonArray();
      for (var user : day.getValue().entrySet()) {
        if (userId != null && !userId.equals(user.getKey())) {
          continue;
        }
        JsonArray models = new JsonArray();
        for (var model : user.getValue().entrySet()) {
          JsonObject counters = new JsonObject().put("model", model.getKey());
          for (int i = 0; i < COUNTERS.length; i++) {
            counters.put(COUNTERS[i], model.getValue()[i]);
          }
          models.add(counters);
        }
        users.add(new JsonObject().put("user", user.getKey()).put("models", models));
      }
      if (!users.isEmpty()) {
        out.add(new JsonObject().put("date", day.getKey()).put("users", users));
      }
    }
    return new JsonObject().put("days", out);
  }

  private List<JsonObject> lines() {
    List<JsonObject> lines = new java.util.ArrayList<>();
    days.forEach((day, users) -> users.forEach((user, models) -> models.forEach((model, c) -> {
      JsonObject line = new JsonObject().put("day", day).put("user", user).put("model", model);
      for (int i = 0; i < COUNTERS.length; i++) {
        line.put(COUNTERS[i], c[i]);
      }
      lines.add(line);
    })));
    return lines;
  }

  /**
   * One call's row counters, in the order of {@link #COUNTERS}: its token counts, the output tokens again when they
   * are estimated, and one request.
   */
  static long[] counters(JsonObject usage, boolean outputEstimated) {
    long[] counters = new long[COUNTERS.length];
    for (int i = 0; i < TOKEN_COUNTERS; i++) {
      counters[i] = usage.getValue(COUNTERS[i]) instanceof Number n ? n.longValue() : 0;
    }
    if (outputEstimated) {
      counters[ESTIMATED] = counters[1];
    }
    counters[COUNTERS.length - 1] = 1;
    return counters;
  }

  /** Adds {@code counters} (in the order of {@link #COUNTERS}) to a row. */
  synchronized void add(String day, String user, String model, long[] counters) {
    long[] row = slot(day, user, model);
    for (int i = 0; i < COUNTERS.length; i++) {
      row[i] += counters[i];
    }
  }

  private long[] slot(String day, String user, String model) {
    return days.computeIfAbsent(day, d -> new TreeMap<>()).computeIfAbsent(user, u -> new TreeMap<>())
        .computeIfAbsent(model, m -> new long[COUNTERS.length]);
  }

  String today() {
    long epochDay = Math.floorDiv(clock.getAsLong(), 86_400_000L);
    Today cached = today;
    if (cached.epochDay != epochDay) {
      cached = new Today(epochDay, LocalDate.ofEpochDay(epochDay).toString());
      today = cached;
    }
    return cached.name;
  }

  @Override
  public io.vertx.core.Future<Long> spentToday(String userId) {
    return io.vertx.core.Future.succeededFuture(tokensToday(userId));
  }

  @Override
  public io.vertx.core.Future<JsonObject> usageReport(String userId, int lastDays) {
    return io.vertx.core.Future.succeededFuture(report(userId, lastDays));
  }

  /** Writes what is queued and closes the journal. */
  @Override
  public void close() {
    if (writer == null) {
      return;
    }
    writer.close();
  }
}
