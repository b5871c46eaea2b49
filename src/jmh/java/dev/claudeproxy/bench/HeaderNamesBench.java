package dev.claudeproxy.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The header work of one streamed request, with header names and constant values as plain strings ({@code strings})
 * or as ASCII strings made once by {@code HttpHeaders.createOptimized} ({@code optimized}), as the proxy had them: the
 * two forwarded request headers looked up, and the client's response head built (the proxy's request id, the
 * upstream's request id and rate-limit headers passed on, the SSE headers) and encoded as the server writes it
 * ({@code HeadersMultiMap.encode}, Vert.x's internal API: the bench may use it, the proxy does not). One operation is
 * one request.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HeaderNamesBench {
  private static final List<String> PASSED = List.of("request-id", "anthropic-ratelimit-requests-limit",
      "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset",
      "anthropic-ratelimit-input-tokens-limit", "anthropic-ratelimit-input-tokens-remaining",
      "anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-output-tokens-limit",
      "anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-reset",
      "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset");
  private static final CharSequence[] PASSED_OPTIMIZED = PASSED.stream().map(HttpHeaders::createOptimized)
      .toArray(CharSequence[]::new);
  private static final CharSequence REQUEST_ID = HttpHeaders.createOptimized("request-id");
  private static final CharSequence[] FORWARDED = {HttpHeaders.createOptimized("anthropic-version"),
      HttpHeaders.createOptimized("anthropic-beta")};
  private static final CharSequence SSE_TYPE = HttpHeaders.createOptimized("text/event-stream; charset=utf-8");
  private static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");
  private static final CharSequence X_ACCEL_BUFFERING = HttpHeaders.createOptimized("x-accel-buffering");
  private static final CharSequence NO = HttpHeaders.createOptimized("no");

  private final MultiMap request = HeadersMultiMap.httpHeaders().add("host", "127.0.0.1:8080")
      .add("content-type", "application/json").add("x-api-key", "sk-proxy-0123456789")
      .add("anthropic-version", "2023-06-01").add("user-agent", "Anthropic/Java 2.1.0").add("accept", "*/*");
  private final ByteBuf out = Unpooled.buffer(4096);

  @Benchmark
  public int strings() {
    int found = request.getAll("anthropic-version").size() + request.getAll("anthropic-beta").size();
    HeadersMultiMap head = HeadersMultiMap.httpHeaders();
    head.set("request-id", "req_proxy_0123456789abcdef");
    for (String name : PASSED) {
      head.set(name, "12345");
    }
    head.set(HttpHeaders.CONTENT_TYPE, "text/event-stream; charset=utf-8").set(HttpHeaders.CACHE_CONTROL, "no-cache")
        .set("x-accel-buffering", "no");
    out.clear();
    head.encode(out, false);
    return found + out.writerIndex();
  }

  @Benchmark
  public int optimized() {
    int found = request.getAll(FORWARDED[0]).size() + request.getAll(FORWARDED[1]).size();
    HeadersMultiMap head = HeadersMultiMap.httpHeaders();
    head.set(REQUEST_ID, "req_proxy_0123456789abcdef");
    for (CharSequence name : PASSED_OPTIMIZED) {
      head.set(name, "12345");
    }
    head.set(HttpHeaders.CONTENT_TYPE, SSE_TYPE).set(HttpHeaders.CACHE_CONTROL, NO_CACHE).set(X_ACCEL_BUFFERING, NO);
    out.clear();
    head.encode(out, false);
    return found + out.writerIndex();
  }
}
