package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.ConfigLoader;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.observe.VertxMeters;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
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

  /** As {@link #run(Path, BiFunction)}, on a Vert.x whose own meters (HTTP server, pools, JVM) go to
   * {@code metrics}. */
  static int run(Path configFile, ProxyMetrics metrics,
      BiFunction<Vertx, Settings, Future<Supplier<Future<Void>>>> starter) {
    Vertx vertx = VertxMeters.vertx(metrics.registry(), new VertxOptions().setPreferNativeTransport(true));
    return run(configFile, vertx, starter);
  }

  private static int run(Path configFile, Vertx vertx,
      BiFunction<Vertx, Settings, Future<Supplier<Future<Void>>>> starter) {
    CountDownLatch started = new CountDownLatch(1);
    Object[] outcome = {null};
    ConfigLoader.load(vertx, configFile)
        .compose(settings -> starter.apply(vertx, settings))
        .onComplete(ar -> {
          outcome[0] = ar.succeeded() ? ar.result() : ar.cause();
          started.countDown();
        });
    try {
      started.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    if (outcome[0] instanceof Throwable failure) {
      System.err.println("Cannot start: " + message(failure));
      vertx.close();
      return 2;
    }
    @SuppressWarnings("unchecked")
    Supplier<Future<Void>> stop = (Supplier<Future<Void>>) outcome[0];
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
