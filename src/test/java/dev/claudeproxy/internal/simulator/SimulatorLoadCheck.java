package dev.claudeproxy.internal.simulator;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A by-hand measurement of the simulator's capacity; not a unit test (surefire does not pick it up).
 *
 * <pre>
 *   ulimit -n 100000
 *   mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp target/classes:target/test-classes:$(cat cp.txt) dev.claudeproxy.internal.simulator.SimulatorLoadCheck \
 *       concurrency 20000 10
 *   java -cp ... dev.claudeproxy.internal.simulator.SimulatorLoadCheck throughput 10
 * </pre>
 *
 * <p>{@code concurrency N T [PORT]}: N concurrent streams of T tokens, TTFT 1 s, 1 token/s, from client addresses
 * spread over 127.0.0.2..9 so that source ports do not run out; reports how many completed with message_stop.
 * With PORT, the streams go to a simulator already running in another process (so that client and server each
 * have their own file descriptor limit), for example one started with
 * {@code SIM_PORT=9000 java -cp ... dev.claudeproxy.internal.simulator.Simulator}.
 * {@code throughput S}: one simulator event loop at 0 tokens/s (as fast as possible) for S seconds, reports the
 * deltas per second it produced (counted by the simulator) and the bytes the clients read.
 */
public final class SimulatorLoadCheck {
  private static final int CLIENT_ADDRESSES = 8;

  private SimulatorLoadCheck() {
  }

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "both";
    if (mode.equals("concurrency") || mode.equals("both")) {
      int n = args.length > 1 && mode.equals("concurrency") ? Integer.parseInt(args[1]) : 20_000;
      int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 10;
      int port = args.length > 3 ? Integer.parseInt(args[3]) : 0;
      concurrency(n, tokens, port);
    }
    if (mode.equals("throughput") || mode.equals("both")) {
      int seconds = args.length > 1 && mode.equals("throughput") ? Integer.parseInt(args[1]) : 10;
      throughput(seconds);
    }
    System.exit(0);
  }

  private static void concurrency(int n, int tokens, int externalPort) throws Exception {
    // With a port, the simulator runs in another process (its own file descriptor budget); else in this one.
    Vertx serverVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    Simulator sim = externalPort > 0 ? null : await(Simulator.start(serverVertx, SimulatorConfig.defaults()
        .withPort(0).withInstances(2).withTiming(1000, 1, 0.2).withOutputTokens(tokens)));
    int port = externalPort > 0 ? externalPort : sim.port();
    HttpClient statsClient = serverVertx.createHttpClient();
    Vertx clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    List<HttpClient> clients = new ArrayList<>();
    for (int i = 0; i < CLIENT_ADDRESSES; i++) {
      clients.add(clientVertx.createHttpClient(new HttpClientOptions()
              .setLocalAddress("127.0.0." + (2 + i))
              .setConnectTimeout(60_000)
              .setIdleTimeout(0)
              .setKeepAlive(false),
          new PoolOptions().setHttp1MaxSize(n / CLIENT_ADDRESSES + 1).setMaxWaitQueueSize(-1)));
    }
    String body = SimTestSupport.request("claude-sonnet-4-5", 4096, "load").put("stream", true).encode();
    AtomicInteger completed = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicLong maxOpen = new AtomicLong();
    List<String> firstErrors = new ArrayList<>();
    Promise<Void> all = Promise.promise();
    AtomicInteger finished = new AtomicInteger();
    long t0 = System.nanoTime();
    long sampler = serverVertx.setPeriodic(500, id -> stats(statsClient, port)
        .onSuccess(st -> maxOpen.accumulateAndGet(st.getLong("streamsOpen"), Math::max)));
    // Open the streams in waves of 500 every 50 ms: a SYN burst of 20,000 would only measure the accept backlog.
    for (int i = 0; i < n; i++) {
      HttpClient client = clients.get(i % CLIENT_ADDRESSES);
      long delay = 1 + (i / 500) * 50L;
      clientVertx.setTimer(delay, id -> client.request(HttpMethod.POST, port, "127.0.0.1", "/v1/messages")
          .compose(req -> req.putHeader("anthropic-version", "2023-06-01")
              .putHeader("content-type", "application/json").putHeader("x-sim-ttft-ms", "1000")
              .putHeader("x-sim-tokens-per-second", "1").putHeader("x-sim-output-tokens", Integer.toString(tokens))
              .send(body))
          .compose(resp -> resp.body().map(b -> {
            if (resp.statusCode() != 200 || !b.toString().endsWith("event: message_stop\ndata: "
                + "{\"type\":\"message_stop\"}\n\n")) {
              throw new IllegalStateException("status " + resp.statusCode() + ", incomplete body");
            }
            return b;
          }))
          .onComplete(ar -> {
            if (ar.succeeded()) {
              completed.incrementAndGet();
            } else {
              failed.incrementAndGet();
              synchronized (firstErrors) {
                if (firstErrors.size() < 5) {
                  firstErrors.add(String.valueOf(ar.cause()));
                }
              }
            }
            if (finished.incrementAndGet() == n) {
              all.complete();
            }
          }));
    }
    all.future().toCompletionStage().toCompletableFuture().get(30 + n / 500 * 50 / 1000 + tokens * 3L + 120,
        TimeUnit.SECONDS);
    serverVertx.cancelTimer(sampler);
    double secs = (System.nanoTime() - t0) / 1e9;
    io.vertx.core.json.JsonObject st = await(stats(statsClient, port));
    System.out.printf("concurrency: %d streams x %d tokens (TTFT 1 s, 1 token/s): completed %d, failed %d, "
            + "max open at once %d, %.1f s; server stats %s%n",
        n, tokens, completed.get(), failed.get(), maxOpen.get(), secs, st.encode());
    firstErrors.forEach(e -> System.out.println("  error: " + e));
    await(clientVertx.close());
    if (sim != null) {
      await(sim.close());
    }
    await(serverVertx.close());
  }

  private static void throughput(int seconds) throws Exception {
    Vertx serverVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    Simulator sim = await(Simulator.start(serverVertx, SimulatorConfig.defaults().withPort(0).withInstances(1)
        .withTiming(0, 0, 0).withOutputTokens(SimulatorConfig.MAX_OUTPUT_TOKENS)));
    Vertx clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    HttpClient client = clientVertx.createHttpClient(new HttpClientOptions().setIdleTimeout(0),
        new PoolOptions().setHttp1MaxSize(8));
    String body = SimTestSupport.request("claude-sonnet-4-5", 64_000, "throughput").put("stream", true).encode();
    AtomicLong bytes = new AtomicLong();
    // A few long streams (64,000 tokens each, the model's maximum), reopened as they finish.
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    for (int i = 0; i < 4; i++) {
      loop(client, sim.port(), body, bytes, end);
    }
    Thread.sleep(1000);
    long d0 = sim.stats().deltas();
    long b0 = bytes.get();
    long t0 = System.nanoTime();
    Thread.sleep(seconds * 1000L - 1000);
    long d1 = sim.stats().deltas();
    long b1 = bytes.get();
    double secs = (System.nanoTime() - t0) / 1e9;
    System.out.printf("throughput: one event loop, tokens/s 0: %.0f deltas/s, %.1f MB/s read by the client "
        + "(%d streams completed)%n", (d1 - d0) / secs, (b1 - b0) / secs / 1e6, sim.stats().streamsCompleted());
    await(clientVertx.close());
    await(sim.close());
    await(serverVertx.close());
  }

  private static Future<io.vertx.core.json.JsonObject> stats(HttpClient client, int port) {
    return client.request(HttpMethod.GET, port, "127.0.0.1", "/sim/stats")
        .compose(req -> req.send())
        .compose(resp -> resp.body())
        .map(b -> new io.vertx.core.json.JsonObject(b));
  }

  private static void loop(HttpClient client, int port, String body, AtomicLong bytes, long end) {
    if (System.nanoTime() > end) {
      return;
    }
    client.request(HttpMethod.POST, port, "127.0.0.1", "/v1/messages")
        .compose(req -> req.putHeader("anthropic-version", "2023-06-01").send(body))
        .compose(resp -> {
          resp.handler((Buffer b) -> bytes.addAndGet(b.length()));
          return resp.end();
        })
        .onComplete(ar -> loop(client, port, body, bytes, end));
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
