package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.StreamBus;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Whether the workers of a side's open streams are still there, for the HTTP side and {@code StreamClient} alike:
 * each worker is pinged once per check whatever its number of streams. A worker whose address has no consumer left
 * (undeployed, or its node left the cluster) is lost at once. A worker that is there but slow to answer (its event
 * loop busy or blocked for a while, a long GC pause) is lost only after {@code missedLimit} checks in a row time out
 * with nothing heard from it in between, since ending thousands of healthy streams for late answers does more harm
 * than a few seconds' wait. A worker that answers with a failure is there, and so is one whose streams' events keep
 * coming: under a burst, a ping waits in the worker's queue behind the work of the burst, while that work (streams
 * taken, events sent) shows the worker alive. Single-threaded: used on its owner's context only.
 */
public final class WorkerChecks {
  private final Vertx vertx;
  private final long timeoutMs;
  private final int missedLimit;
  private final Consumer<String> lost;
  private final Set<String> beingChecked = new HashSet<>();
  /** Checks in a row that each worker has left unanswered; a worker that answers is taken off. */
  private final Map<String, Integer> missed = new HashMap<>();

  /**
   * @param timeoutMs how long a ping waits for its answer
   * @param missedLimit unanswered checks in a row after which a worker is lost
   * @param lost called with a lost worker's address
   */
  public WorkerChecks(Vertx vertx, long timeoutMs, int missedLimit, Consumer<String> lost) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
    this.missedLimit = missedLimit;
    this.lost = lost;
  }

  /** Pings each of {@code workers} not already being pinged; forgets the misses of workers no longer named. */
  public void check(Set<String> workers) {
    check(workers, Set.of());
  }

  /**
   * {@link #check(Set)}, where the workers in {@code heard} have been heard from since the last check (they took a
   * stream, or sent an event of one): they are there, however late their answers to pings, and their missed checks
   * start again from none.
   */
  public void check(Set<String> workers, Set<String> heard) {
    missed.keySet().retainAll(workers);
    missed.keySet().removeAll(heard);
    for (String worker : workers) {
      if (!beingChecked.add(worker)) {
        continue;
      }
      DeliveryOptions ping = new DeliveryOptions().setSendTimeout(timeoutMs)
          .addHeader(StreamBus.H_VERSION, StreamBus.VERSION).addHeader(StreamBus.H_OP, StreamBus.OP_PING);
      vertx.eventBus().request(worker, Buffer.buffer(), ping).onComplete(ar -> {
        beingChecked.remove(worker);
        ReplyFailure failure = ar.cause() instanceof ReplyException re ? re.failureType() : null;
        if (ar.succeeded() || failure == ReplyFailure.RECIPIENT_FAILURE) {
          missed.remove(worker);
        } else if (failure == ReplyFailure.NO_HANDLERS || missed.merge(worker, 1, Integer::sum) >= missedLimit) {
          missed.remove(worker);
          lost.accept(worker);
        }
      });
    }
  }
}
