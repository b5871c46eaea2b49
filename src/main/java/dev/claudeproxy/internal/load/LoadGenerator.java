package dev.claudeproxy.internal.load;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.upstream.SseParser;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Opens many concurrent streams against an Anthropic-compatible {@code /v1/messages} or the proxy's {@code /v1/chat},
 * checks every one (event order, no lost, repeated or reordered delta, the final text when the target is the
 * simulator), and measures time to first token, gaps between deltas and stream durations.
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
    private final List<HttpClient> clients = new ArrayList<>();
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
      for (int a = 0; a < addresses; a++) {
        HttpClientOptions options = new HttpClientOptions().setDefaultHost(config.target().getHost())
            .setDefaultPort(config.port()).setSsl("https".equals(config.target().getScheme()))
            .setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout(30_000);
        if (addresses > 1) {
          options.setLocalAddress("127.0.0." + (1 + (a + index) % 250));
        }
        clients.add(vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(Math.max(1, share))
            .setMaxWaitQueueSize(-1)));
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
      return Future.join(clients.stream().map(HttpClient::close).toList());
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
      new Stream(n, clients.get((int) (n % clients.size()))).begin().onComplete(ar -> {
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

  /** One stream: its request, its checks and its timings. */
  private final class Stream {
    private final long n;
    private final HttpClient client;
    private final StreamCheck check = new StreamCheck(config.chat());
    private final SseParser parser = new SseParser();
    private final String body;
    private long sentAt;
    private long lastDeltaAt;

    Stream(long n, HttpClient client) {
      this.n = n;
      this.client = client;
      this.body = config.template().encode().replace("{{n}}", Long.toString(n));
    }

    Future<Void> begin() {
      Promise<Void> ended = Promise.promise();
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI(config.path())
          .putHeader("content-type", "application/json").putHeader("anthropic-version", "2023-06-01")
          .putHeader("accept", "text/event-stream");
      if (config.key() != null) {
        options.putHeader("x-api-key", config.key());
      }
      config.headers().forEach(options::putHeader);
      if (config.verifyTokens() > 0) {
        options.putHeader("x-sim-output-tokens", Integer.toString(config.verifyTokens()));
      }
      sentAt = System.nanoTime();
      client.request(options)
          .compose(req -> req.send(Buffer.buffer(body)))
          .onSuccess(resp -> read(resp, ended))
          .onFailure(e -> {
            stats.error("connection:" + e.getClass().getSimpleName(), e.getMessage());
            ended.tryComplete();
          });
      return ended.future();
    }

    private void read(HttpClientResponse resp, Promise<Void> ended) {
      if (resp.statusCode() != 200) {
        resp.body().onComplete(ar -> {
          String type = "http_" + resp.statusCode();
          try {
            type += ":" + ar.result().toJsonObject().getJsonObject("error").getString("type");
          } catch (RuntimeException unreadable) {
            // the status alone names it
          }
          stats.error(type, null);
          ended.tryComplete();
        });
        return;
      }
      resp.handler(chunk -> {
        stats.bytes.add(chunk.length());
        parser.feed(chunk, event -> {
          if (check.accept(event)) {
            long now = System.nanoTime();
            if (n <= config.warmup()) {
              // a warm-up stream: checked, not timed
            } else if (lastDeltaAt == 0) {
              stats.ttft.recordValue(Math.max(0, (now - sentAt) / 1000));
            } else {
              stats.gaps.recordValue(Math.max(0, (now - lastDeltaAt) / 1000));
            }
            lastDeltaAt = now;
            stats.deltas.increment();
          }
        });
      });
      resp.exceptionHandler(e -> {
        stats.error("connection:" + e.getClass().getSimpleName(), e.getMessage());
        ended.tryComplete();
      });
      resp.endHandler(v -> {
        finish();
        ended.tryComplete();
      });
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
      } else if (config.verifyTokens() > 0 && !expectedText().equals(check.text())) {
        stats.mismatched.increment();
        stats.error("integrity", "stream " + n + ": the text differs from what the simulator sent");
      } else {
        if (config.verifyTokens() > 0) {
          stats.verified.increment();
        }
        stats.completed.increment();
      }
    }

    private String expectedText() {
      JsonObject request = new JsonObject(body);
      return ReplyPlan.of(request, config.verifyTokens()).text();
    }
  }
}
