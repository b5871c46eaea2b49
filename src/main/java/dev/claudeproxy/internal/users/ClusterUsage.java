package dev.claudeproxy.internal.users;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Usage shared by the cluster: one entry per UTC day and user in the cluster-wide map {@code usage}
 * ({@code "<day>|<user>"} to {@code {"<model>":[counters]}}), added to by the HTTP node that owned each stream, once, by
 * compare-and-set in batches ({@link ClusterState#batch}). Hazelcast keeps a backup of every entry on another member,
 * so the totals survive the loss of any one node; every HTTP node also appends its own streams' rows to its journal
 * ({@code PROXY_USAGE_FILE}).
 */
public final class ClusterUsage implements UsageStore {
  private static final Logger LOG = Logger.getLogger(ClusterUsage.class.getName());
  private static final String MAP = "usage";
  private static final int ATTEMPTS = 5;

  private final Vertx vertx;
  private final ClusterState state;
  private final UsageLedger journal;
  private final LongSupplier clock;

  /** @param journal this node's journal (its in-memory totals are this node's share only, and unused) */
  public ClusterUsage(Vertx vertx, ClusterState state, UsageLedger journal, LongSupplier clock) {
    this.vertx = vertx;
    this.state = state;
    this.journal = journal;
    this.clock = clock;
  }

  @Override
  public void record(String userId, String model, JsonObject usage, boolean outputEstimated) {
    journal.record(userId, model, usage, outputEstimated);
    write(journal.today() + "|" + userId, model == null ? "unknown" : model,
        UsageLedger.counters(usage, outputEstimated), 1);
  }

  private void write(String key, String model, long[] add, int attempt) {
    // Batched per key: the streams of one user that end together cost a few writes between them.
    state.<Void>batch(MAP, key, false, row -> {
      JsonArray counters = row.getJsonArray(model);
      JsonArray sum = new JsonArray();
      for (int i = 0; i < add.length; i++) {
        sum.add((counters != null && i < counters.size() ? counters.getLong(i) : 0L) + add[i]);
      }
      row.put(model, sum);
      return null;
    }).onFailure(e -> {
      if (attempt >= ATTEMPTS) {
        LOG.log(Level.SEVERE, "usage of " + key + " (" + model + ") could not be written to the cluster; it is in this"
            + " node's journal only", e);
        return;
      }
      vertx.setTimer(1_000L * attempt, id -> write(key, model, add, attempt + 1));
    });
  }

  @Override
  public Future<Long> spentToday(String userId) {
    return state.read(MAP, journal.today() + "|" + userId).map(row -> {
      long total = 0;
      if (row != null) {
        JsonObject models = new JsonObject(row);
        for (String model : models.fieldNames()) {
          JsonArray c = models.getJsonArray(model);
          total += c.getLong(0) + c.getLong(1);
        }
      }
      return total;
    });
  }

  @Override
  public Future<JsonObject> usageReport(String userId, int lastDays) {
    LocalDate today = LocalDate.ofInstant(Instant.ofEpochMilli(clock.getAsLong()), ZoneOffset.UTC);
    String from = today.minusDays(lastDays - 1L).toString();
    Future<List<String[]>> rows;
    if (userId != null) {
      List<Future<String[]>> days = new ArrayList<>();
      for (int i = 0; i < lastDays; i++) {
        String key = today.minusDays(i) + "|" + userId;
        days.add(state.read(MAP, key).map(v -> v == null ? null : new String[] {key, v}));
      }
      rows = Future.all(days).map(all -> {
        List<String[]> found = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
          if (all.resultAt(i) != null) {
            found.add(all.resultAt(i));
          }
        }
        return found;
      });
    } else {
      rows = state.within(state.map(MAP).compose(m -> m.entries())).map(entries -> {
        List<String[]> found = new ArrayList<>();
        entries.forEach((k, v) -> {
          if (k.substring(0, k.indexOf('|')).compareTo(from) >= 0) {
            found.add(new String[] {k, v});
          }
        });
        return found;
      });
    }
    return rows.map(found -> {
      UsageLedger view = UsageLedger.inMemory(clock);
      for (String[] row : found) {
        int bar = row[0].indexOf('|');
        JsonObject models = new JsonObject(row[1]);
        for (String model : models.fieldNames()) {
          JsonArray c = models.getJsonArray(model);
          long[] counters = new long[UsageLedger.COUNTERS.length];
          for (int i = 0; i < counters.length && i < c.size(); i++) {
            counters[i] = c.getLong(i);
          }
          view.add(row[0].substring(0, bar), row[0].substring(bar + 1), model, counters);
        }
      }
      return view.report(userId, lastDays);
    });
  }

  @Override
  public void sync() {
    journal.sync();
  }

  @Override
  public void close() {
    journal.close();
  }
}
