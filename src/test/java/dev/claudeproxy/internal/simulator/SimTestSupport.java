package dev.claudeproxy.internal.simulator;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Shared helpers for the simulator tests: blocking waits, a fast configuration and a plain HTTP client. */
final class SimTestSupport {
  static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  private SimTestSupport() {
  }

  /**
   * Runs Vert.x client work on one event loop context and waits for it: the response future then completes on the
   * loop that reads the connection, before any body chunk, so a chunk handler set in it cannot miss a fast body.
   */
  static <T> T onLoop(Context context, Supplier<Future<T>> work) {
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> work.get().onComplete(done));
    return await(done.future());
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("future did not complete: " + e, e);
    }
  }

  /** Random port, one event loop, no delays, instant retries: tests that are not about timing stay fast. */
  static SimulatorConfig fast() {
    return SimulatorConfig.defaults().withPort(0).withInstances(1).withTiming(0, 0, 0).withRetryAfterSeconds(0.01);
  }

  static Simulator start(Vertx vertx, SimulatorConfig config) {
    return await(Simulator.start(vertx, config));
  }

  static JsonObject request(String model, int maxTokens, String userText) {
    return new JsonObject()
        .put("model", model)
        .put("max_tokens", maxTokens)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", userText)));
  }

  /** A POST with the given headers (name, value pairs); anthropic-version 2023-06-01 unless one is given. */
  static HttpResponse<String> post(Simulator sim, String path, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sim.baseUrl() + path))
        .timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    boolean version = false;
    for (int i = 0; i < headers.length; i += 2) {
      if (headers[i].equalsIgnoreCase("anthropic-version")) {
        version = true;
        if (headers[i + 1] == null) {
          continue;
        }
      }
      b.header(headers[i], headers[i + 1]);
    }
    if (!version) {
      b.header("anthropic-version", "2023-06-01");
    }
    b.header("content-type", "application/json");
    return send(b.build());
  }

  static HttpResponse<String> get(Simulator sim, String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sim.baseUrl() + path)).timeout(Duration.ofSeconds(20));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.build());
  }

  static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError("request failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Polls until the condition holds or the time is up; returns whether it held. */
  static boolean eventually(long timeoutMs, java.util.function.BooleanSupplier condition) {
    long end = System.nanoTime() + timeoutMs * 1_000_000;
    while (System.nanoTime() < end) {
      if (condition.getAsBoolean()) {
        return true;
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return condition.getAsBoolean();
  }
}
