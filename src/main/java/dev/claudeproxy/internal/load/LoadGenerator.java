package dev.claudeproxy.internal.load;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.upstream.SseEvent;
import dev.claudeproxy.internal.upstream.SseParser;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Opens many concurrent streams against an Anthropic-compatible {@code /v1/messages} or the proxy's {@code /v1/chat},
 * checks every one (event order, no lost, repeated or reordered delta, the final text when the target is the
 * simulator), and measures time to first token, gaps between deltas and stream durations.
 *
 * <p>With {@link LoadConfig#cutAndResume()}, each stream is cut after a random number of its events (from none to all
 * but the last; the bytes of the event after the cut that came in the same read are dropped, as a cut in the middle
 * of an event leaves them) and resumed from its position on the next target URL; the check runs over the joined
 * stream. With {@link LoadConfig#cancel()}, each stream is cut the same way and left there: what it read is checked
 * against the start of what the simulator sent.
 *
 * <p>One verticle per event loop, each with its share of the streams and its own clients; with many streams the
 * connections are spread over several local addresses (127.0.0.x) so that one address's ports do not run out.
 */
public final class LoadGenerator {
  private final LoadConfig config;
  private final LoadStats stats = new LoadStats();
  private final AtomicLong numbers = new AtomicLong();
  private final PrintStream progress;
  private volatile boolean stopStarting;
  private long startedAt;
  private double lastTick;

  public LoadGenerator(LoadConfig config, PrintStream progress) {
    this.config = config;
    this.progress = progress;
  }

  /** Runs the load; completes with the report once every stream has ended. */
  public Future<LoadReport> run(Vertx vertx) {
    int loops = Math.max(1, Math.min(2 * Runtime.getRuntime().availableProcessors(), config.concurrency()));
    Promise<Void> allDone = Promise.promise();
    AtomicLong running = new AtomicLong(loops);
    startedAt = System.nanoTime();
    long ticker = vertx.setPeriodic(1000, id -> tick());
    List<Integer> shares = new ArrayList<>();
    for (int i = 0; i < loops; i++) {
      shares.add(config.concurrency() / loops + (i < config.concurrency() % loops ? 1 : 0));
    }
    AtomicLong index = new AtomicLong();
    return vertx.deployVerticle(() -> {
      int i = (int) index.getAndIncrement();
      return new Runner(i, shares.get(i), () -> {
        if (running.decrementAndGet() == 0) {
          allDone.tryComplete();
        }
      });
    }, new DeploymentOptions().setInstances(loops))
        .compose(id -> {
          if (config.duration() != null) {
            vertx.setTimer(config.duration().toMillis(), t -> stopStarting = true);
          }
          return allDone.future().eventually(() -> vertx.undeploy(id));
        })
        .map(v -> {
          vertx.cancelTimer(ticker);
          double seconds = (System.nanoTime() - startedAt) / 1e9;
          stats.sample(seconds);
          return new LoadReport(config, stats, seconds);
        });
  }

  private void tick() {
    double elapsed = (System.nanoTime() - startedAt) / 1e9;
    if (elapsed - lastTick < 0.5) {
      return; // a tick the timer fires to catch up after the JVM stood still: one sample says it all
    }
    lastTick = elapsed;
    long perSecond = stats.sample(elapsed);
    if (progress != null) {
      progress.printf("[%6.1fs] active %6d  completed %8d  errors %6d  deltas/s %9d%n", elapsed,
          stats.active.get(), stats.completed.sum(), stats.failed.sum(), perSecond);
    }
  }

  /** Takes a stream number, or -1 when no more streams should start. */
  private long nextStream() {
    if (stopStarting) {
      return -1;
    }
    long n = numbers.incrementAndGet();
    if (config.total() > 0 && n > config.total()) {
      stopStarting = true;
      return -1;
    }
    return n;
  }

  /** One event loop's share: keeps {@code share} streams open until the run is over. */
  private final class Runner extends VerticleBase {
    private final int index;
    private final int share;
    private final Runnable onDone;
    /** For each target, a client for each local address. */
    private final List<List<HttpClient>> clients = new ArrayList<>();
    private int open;
    private int launched;
    private long rampTimer = -1;
    private boolean finished;

    Runner(int index, int share, Runnable onDone) {
      this.index = index;
      this.share = share;
      this.onDone = onDone;
    }

    @Override
    public Future<?> start() {
      int addresses = Math.max(1, config.addresses());
      for (URI target : config.targets()) {
        List<HttpClient> forTarget = new ArrayList<>();
        for (int a = 0; a < addresses; a++) {
          HttpClientOptions options = new HttpClientOptions().setDefaultHost(target.getHost())
              .setDefaultPort(LoadConfig.port(target)).setSsl("https".equals(target.getScheme()))
              .setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout(30_000);
          if (addresses > 1) {
            options.setLocalAddress("127.0.0." + (1 + (a + index) % 250));
          }
          forTarget.add(vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(Math.max(1, share))
              .setMaxWaitQueueSize(-1)));
        }
        clients.add(forTarget);
      }
      if (share == 0) {
        vertx.runOnContext(v -> done());
        return Future.succeededFuture();
      }
      long rampMs = config.rampUp() == null ? 0 : config.rampUp().toMillis();
      if (rampMs <= 0) {
        for (int i = 0; i < share; i++) {
          launch();
        }
      } else {
        // Reach the share evenly over the ramp-up, a few streams every 10 ms.
        long started = System.nanoTime();
        rampTimer = vertx.setPeriodic(10, id -> {
          long due = Math.min(share, (long) Math.ceil(share * ((System.nanoTime() - started) / 1e6) / rampMs));
          while (launched < due) {
            launched++;
            launch();
          }
          if (launched >= share) {
            vertx.cancelTimer(rampTimer);
          }
        });
        return Future.succeededFuture();
      }
      launched = share;
      return Future.succeededFuture();
    }

    @Override
    public Future<?> stop() {
      return Future.join(clients.stream().flatMap(List::stream).map(HttpClient::close).toList());
    }

    /** The client of stream {@code n} for the target {@code shift} places after the one it starts on. */
    HttpClient client(long n, int shift) {
      List<HttpClient> forTarget = clients.get(targetIndex(n, shift));
      return forTarget.get((int) (n % forTarget.size()));
    }

    private void launch() {
      long n = nextStream();
      if (n < 0) {
        if (open == 0 && (rampTimer == -1 || launched >= share)) {
          done();
        }
        return;
      }
      open++;
      stats.active.incrementAndGet();
      stats.started.increment();
      new Stream(n, this).begin().onComplete(ar -> {
        open--;
        stats.active.decrementAndGet();
        launch();
      });
    }

    private void done() {
      if (!finished) {
        finished = true;
        onDone.run();
      }
    }
  }

  private int targetIndex(long n, int shift) {
    return (int) ((n + shift) % config.targets().size());
  }

  /** One stream: its request, its checks and its timings; in resume mode, its cut and its resume. */
  private final class Stream {
    private final long n;
    private final Runner runner;
    private final String body;
    /** What the simulator sends for the request; null without {@code verifyTokens}. */
    private final ReplyPlan plan;
    private final StreamCheck check;
    private final Promise<Void> ended = Promise.promise();
    private SseParser parser = new SseParser();
    private long sentAt;
    private long lastDeltaAt;
    /** The response being read; callbacks of a response that was cut come after it and are ignored. */
    private HttpClientResponse reading;
    /** Resume mode: the position the stream is cut at, -1 once it was cut (or without the mode). */
    private long cutAt = -1;
    /** The event the cut went through, once it did. */
    private SseEvent cutThrough;
    private String streamId;
    /** The next delta's gap spans the cut: not a gap the target made. */
    private boolean joined;

    Stream(long n, Runner runner) {
      this.n = n;
      this.runner = runner;
      this.body = config.template().encode().replace("{{n}}", Long.toString(n));
      this.plan = config.verifyTokens() > 0 ? ReplyPlan.of(new JsonObject(body), config.verifyTokens()) : null;
      this.check = new StreamCheck(config.chat(), plan);
      if (config.cutAndResume() || config.cancel()) {
        // Seeded by the stream's number, so a run's cuts can be made again.
        cutAt = new SplittableRandom(n).nextInt(plan.eventCount());
      }
    }

    Future<Void> begin() {
      URI target = config.targets().get(targetIndex(n, 0));
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI(config.path(target))
          .putHeader("content-type", "application/json").putHeader("anthropic-version", "2023-06-01")
          .putHeader("accept", "text/event-stream");
      if (config.key() != null) {
        options.putHeader("x-api-key", config.key());
      }
      config.headers().forEach(options::putHeader);
      if (config.verifyTokens() > 0) {
        options.putHeader("x-sim-output-tokens", Integer.toString(config.verifyTokens()));
      }
      if (config.cutAndResume()) {
        options.putHeader("x-stream-resumable", "true");
      }
      sentAt = System.nanoTime();
      runner.client(n, 0).request(options)
          .compose(req -> req.send(Buffer.buffer(body)))
          .onSuccess(resp -> read(resp, false))
          .onFailure(e -> {
            stats.error("connection:" + e.getClass().getSimpleName(), e.getMessage());
            ended.tryComplete();
          });
      return ended.future();
    }

    private void read(HttpClientResponse resp, boolean resumed) {
      if (resp.statusCode() != 200) {
        resp.body().onComplete(ar -> {
          String type = (resumed ? "resume_http_" : "http_") + resp.statusCode();
          try {
            type += ":" + ar.result().toJsonObject().getJsonObject("error").getString("type");
          } catch (RuntimeException unreadable) {
            // the status alone names it
          }
          if (resumed) {
            stats.resumeFailed(Integer.toString(resp.statusCode()));
          }
          stats.error(type, resumed ? "stream " + n + " (" + streamId + ") after " + check.position() : null);
          ended.tryComplete();
        });
        return;
      }
      if (cutAt >= 0 && config.cutAndResume()) {
        streamId = resp.getHeader("x-stream-id");
        if (streamId == null) {
          resp.request().reset();
          stats.error("resume:no_stream_id", "stream " + n + ": no x-stream-id header to resume it by");
          ended.tryComplete();
          return;
        }
      }
      reading = resp;
      resp.handler(chunk -> {
        if (reading != resp) {
          return;
        }
        stats.bytes.add(chunk.length());
        parser.feed(chunk, this::onEvent);
        if (cutThrough != null && config.cancel()) {
          cancel(resp);
        } else if (cutThrough != null) {
          cut(resp);
        }
      });
      resp.exceptionHandler(e -> {
        if (reading == resp) {
          stats.error("connection:" + e.getClass().getSimpleName(), e.getMessage());
          ended.tryComplete();
        }
      });
      resp.endHandler(v -> {
        if (reading == resp) {
          finish();
          ended.tryComplete();
        }
      });
    }

    private void onEvent(SseEvent event) {
      if (cutThrough != null) {
        // After the cut, in the same read: never received.
        return;
      }
      if (cutAt >= 0 && counted(event) && (check.position() == cutAt || last(event))) {
        cutThrough = event;
        return;
      }
      if (check.accept(event)) {
        long now = System.nanoTime();
        if (n <= config.warmup()) {
          // a warm-up stream: checked, not timed
        } else if (lastDeltaAt == 0) {
          stats.ttft.recordValue(Math.max(0, (now - sentAt) / 1000));
        } else if (!joined) {
          stats.gaps.recordValue(Math.max(0, (now - lastDeltaAt) / 1000));
        }
        joined = false;
        lastDeltaAt = now;
        stats.deltas.increment();
      }
    }

    /** Closes the connection in the middle of {@link #cutThrough} and asks for the rest on the next target. */
    private void cut(HttpClientResponse resp) {
      reading = null;
      cutAt = -1;
      joined = true;
      resp.request().reset();
      stats.cut(cutPlace());
      cutThrough = null;
      long position = check.position();
      URI target = config.targets().get(targetIndex(n, 1));
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET)
          .setURI(config.streamPath(target, streamId) + "?after=" + position)
          .putHeader("accept", "text/event-stream").putHeader("anthropic-version", "2023-06-01");
      if (config.key() != null) {
        options.putHeader("x-api-key", config.key());
      }
      long askedAt = System.nanoTime();
      parser = new SseParser();
      runner.client(n, 1).request(options)
          .compose(HttpClientRequest::send)
          .onSuccess(resumed -> {
            if (resumed.statusCode() == 200) {
              stats.resumed(Math.max(0, (System.nanoTime() - askedAt) / 1000));
              String from = resumed.getHeader("x-stream-position");
              if (!Long.toString(position).equals(from)) {
                resumed.request().reset();
                stats.error("resume:position", "stream " + n + " (" + streamId + ") asked after " + position
                    + ", got x-stream-position " + from);
                ended.tryComplete();
                return;
              }
            }
            read(resumed, true);
          })
          .onFailure(e -> {
            stats.resumeFailed("connection");
            stats.error("resume_connection:" + e.getClass().getSimpleName(), e.getMessage());
            ended.tryComplete();
          });
    }

    /**
     * Closes the connection in the middle of {@link #cutThrough}, for good: the stream ends here, as planned, when what
     * it read is the start of what the simulator sent.
     */
    private void cancel(HttpClientResponse resp) {
      reading = null;
      resp.request().reset();
      stats.cut(cutPlace());
      cutThrough = null;
      if (check.violation() != null) {
        stats.error("integrity", "stream " + n + ": " + check.violation());
      } else if (check.errorType() != null) {
        stats.error("stream_error:" + check.errorType(), null);
      } else if (!plan.text().startsWith(check.text())) {
        stats.mismatched.increment();
        stats.error("integrity", "stream " + n + ": the text read before the cancel differs from what the simulator"
            + " sent");
      } else {
        stats.verified.increment();
        stats.completed.increment();
      }
      ended.tryComplete();
    }

    /** Where the cut fell: before the first content delta, inside the content, or after the last delta. */
    private String cutPlace() {
      if (check.deltas() == 0) {
        return "before_first_delta";
      }
      return switch (cutThrough.name()) {
        // On /v1/chat a usage event after a delta is message_delta's.
        case "message_delta", "message_stop", "usage", "done" -> "after_last_delta";
        default -> "inside_content";
      };
    }

    private void finish() {
      if (n > config.warmup()) {
        stats.durations.recordValue(Math.max(0, (System.nanoTime() - sentAt) / 1000));
      }
      if (check.violation() != null) {
        stats.error("integrity", "stream " + n + ": " + check.violation());
      } else if (check.errorType() != null) {
        stats.error("stream_error:" + check.errorType(), null);
      } else if (!check.complete() || parser.hasPartialEvent()) {
        stats.error("incomplete", "stream " + n + " ended without its last event");
      } else if (plan != null && !plan.text().equals(check.text())) {
        stats.mismatched.increment();
        stats.error("integrity", "stream " + n + ": the text differs from what the simulator sent");
      } else {
        if (config.verifyTokens() > 0) {
          stats.verified.increment();
        }
        stats.completed.increment();
      }
    }

    /** Whether the event has a position: a named event other than a ping (chat's keepalive is a comment). */
    private static boolean counted(SseEvent event) {
      return event.name() != null && !"ping".equals(event.name());
    }

    /** Whether the event ends a complete stream: a cut must come before it, or there is nothing left to resume. */
    private static boolean last(SseEvent event) {
      return "message_stop".equals(event.name()) || "done".equals(event.name());
    }
  }
}
