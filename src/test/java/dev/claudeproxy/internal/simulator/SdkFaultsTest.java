package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.AnthropicException;
import com.anthropic.errors.AnthropicServiceException;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.InternalServerException;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.SseException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/** Each fault scenario surfaces in the SDK as the exception the real API's failure would give. */
@Tag("sdk")
class SdkFaultsTest {
  private static Vertx vertx;
  private static Simulator sim;
  private static AnthropicClient noRetries;
  private static AnthropicClient defaultRetries;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    // retry-after 10 ms (SimTestSupport.fast) so that the SDK's retries cost next to nothing.
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withApiKey(SdkSupport.KEY).withOutputTokens(20));
    noRetries = SdkSupport.client(sim, 0);
    defaultRetries = AnthropicOkHttpClient.builder().baseUrl(sim.baseUrl()).apiKey(SdkSupport.KEY).build();
  }

  @AfterAll
  static void tearDown() {
    noRetries.close();
    defaultRetries.close();
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  private static MessageCreateParams params(String prompt, String scenario) {
    MessageCreateParams.Builder b = MessageCreateParams.builder().model("claude-sonnet-4-5").maxTokens(1024)
        .addUserMessage(prompt);
    if (scenario != null) {
      b.putAdditionalHeader("x-sim-scenario", scenario);
    }
    return b.build();
  }

  /** Streams to the end through the accumulator, as an application would. */
  private static Message streamFully(AnthropicClient client, MessageCreateParams p, AtomicInteger events) {
    MessageAccumulator acc = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> s = client.messages().createStreaming(p)) {
      s.stream().forEach(e -> {
        events.incrementAndGet();
        acc.accumulate(e);
      });
    }
    return acc.message();
  }

  @Test
  void overloadedIs529() {
    InternalServerException e = assertThrows(InternalServerException.class,
        () -> streamFully(noRetries, params("overloaded", "overloaded"), new AtomicInteger()));
    assertEquals(529, e.statusCode());
    assertEquals("overloaded_error", errorType(e));
    assertEquals("0.01", e.headers().values("retry-after").get(0));
    assertEquals("10", e.headers().values("retry-after-ms").get(0));
    if (SdkSupport.sdkLine().equals("3")) {
      assertEquals("OverloadedException", e.getClass().getSimpleName(), "3.12 has a class of its own for 529");
    }
    assertThrows(InternalServerException.class, () -> noRetries.messages().create(params("x", "overloaded")));
  }

  @Test
  void rateLimitedIs429() {
    RateLimitException e = assertThrows(RateLimitException.class,
        () -> streamFully(noRetries, params("limit", "rate_limited"), new AtomicInteger()));
    assertEquals(429, e.statusCode());
    assertEquals("rate_limit_error", errorType(e));
    assertEquals("0", e.headers().values("anthropic-ratelimit-requests-remaining").get(0));
  }

  @Test
  void serverErrorIs500() {
    InternalServerException e = assertThrows(InternalServerException.class,
        () -> noRetries.messages().create(params("boom", "server_error")));
    assertEquals(500, e.statusCode());
    assertEquals("api_error", errorType(e));
  }

  @Test
  void midstreamErrorIsAnSseException() {
    AtomicInteger events = new AtomicInteger();
    SseException e = assertThrows(SseException.class,
        () -> streamFully(noRetries, params("midstream", "midstream_error"), events));
    assertEquals(200, e.statusCode());
    assertTrue(String.valueOf(e.getMessage()).contains("Overloaded") || errorType(e).equals("overloaded_error"),
        "the SSE error's type or message reaches the caller: " + e.getMessage());
    // message_start, block start, three deltas: then the error.
    assertEquals(5, events.get());
  }

  @Test
  void disconnectFailsTheStream() {
    AtomicInteger events = new AtomicInteger();
    AnthropicException e = assertThrows(AnthropicException.class,
        () -> streamFully(noRetries, params("disconnect", "disconnect"), events));
    assertFalse(e instanceof AnthropicServiceException && ((AnthropicServiceException) e).statusCode() != 200,
        "not an HTTP status error: " + e);
    assertTrue(events.get() <= 5, "no events after the cut");
  }

  @Test
  void failThenSucceedRecoversWithTheDefaultRetries() {
    long errors = sim.stats().errors();
    long started = System.nanoTime();
    Message m = streamFully(defaultRetries, params("flaky " + SdkSupport.sdkLine(), "fail_then_succeed:2"),
        new AtomicInteger());
    assertEquals(20, m.usage().outputTokens());
    assertEquals(2, sim.stats().errors() - errors, "two 529s before the success");
    assertTrue(Duration.ofNanos(System.nanoTime() - started).toMillis() < 5000, "a 10 ms retry-after keeps it fast");
    // Three failures are one too many for two retries.
    InternalServerException e = assertThrows(InternalServerException.class,
        () -> defaultRetries.messages().create(params("flakier " + SdkSupport.sdkLine(), "fail_then_succeed:3")));
    assertEquals(529, e.statusCode());
  }

  @Test
  void shouldRetryFalseStopsTheSdkRetrying() {
    long errors = sim.stats().errors();
    MessageCreateParams p = MessageCreateParams.builder().model("claude-sonnet-4-5").maxTokens(100)
        .addUserMessage("no retry").putAdditionalHeader("x-sim-scenario", "overloaded")
        .putAdditionalHeader("x-sim-should-retry", "false").build();
    InternalServerException e = assertThrows(InternalServerException.class,
        () -> defaultRetries.messages().create(p));
    assertEquals("false", e.headers().values("x-should-retry").get(0));
    assertEquals(1, sim.stats().errors() - errors, "one attempt only");
  }

  @Test
  void callerMistakesMapToTheirExceptions() {
    assertThrows(UnauthorizedException.class, () -> AnthropicOkHttpClient.builder().baseUrl(sim.baseUrl())
        .apiKey("wrong").maxRetries(0).build().messages().create(params("auth", null)));
    assertThrows(NotFoundException.class, () -> noRetries.messages().create(MessageCreateParams.builder()
        .model("imaginary-model-1").maxTokens(10).addUserMessage("x").build()));
    BadRequestException bad = assertThrows(BadRequestException.class, () -> noRetries.messages().create(
        MessageCreateParams.builder().model("claude-haiku-4-5").maxTokens(100_000).addUserMessage("x")
            .build()));
    assertEquals("invalid_request_error", errorType(bad));
  }

  private static String errorType(AnthropicServiceException e) {
    return assertInstanceOf(java.util.Map.class, e.body().convert(java.util.Map.class).get("error") == null
        ? java.util.Map.of("type", "") : e.body().convert(java.util.Map.class).get("error")).get("type").toString();
  }
}
