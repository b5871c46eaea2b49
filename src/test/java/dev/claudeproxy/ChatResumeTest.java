package dev.claudeproxy;

import static dev.claudeproxy.ChatBrowser.browser;
import static dev.claudeproxy.ChatBrowser.lastAnswer;
import static dev.claudeproxy.ChatBrowser.rendered;
import static dev.claudeproxy.ChatBrowser.request;
import static dev.claudeproxy.ChatBrowser.requireBrowser;
import static dev.claudeproxy.ChatBrowser.shot;
import static dev.claudeproxy.ChatBrowser.signIn;
import static dev.claudeproxy.ChatBrowser.waiting;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * The chat page's answers outlive a dropped connection and a reload: in headless Chromium, with a {@link TcpRelay}
 * between the browser and the proxy that the test cuts (every connection closed, new ones refused) while DevTools
 * takes the browser offline (an offline emulation alone leaves an open fetch stream alone), then restores both.
 */
@Tag("browser")
class ChatResumeTest {
  private static final Map<String, Object> STACK = Map.of("SIM_TTFT_MS", 300, "SIM_TOKENS_PER_SECOND", 40,
      "SIM_OUTPUT_TOKENS", 160);
  private static final String CONVERSATION = "claude-stream-proxy.conversation";
  private static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    requireBrowser();
    stack = TestStack.start(STACK);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  /** The network down (relay cut, browser offline) or back up. */
  private static void network(ChromeDriver driver, TcpRelay relay, boolean up) {
    if (up) {
      relay.restore();
    } else {
      relay.cut();
    }
    driver.executeCdpCommand("Network.enable", Map.of());
    driver.executeCdpCommand("Network.emulateNetworkConditions", Map.of("offline", !up, "latency", 0,
        "downloadThroughput", -1, "uploadThroughput", -1));
  }

  /** The simulator's text for one user turn, as the page renders it. */
  private static Object expected(WebDriver driver, TestStack target, Map<String, Object> settings, String prompt) {
    String model = driver.findElement(By.id("model")).getAttribute("value");
    JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt));
    return rendered(driver, ReplyPlan.of(request(model, messages), SimulatorConfig.from(TestStack.settings(settings)))
        .text());
  }

  private static String html(WebElement answer) {
    return answer.findElement(By.className("answer")).getAttribute("innerHTML");
  }

  private static String text(WebElement answer) {
    return answer.findElement(By.className("answer")).getText();
  }

  /** The answer stored for a reload to pick up, or null. */
  private static Object pending(ChromeDriver driver) {
    return driver.executeScript("return JSON.parse(sessionStorage.getItem(arguments[0]))?.pending ?? null",
        CONVERSATION);
  }

  private static void waitReconnecting(WebDriver driver) {
    WebElement line = waiting(driver, 10).until(d -> d.findElements(By.id("reconnecting")).stream()
        .filter(WebElement::isDisplayed).findFirst().orElse(null));
    assertEquals("Connection lost — reconnecting…", line.getText());
    assertEquals("status", line.getAttribute("role"));
  }

  /** The answer's usage is the simulator's 160 output tokens, and the totals (of this one answer) are its usage. */
  private static void assertCountedOnce(WebDriver driver, WebElement answer) {
    String tokens = answer.findElement(By.cssSelector(".meta .tokens")).getText();
    assertTrue(tokens.matches("[1-9]\\d* in · 160 out"), tokens);
    assertEquals(tokens, driver.findElement(By.id("totals")).getText(), "usage counted once in the totals");
  }

  @Test
  void aDroppedConnectionReconnectsAndTheAnswerEndsAsTheSimulatorsText() throws Exception {
    long cancelledBefore = stack.simulator.stats().streamsCancelled();
    ChromeDriver driver = browser();
    try (TcpRelay relay = TcpRelay.start(stack.vertx, stack.proxy.port())) {
      signIn(driver, relay.url(), stack.callerKey);
      driver.findElement(By.id("message")).sendKeys("through a tunnel", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> text(answer).length() > 30);

      network(driver, relay, false);
      waitReconnecting(driver);
      shot(driver, "20-reconnecting");
      String before = text(answer);
      Thread.sleep(1500);
      assertEquals(before, text(answer), "nothing arrives while the network is down");
      assertFalse(driver.findElements(By.id("reconnecting")).isEmpty(), "still reconnecting");
      assertNull(answer.getAttribute("data-status"), "the answer is still open");

      network(driver, relay, true);
      waiting(driver, 5).until(d -> d.findElements(By.id("reconnecting")).isEmpty());
      waiting(driver, 15).until(d -> "done".equals(answer.getAttribute("data-status")));
      shot(driver, "21-reconnected-done");
      assertEquals(expected(driver, stack, STACK, "through a tunnel"), html(answer),
          "the answer is the simulator's text, nothing repeated or missing");
      assertCountedOnce(driver, answer);
      assertFalse(driver.findElement(By.id("banner")).isDisplayed());
      assertTrue(relay.count("GET /v1/streams/") >= 1, relay.requests().toString());
      assertEquals(cancelledBefore, stack.simulator.stats().streamsCancelled(), "the upstream was never cancelled");
      assertNull(pending(driver), "nothing left to pick up");
    } finally {
      driver.quit();
    }
  }

  @Test
  void aReloadDuringAnAnswerPicksItUpAgain() throws Exception {
    long cancelledBefore = stack.simulator.stats().streamsCancelled();
    ChromeDriver driver = browser();
    try {
      signIn(driver, stack, stack.callerKey);
      driver.findElement(By.id("message")).sendKeys("reload me", Keys.ENTER);
      waiting(driver, 10).until(d -> text(lastAnswer(d)).length() > 30);
      waiting(driver, 5).until(d -> pending((ChromeDriver) d) != null);
      @SuppressWarnings("unchecked")
      Map<String, Object> stored = (Map<String, Object>) pending(driver);
      assertNotNull(stored.get("streamId"), stored.toString());

      driver.navigate().refresh();
      waiting(driver, 10).until(d -> d.findElement(By.id("account")).isDisplayed()
          && !d.findElements(By.cssSelector(".turn.assistant")).isEmpty());
      shot(driver, "22-picked-up-after-reload");
      waiting(driver, 15).until(d -> "done".equals(lastAnswer(d).getAttribute("data-status")));
      assertEquals(1, driver.findElements(By.cssSelector(".turn.user")).size());
      assertEquals(1, driver.findElements(By.cssSelector(".turn.assistant")).size());
      assertEquals(expected(driver, stack, STACK, "reload me"), html(lastAnswer(driver)));
      assertCountedOnce(driver, lastAnswer(driver));
      assertEquals(cancelledBefore, stack.simulator.stats().streamsCancelled(), "the upstream was never cancelled");
      assertNull(pending(driver), "nothing left to pick up");

      // The picked-up answer is in the history the next turn sends: the simulator's reply depends on all of it.
      driver.findElement(By.id("message")).sendKeys("and then?", Keys.ENTER);
      waiting(driver, 15).until(d -> d.findElements(By.cssSelector(".turn.assistant[data-status='done']")).size() == 2);
      String model = driver.findElement(By.id("model")).getAttribute("value");
      SimulatorConfig sim = SimulatorConfig.from(TestStack.settings(STACK));
      JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content", "reload me"));
      String first = ReplyPlan.of(request(model, messages), sim).text();
      messages.add(new JsonObject().put("role", "assistant").put("content", first))
          .add(new JsonObject().put("role", "user").put("content", "and then?"));
      assertEquals(rendered(driver, ReplyPlan.of(request(model, messages), sim).text()), html(lastAnswer(driver)));
      assertTrue(driver.findElement(By.id("totals")).getText().endsWith(" in · 320 out"));
    } finally {
      driver.quit();
    }
  }

  @Test
  void anAnswerGoneWhileTheNetworkWasDownIsNoLongerAvailableAndRetryAsksAgain() throws Exception {
    // A stream that no one comes back to within half a second is cancelled, and forgotten at once when it ends.
    Map<String, Object> settings = new HashMap<>(STACK);
    settings.put("PROXY_RESUME_GRACE_MS", 500);
    settings.put("PROXY_RESUME_TTL_MS", 0);
    try (TestStack forgetful = TestStack.start(settings);
        TcpRelay relay = TcpRelay.start(forgetful.vertx, forgetful.proxy.port())) {
      ChromeDriver driver = browser();
      try {
        signIn(driver, relay.url(), forgetful.callerKey);
        driver.findElement(By.id("message")).sendKeys("gone too long", Keys.ENTER);
        WebElement answer = lastAnswer(driver);
        waiting(driver, 10).until(d -> text(answer).length() > 30);
        network(driver, relay, false);
        waitReconnecting(driver);
        String partial = text(answer);
        Wire.waitFor(() -> forgetful.simulator.stats().streamsCancelled() == 1, "the grace expiry");
        network(driver, relay, true);

        waiting(driver, 15).until(d -> d.findElement(By.id("banner")).isDisplayed());
        String banner = driver.findElement(By.id("banner-text")).getText();
        assertTrue(banner.contains("no longer available"), banner);
        assertTrue(driver.findElement(By.id("retry")).isDisplayed());
        assertEquals("error", answer.getAttribute("data-status"));
        assertEquals(partial, text(answer), "the partial answer stays");
        assertTrue(driver.findElements(By.id("reconnecting")).isEmpty());
        assertNull(pending(driver));
        shot(driver, "23-no-longer-available");
        long asked = forgetful.simulator.stats().requests();

        driver.findElement(By.id("retry")).click();
        waiting(driver, 15).until(d -> d.findElements(By.cssSelector(".turn.assistant")).size() == 2
            && "done".equals(lastAnswer(d).getAttribute("data-status")));
        assertEquals(asked + 1, forgetful.simulator.stats().requests(), "Retry asked again");
        assertEquals(expected(driver, forgetful, settings, "gone too long"), html(lastAnswer(driver)));
        assertEquals(1, driver.findElements(By.cssSelector(".turn.user")).size(), "the same turn, asked again");
      } finally {
        driver.quit();
      }
    }
  }

  @Test
  void stopWhileReconnectingEndsTheRetriesAndCancelsTheUpstream() throws Exception {
    long cancelledBefore = stack.simulator.stats().streamsCancelled();
    ChromeDriver driver = browser();
    try (TcpRelay relay = TcpRelay.start(stack.vertx, stack.proxy.port())) {
      signIn(driver, relay.url(), stack.callerKey);
      driver.findElement(By.id("message")).sendKeys("stop in the tunnel", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> text(answer).length() > 30);
      network(driver, relay, false);
      waitReconnecting(driver);
      driver.findElement(By.id("stop")).click();
      waiting(driver, 5).until(d -> "stopped".equals(answer.getAttribute("data-status")));
      assertTrue(driver.findElements(By.id("reconnecting")).isEmpty());
      String partial = text(answer);
      assertEquals(0, relay.count("GET /v1/streams/"), relay.requests().toString());

      // The Stop could not reach the proxy while the network was down: it goes as soon as the network is back.
      network(driver, relay, true);
      Wire.waitFor(() -> stack.simulator.stats().streamsCancelled() == cancelledBefore + 1, "the upstream cancel");
      Thread.sleep(1500); // a reconnect still going would have tried by now: coming online wakes it
      assertEquals(0, relay.count("GET /v1/streams/"), "no reconnect after Stop: " + relay.requests());
      assertEquals(1, relay.count("DELETE /v1/streams/"), relay.requests().toString());
      assertEquals(partial, text(answer));
      assertEquals("stopped", answer.getAttribute("data-status"));
      assertFalse(driver.findElement(By.id("banner")).isDisplayed());
      assertNull(pending(driver));
    } finally {
      driver.quit();
    }
  }

  /**
   * While the network is down the page tries again after its first wait, then after waits that double up to the
   * longest (0.5 s to 8 s; 0.1 s to 1.6 s here), as the page's fetches of the stream show.
   */
  @Test
  void reconnectAttemptsBackOffDoublingUpToTheLongestWait() throws Exception {
    ChromeDriver driver = browser();
    try (TcpRelay relay = TcpRelay.start(stack.vertx, stack.proxy.port())) {
      signIn(driver, relay.url(), stack.callerKey);
      assertEquals(List.of(500L, 8000L, 60000L),
          driver.executeScript("return [RECONNECT.firstDelayMs, RECONNECT.maxDelayMs, RECONNECT.giveUpMs]"));
      driver.executeScript("RECONNECT.firstDelayMs = 100; RECONNECT.maxDelayMs = 1600;"
          + "window.attempts = []; const fetched = window.fetch;"
          + "window.fetch = (url, init) => {"
          + "  if (String(url).includes('v1/streams/') && !init?.method) window.attempts.push(performance.now());"
          + "  return fetched(url, init);"
          + "};");
      driver.findElement(By.id("message")).sendKeys("a long tunnel", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> text(answer).length() > 30);
      network(driver, relay, false);
      waitReconnecting(driver);
      waiting(driver, 20).until(d -> ((Number) driver.executeScript("return window.attempts.length")).intValue()
          >= 7);
      List<?> at = (List<?>) driver.executeScript("return window.attempts");
      long[] expected = {200, 400, 800, 1600, 1600, 1600};
      for (int i = 0; i < expected.length; i++) {
        double gap = ((Number) at.get(i + 1)).doubleValue() - ((Number) at.get(i)).doubleValue();
        assertTrue(gap >= expected[i] - 5 && gap < expected[i] + 500,
            "wait " + (i + 1) + " was " + Math.round(gap) + " ms, not about " + expected[i] + ": " + at);
      }
      network(driver, relay, true);
      waiting(driver, 15).until(d -> "done".equals(answer.getAttribute("data-status")));
      assertEquals(expected(driver, stack, STACK, "a long tunnel"), html(answer),
          "the answer is the simulator's text, nothing repeated or missing");
    } finally {
      driver.quit();
    }
  }

  @Test
  void aNetworkThatStaysDownEndsInABannerWhoseRetryAsksAgain() throws Exception {
    ChromeDriver driver = browser();
    try (TcpRelay relay = TcpRelay.start(stack.vertx, stack.proxy.port())) {
      signIn(driver, relay.url(), stack.callerKey);
      // Three seconds instead of a minute, for the test.
      driver.executeScript("RECONNECT.giveUpMs = 3000");
      driver.findElement(By.id("message")).sendKeys("a long night", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> text(answer).length() > 30);
      long started = System.nanoTime();
      network(driver, relay, false);
      waitReconnecting(driver);
      waiting(driver, 10).until(d -> d.findElement(By.id("banner")).isDisplayed());
      long tookMs = (System.nanoTime() - started) / 1_000_000;
      assertTrue(tookMs >= 2500, "gave up after " + tookMs + " ms");
      String banner = driver.findElement(By.id("banner-text")).getText();
      assertTrue(banner.contains("could not be restored"), banner);
      assertEquals("error", answer.getAttribute("data-status"));
      assertTrue(driver.findElements(By.id("reconnecting")).isEmpty());
      assertTrue(driver.findElement(By.id("retry")).isDisplayed());
      assertNull(pending(driver));
      network(driver, relay, true);
      driver.findElement(By.id("retry")).click();
      waiting(driver, 15).until(d -> d.findElements(By.cssSelector(".turn.assistant")).size() == 2
          && "done".equals(lastAnswer(d).getAttribute("data-status")));
      assertEquals(expected(driver, stack, STACK, "a long night"), html(lastAnswer(driver)));
    } finally {
      driver.quit();
    }
  }
}
