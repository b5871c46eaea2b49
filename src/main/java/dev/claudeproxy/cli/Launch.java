package dev.claudeproxy.cli;

import dev.claudeproxy.config.ConfigException;
import dev.claudeproxy.config.ConfigLoader;
import dev.claudeproxy.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiFunction;

/** Starts a long-running command on a fresh Vert.x and keeps the process alive until it is stopped. */
final class Launch {
  private Launch() {}

  /**
   * Loads the configuration, runs {@code starter}, and blocks until the JVM is asked to stop.
   *
   * @return the process exit code
   */
  static <T> int run(Path configFile, BiFunction<Vertx, Settings, Future<T>> starter) {
    Vertx vertx = Vertx.vertx();
    CountDownLatch started = new CountDownLatch(1);
    Throwable[] failure = {null};
    ConfigLoader.load(vertx, configFile)
        .compose(settings -> starter.apply(vertx, settings))
        .onComplete(ar -> {
          failure[0] = ar.cause();
          started.countDown();
        });
    try {
      started.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    if (failure[0] != null) {
      System.err.println("Cannot start: " + message(failure[0]));
      vertx.close();
      return 2;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      vertx.close().toCompletionStage().toCompletableFuture().join();
      stopped.countDown();
    }, "shutdown"));
    try {
      stopped.await();
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
