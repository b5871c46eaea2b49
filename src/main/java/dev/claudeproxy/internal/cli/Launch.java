package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.ConfigLoader;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.observe.VertxMeters;
import dev.claudeproxy.internal.server.ClusterNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

/** Starts a long-running command on a fresh Vert.x and keeps the process alive until it is stopped. */
final class Launch {
  private Launch() {}

  /**
   * Loads the configuration, runs {@code starter}, and blocks until the JVM is asked to stop (SIGTERM, SIGINT). Then
   * it runs the stop sequence {@code starter} returned, closes Vert.x and exits 0: a stop on request is a success.
   *
   * @return the exit code when starting failed
   */
  static int run(Path configFile, BiFunction<Vertx, Settings, Future<Supplier<Future<Void>>>> starter) {
    return run(configFile, Vertx.vertx(new VertxOptions().setPreferNativeTransport(true)), starter);
  }

  /**
   * As {@link #run(Path, BiFunction)}, for the proxy: the settings decide whether the Vert.x joins a cluster
   * ({@link ClusterConfig}), and {@code metrics} makes the meters from them before Vert.x starts, so that Vert.x's own
   * meters (HTTP server, pools, JVM) go to the same registry.
   */
  static int run(Path configFile, Function<Settings, ProxyMetrics> metrics,
      Starter<ProxyMetrics> starter) {
    Vertx loader = Vertx.vertx();
    Object loaded = await(ConfigLoader.load(loader, configFile));
    loader.close();
    if (loaded instanceof Throwable failure) {
      System.err.println("Cannot start: " + message(failure));
      return 2;
    }
    Settings settings = (Settings) loaded;
    ProxyMetrics meters;
    ClusterConfig cluster;
    try {
      cluster = ClusterConfig.from(settings);
      meters = metrics.apply(settings);
    } catch (ConfigException e) {
      System.err.println("Cannot start: " + e.getMessage());
      return 2;
    }
    VertxOptions options = new VertxOptions().setPreferNativeTransport(true);
    Future<Vertx> vertx = cluster.clustered()
        ? ClusterNode.start(cluster, VertxMeters.builder(meters.registry(), options), options)
        : Future.succeededFuture(VertxMeters.vertx(meters.registry(), options));
    Object built = await(vertx);
    if (built instanceof Throwable failure) {
      System.err.println("Cannot join the cluster: " + message(failure));
      return 2;
    }
    return run((Vertx) built, v -> starter.start(v, settings, meters));
  }

  /** Starts a command on a Vert.x, with its settings and what was made from them. */
  interface Starter<T> {
    Future<Supplier<Future<Void>>> start(Vertx vertx, Settings settings, T made);
  }

  private static Object await(Future<?> future) {
    CountDownLatch done = new CountDownLatch(1);
    Object[] outcome = {null};
    future.onComplete(ar -> {
      outcome[0] = ar.succeeded() ? ar.result() : ar.cause();
      done.countDown();
    });
    try {
      done.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return e;
    }
    return outcome[0];
  }

  private static int run(Path configFile, Vertx vertx,
      BiFunction<Vertx, Settings, Future<Supplier<Future<Void>>>> starter) {
    return run(vertx, v -> ConfigLoader.load(vertx, configFile).compose(settings -> starter.apply(vertx, settings)));
  }

  private static int run(Vertx vertx, Function<Vertx, Future<Supplier<Future<Void>>>> starter) {
    Object outcome = await(starter.apply(vertx));
    if (outcome instanceof InterruptedException) {
      vertx.close();
      return 1;
    }
    if (outcome instanceof Throwable failure) {
      System.err.println("Cannot start: " + message(failure));
      vertx.close();
      return 2;
    }
    @SuppressWarnings("unchecked")
    Supplier<Future<Void>> stop = (Supplier<Future<Void>>) outcome;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("Stopping: finishing open streams first");
      try {
        // Closed from this thread: a Vert.x closed from one of its own event loops never reports back.
        stop.get().toCompletionStage().toCompletableFuture().get(10, TimeUnit.MINUTES);
        vertx.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
        System.out.println("Stopped");
      } catch (Exception e) {
        System.err.println("Stopped with an error: " + message(e));
      }
      System.out.flush();
      // A stop the operator asked for is a clean exit, not the JVM's 143 for SIGTERM.
      Runtime.getRuntime().halt(0);
    }, "shutdown"));
    try {
      new CountDownLatch(1).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  private static String message(Throwable t) {
    if (t instanceof ConfigException) {
      return t.getMessage();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
