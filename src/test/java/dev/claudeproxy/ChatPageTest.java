package dev.claudeproxy;

import static dev.claudeproxy.ChatBrowser.browser;
import static dev.claudeproxy.ChatBrowser.label;
import static dev.claudeproxy.ChatBrowser.lastAnswer;
import static dev.claudeproxy.ChatBrowser.request;
import static dev.claudeproxy.ChatBrowser.requireBrowser;
import static dev.claudeproxy.ChatBrowser.shot;
import static dev.claudeproxy.ChatBrowser.signIn;
import static dev.claudeproxy.ChatBrowser.waiting;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.server.ProxyServer;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import dev.claudeproxy.internal.users.ApiKeys;
import dev.claudeproxy.internal.users.UsersFile;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.Select;

/**
 * The chat page in a real headless Chromium (Debian's, driven through its chromedriver), against the real proxy and
 * the simulator. Screenshots go to {@code target/screenshots}.
 */
@Tag("browser")
class ChatPageTest {
  private static final Map<String, Object> STACK = Map.of("SIM_TTFT_MS", 500, "SIM_TOKENS_PER_SECOND", 40,
      "SIM_OUTPUT_TOKENS", 80);
  private static TestStack stack;
  private static TestStack failing;

  @BeforeAll
  static void start() throws Exception {
    requireBrowser();
    stack = TestStack.start(STACK);
    failing = TestStack.start(Map.of("SIM_TTFT_MS", 100, "SIM_TOKENS_PER_SECOND", 40, "SIM_OUTPUT_TOKENS", 80,
        "SIM_SCENARIO", "midstream_error", "SIM_FAULT_AFTER_DELTAS", 12));
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
    if (failing != null) {
      failing.close();
    }
  }

  @Test
  void streamsAnAnswerThatEndsAsTheSimulatorsText() throws Exception {
    WebDriver driver = browser();
    try {
      signIn(driver, stack, stack.callerKey);
      shot(driver, "1-signed-in");
      WebElement message = driver.findElement(By.id("message"));
      assertEquals("Message", label(driver, message));
      message.sendKeys("first line", Keys.chord(Keys.SHIFT, Keys.ENTER), "second line");
      assertEquals("first line\nsecond line", message.getAttribute("value"), "Shift+Enter is a new line");
      message.sendKeys(Keys.ENTER);

      waiting(driver, 5).until(d -> !d.findElements(By.cssSelector(".turn.assistant .typing")).isEmpty());
      shot(driver, "2-typing");
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> answer.findElement(By.className("answer")).getText().length() > 20);
      int early = answer.findElement(By.className("answer")).getText().length();
      shot(driver, "3-streaming");
      waiting(driver, 15).until(d -> "done".equals(answer.getAttribute("data-status")));
      assertTrue(answer.findElement(By.className("answer")).getText().length() > early, "the text grew");
      shot(driver, "4-done");

      String model = driver.findElement(By.id("model")).getAttribute("value");
      JsonObject sent = new JsonObject().put("model", model).put("max_tokens", 1024).put("stream", true)
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user")
              .put("content", "first line\nsecond line")));
      String expected = ReplyPlan.of(sent, SimulatorConfig.from(TestStack.settings(STACK))).text();
      Object rendered = ((JavascriptExecutor) driver).executeScript(
          "return DOMPurify.sanitize(marked.parse(arguments[0], {gfm: true, breaks: false}))", expected);
      assertEquals(rendered, answer.findElement(By.className("answer")).getAttribute("innerHTML"),
          "the final answer is the simulator's text, rendered");
      String meta = answer.findElement(By.className("meta")).getText();
      assertTrue(meta.matches("(?s).*first token in \\d+ ms.*"), meta);
      assertTrue(meta.matches("(?s).*\\d+ in · 80 out.*"), meta);
      assertTrue(driver.findElement(By.id("totals")).getText().endsWith("80 out"));
      assertEquals(stack.callerKey, ((JavascriptExecutor) driver).executeScript(
          "return sessionStorage.getItem('claude-stream-proxy.key')"), "the key is kept for the session");
      assertFalse(driver.getCurrentUrl().contains(stack.callerKey), "never in a URL");

      // A second turn carries the first: the conversation is multi-turn.
      driver.findElement(By.id("message")).sendKeys("and then?", Keys.ENTER);
      waiting(driver, 15).until(d -> d.findElements(By.cssSelector(".turn.assistant[data-status='done']")).size() == 2);
      assertTrue(driver.findElement(By.id("totals")).getText().endsWith("160 out"));
    } finally {
      driver.quit();
    }
  }

  @Test
  void autoScrollFollowsUntilTheReaderScrollsUpAndResumesAtTheBottom() throws Exception {
    WebDriver driver = browser("1000,460");
    JavascriptExecutor js = (JavascriptExecutor) driver;
    try {
      signIn(driver, stack, stack.callerKey);
      WebElement message = driver.findElement(By.id("message"));
      for (int i = 1; i <= 12; i++) {
        message.sendKeys("line " + i, Keys.chord(Keys.SHIFT, Keys.ENTER));
      }
      message.sendKeys("a tall question", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> answer.findElement(By.className("answer")).getText().length() > 20);
      assertEquals(Boolean.TRUE, js.executeScript("return atBottom()"), "following the stream");
      js.executeScript("const log = document.getElementById('log'); log.scrollTop = 0;"
          + " log.dispatchEvent(new Event('scroll'));");
      int before = answer.findElement(By.className("answer")).getText().length();
      waiting(driver, 10).until(d -> answer.findElement(By.className("answer")).getText().length() > before + 20);
      assertEquals(0L, ((Number) js.executeScript("return document.getElementById('log').scrollTop")).longValue(),
          "the reader's place is kept");
      WebElement jump = driver.findElement(By.id("jump"));
      assertTrue(jump.isDisplayed());
      shot(driver, "9-scrolled-up");
      jump.click();
      assertEquals(Boolean.TRUE, js.executeScript("return atBottom()"));
      waiting(driver, 15).until(d -> "done".equals(answer.getAttribute("data-status")));
      assertEquals(Boolean.TRUE, js.executeScript("return atBottom()"), "following again to the end");
    } finally {
      driver.quit();
    }
  }

  @Test
  void showsThinkingCollapsedBehindAToggle() throws Exception {
    WebDriver driver = browser();
    try {
      signIn(driver, stack, stack.callerKey);
      driver.findElement(By.id("think")).click();
      driver.findElement(By.id("message")).sendKeys("think about it", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      // While thinking streams, it says so (animated); the answer has no text yet.
      WebElement live = waiting(driver, 10).until(d -> d.findElements(By.cssSelector("details.thinking summary.live"))
          .stream().findFirst().orElse(null));
      assertTrue(live.getText().startsWith("Thinking"), live.getText());
      assertFalse("none".equals(((JavascriptExecutor) driver).executeScript(
          "return getComputedStyle(arguments[0]).animationName", live)), "the indicator moves");
      shot(driver, "8a-thinking-live");
      waiting(driver, 15).until(d -> !answer.findElement(By.className("answer")).getText().isEmpty());
      assertTrue(answer.findElements(By.cssSelector("summary.live")).isEmpty(), "it stops when the text starts");
      waiting(driver, 15).until(d -> "done".equals(answer.getAttribute("data-status")));
      WebElement thinking = answer.findElement(By.cssSelector("details.thinking"));
      assertTrue(thinking.findElement(By.tagName("summary")).getText().matches("Thought for \\d+\\.\\d s"),
          thinking.findElement(By.tagName("summary")).getText());
      assertEquals(null, thinking.getAttribute("open"), "collapsed");
      assertFalse(thinking.findElement(By.className("thought")).isDisplayed());
      thinking.findElement(By.tagName("summary")).click();
      assertTrue(thinking.findElement(By.className("thought")).getText().length() > 10);
      assertFalse(answer.findElement(By.className("answer")).getText().isBlank());
      shot(driver, "8-thinking");
    } finally {
      driver.quit();
    }
  }

  @Test
  void escapeStopsTheAnswerKeepsItAndCancelsUpstream() throws Exception {
    long cancelledBefore = stack.simulator.stats().streamsCancelled();
    WebDriver driver = browser();
    try {
      signIn(driver, stack, stack.callerKey);
      driver.findElement(By.id("message")).sendKeys("tell me a long story", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> answer.findElement(By.className("answer")).getText().length() > 30);
      driver.findElement(By.id("message")).sendKeys(Keys.ESCAPE);
      waiting(driver, 5).until(d -> "stopped".equals(answer.getAttribute("data-status")));
      String partial = answer.findElement(By.className("answer")).getText();
      assertFalse(partial.isBlank(), "the partial answer stays");
      assertEquals("stopped", answer.findElement(By.cssSelector(".badge")).getText());
      Wire.waitFor(() -> stack.simulator.stats().streamsCancelled() == cancelledBefore + 1, "the upstream cancel");
      shot(driver, "5-stopped");
      assertEquals(partial, answer.findElement(By.className("answer")).getText(), "nothing more arrived");
    } finally {
      driver.quit();
    }
  }

  @Test
  void aMidStreamErrorShowsABannerAndKeepsThePartialText() throws Exception {
    WebDriver driver = browser();
    try {
      signIn(driver, failing, failing.callerKey);
      driver.findElement(By.id("message")).sendKeys("this will break", Keys.ENTER);
      WebElement answer = lastAnswer(driver);
      waiting(driver, 10).until(d -> d.findElement(By.id("banner")).isDisplayed());
      String bannerText = driver.findElement(By.id("banner-text")).getText();
      assertTrue(bannerText.contains("overloaded_error"), bannerText);
      assertEquals("error", answer.getAttribute("data-status"));
      assertFalse(answer.findElement(By.className("answer")).getText().isBlank(), "partial text kept");
      shot(driver, "6-error-banner");
      driver.findElement(By.id("retry")).click();
      waiting(driver, 10).until(d -> d.findElements(By.cssSelector(".turn.assistant")).size() == 2);
    } finally {
      driver.quit();
    }
  }

  @Test
  void signsInAgainstTheProxyAndPicksTheConfiguredModel() throws Exception {
    WebDriver driver = browser();
    try {
      // The simulator lists Opus first; the page still starts on the configured default.
      signIn(driver, stack, stack.callerKey);
      waiting(driver, 10).until(d -> d.findElements(By.cssSelector("#model option")).size() > 1);
      assertEquals(stack.proxy.config().chatModel(), new Select(driver.findElement(By.id("model")))
          .getFirstSelectedOption().getAttribute("value"));
    } finally {
      driver.quit();
    }

    // An upstream without a model listing (404), and one that is down: signing in works, on PROXY_CHAT_MODEL.
    Vertx unlisted = Vertx.vertx();
    List<String> modelsAsked = new CopyOnWriteArrayList<>();
    HttpServer noListing = TestStack.await(unlisted.createHttpServer().requestHandler(req -> {
      if (req.path().startsWith("/v1/models")) {
        req.response().setStatusCode(404).putHeader("content-type", "application/json")
            .end("{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"Not found\"}}");
        return;
      }
      req.body().onSuccess(b -> {
        modelsAsked.add(new JsonObject(b).getString("model"));
        req.response().putHeader("content-type", "text/event-stream; charset=utf-8").end(sse("Hello from here"));
      });
    }).listen(0, "127.0.0.1"));
    Vertx down = Vertx.vertx();
    HttpServer closed = TestStack.await(down.createHttpServer().requestHandler(req -> { }).listen(0, "127.0.0.1"));
    int downPort = closed.actualPort();
    TestStack.await(closed.close());
    Map<String, Object> haiku = Map.of("PROXY_CHAT_MODEL", "claude-haiku-4-5", "UPSTREAM_MAX_ATTEMPTS", 1);
    try (TestStack withoutListing = TestStack.inFrontOf(unlisted, noListing.actualPort(), haiku);
        TestStack upstreamDown = TestStack.inFrontOf(down, downPort, haiku)) {
      for (TestStack target : List.of(withoutListing, upstreamDown)) {
        WebDriver page = browser();
        try {
          signIn(page, target, target.callerKey);
          assertEquals("claude-haiku-4-5", page.findElement(By.id("model")).getAttribute("value"));
          if (target == withoutListing) {
            page.findElement(By.id("message")).sendKeys("hello", Keys.ENTER);
            WebElement answer = lastAnswer(page);
            waiting(page, 10).until(d -> "done".equals(answer.getAttribute("data-status")));
            assertEquals("Hello from here", answer.findElement(By.className("answer")).getText());
            assertEquals(List.of("claude-haiku-4-5"), modelsAsked);
          }
        } finally {
          page.quit();
        }
      }
    }
  }

  @Test
  void anUpstreamErrorBeforeAnyTextShowsABannerWhoseRetrySendsTheTurnAgain() throws Exception {
    // The first attempt of each request is refused with 529; the proxy does not retry it itself.
    try (TestStack flaky = TestStack.start(Map.of("SIM_TTFT_MS", 100, "SIM_OUTPUT_TOKENS", 30,
        "SIM_SCENARIO", "fail_then_succeed:1", "UPSTREAM_MAX_ATTEMPTS", 1))) {
      WebDriver driver = browser();
      try {
        signIn(driver, flaky, flaky.callerKey);
        driver.findElement(By.id("message")).sendKeys("are you there?", Keys.ENTER);
        waiting(driver, 10).until(d -> d.findElement(By.id("banner")).isDisplayed());
        String bannerText = driver.findElement(By.id("banner-text")).getText();
        assertTrue(bannerText.contains("overloaded_error"), bannerText);
        assertTrue(driver.findElement(By.id("retry")).isDisplayed());
        assertTrue(driver.findElements(By.cssSelector(".turn.assistant")).isEmpty(), "no empty bubble");
        assertEquals(1, driver.findElements(By.cssSelector(".turn.user")).size());
        shot(driver, "10-error-before-text");

        driver.findElement(By.id("retry")).click();
        waiting(driver, 10).until(d -> !d.findElements(By.cssSelector(".turn.assistant[data-status='done']"))
            .isEmpty());
        assertFalse(driver.findElement(By.id("banner")).isDisplayed());
        assertEquals(1, driver.findElements(By.cssSelector(".turn.assistant")).size());
        assertEquals(1, driver.findElements(By.cssSelector(".turn.user")).size(), "the same turn, asked again");
        assertFalse(lastAnswer(driver).findElement(By.className("answer")).getText().isBlank());
        // fail_then_succeed lets only the second attempt of the same request through: Retry sent that request.
      } finally {
        driver.quit();
      }
    }
  }

  @Test
  void theConversationSurvivesAReloadOfTheTab() throws Exception {
    WebDriver driver = browser();
    JavascriptExecutor js = (JavascriptExecutor) driver;
    try {
      signIn(driver, stack, stack.callerKey);
      driver.findElement(By.id("message")).sendKeys("remember me", Keys.ENTER);
      waiting(driver, 15).until(d -> "done".equals(lastAnswer(d).getAttribute("data-status")));
      String html = lastAnswer(driver).findElement(By.className("answer")).getAttribute("innerHTML");
      String meta = lastAnswer(driver).findElement(By.className("meta")).getText();
      String totals = driver.findElement(By.id("totals")).getText();

      driver.navigate().refresh();
      waiting(driver, 10).until(d -> d.findElement(By.id("account")).isDisplayed()
          && !d.findElements(By.cssSelector(".turn.assistant[data-status='done']")).isEmpty());
      assertEquals("remember me", driver.findElement(By.cssSelector(".turn.user .bubble")).getText());
      assertEquals(html, lastAnswer(driver).findElement(By.className("answer")).getAttribute("innerHTML"));
      assertEquals(meta, lastAnswer(driver).findElement(By.className("meta")).getText());
      assertEquals(totals, driver.findElement(By.id("totals")).getText());
      assertEquals(0L, js.executeScript("return localStorage.length"), "this tab only: nothing in localStorage");

      // The next turn carries the restored history: the simulator's answer depends on the whole conversation.
      driver.findElement(By.id("message")).sendKeys("and after the reload?", Keys.ENTER);
      waiting(driver, 15).until(d -> d.findElements(By.cssSelector(".turn.assistant[data-status='done']")).size() == 2);
      String model = driver.findElement(By.id("model")).getAttribute("value");
      SimulatorConfig sim = SimulatorConfig.from(TestStack.settings(STACK));
      JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content", "remember me"));
      String first = ReplyPlan.of(request(model, messages), sim).text();
      messages.add(new JsonObject().put("role", "assistant").put("content", first))
          .add(new JsonObject().put("role", "user").put("content", "and after the reload?"));
      Object expected = js.executeScript("return DOMPurify.sanitize(marked.parse(arguments[0], {gfm: true,"
          + " breaks: false}))", ReplyPlan.of(request(model, messages), sim).text());
      assertEquals(expected, lastAnswer(driver).findElement(By.className("answer")).getAttribute("innerHTML"));

      driver.findElement(By.id("signout")).click();
      assertTrue(driver.findElements(By.cssSelector(".turn")).isEmpty(), "signing out forgets the conversation");
      assertNull(js.executeScript("return sessionStorage.getItem('claude-stream-proxy.conversation')"));
    } finally {
      driver.quit();
    }
  }

  @Test
  void fitsAPhone390PixelsWide() throws Exception {
    WebDriver driver = browser();
    JavascriptExecutor js = (JavascriptExecutor) driver;
    try {
      // A window is at least 500 px wide in headless Chromium: a phone's screen is emulated instead.
      ((ChromeDriver) driver).executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", 390,
          "height", 844, "deviceScaleFactor", 1, "mobile", true));
      driver.get(stack.proxyUrl() + "/");
      assertEquals(390L, js.executeScript("return window.innerWidth"));
      assertNoSidewaysScroll(js);
      shot(driver, "11-phone-sign-in");
      signIn(driver, stack, stack.callerKey);
      assertNoSidewaysScroll(js);
      driver.findElement(By.id("think")).click();
      driver.findElement(By.id("message")).sendKeys("a long word: " + "x".repeat(120), Keys.ENTER);
      waiting(driver, 15).until(d -> "done".equals(lastAnswer(d).getAttribute("data-status")));
      assertNoSidewaysScroll(js);
      for (String id : List.of("message", "send", "stop", "model", "signout")) {
        assertEquals(Boolean.TRUE, js.executeScript("const r = document.getElementById(arguments[0])"
            + ".getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= innerWidth && r.top >= 0"
            + " && r.bottom <= innerHeight", id), id + " is on screen");
      }
      assertEquals(Boolean.TRUE, js.executeScript("const log = document.getElementById('log');"
          + " return log.scrollWidth <= log.clientWidth"), "the conversation does not scroll sideways either");
      long box = ((Number) js.executeScript("return document.getElementById('message').getBoundingClientRect()"
          + ".width")).longValue();
      assertTrue(box >= 300, "the message box is " + box + " px wide, room to write");
      shot(driver, "12-phone-answer");
      driver.findElement(By.id("message")).sendKeys("and the send button works");
      driver.findElement(By.id("send")).click();
      waiting(driver, 15).until(d -> d.findElements(By.cssSelector(".turn.assistant[data-status='done']")).size() == 2);
    } finally {
      driver.quit();
    }
  }

  private static void assertNoSidewaysScroll(JavascriptExecutor js) {
    long width = ((Number) js.executeScript("return document.scrollingElement.scrollWidth")).longValue();
    assertTrue(width <= 390, "the page is " + width + " px wide");
  }

  @Test
  void thePageRunsUnderAContentSecurityPolicyAndRefusesFraming() throws Exception {
    for (String path : List.of("/", "/static/chat.js", "/static/chat.css", "/webjars/marked/15.0.12/marked.min.js")) {
      HttpResponse<String> r = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + path)).build());
      assertEquals(200, r.statusCode(), path);
      String policy = r.headers().firstValue("content-security-policy").orElse("");
      for (String directive : List.of("default-src 'self'", "script-src 'self'", "style-src 'self'",
          "frame-ancestors 'none'", "object-src 'none'")) {
        assertTrue(policy.contains(directive), path + ": " + policy);
      }
      assertEquals("DENY", r.headers().firstValue("x-frame-options").orElse(null), path);
    }
    WebDriver driver = browser();
    JavascriptExecutor js = (JavascriptExecutor) driver;
    try {
      // Everything the page does, under its policy: sign in, think, stream markdown, stop, a reload.
      signIn(driver, stack, stack.callerKey);
      driver.findElement(By.id("think")).click();
      driver.findElement(By.id("message")).sendKeys("show me everything", Keys.ENTER);
      waiting(driver, 15).until(d -> "done".equals(lastAnswer(d).getAttribute("data-status")));
      driver.findElement(By.id("message")).sendKeys("and stop", Keys.ENTER);
      waiting(driver, 10).until(d -> d.findElements(By.cssSelector(".turn.assistant")).size() == 2
          && !lastAnswer(d).findElement(By.className("answer")).getText().isEmpty());
      driver.findElement(By.id("stop")).click();
      waiting(driver, 5).until(d -> "stopped".equals(lastAnswer(d).getAttribute("data-status")));
      driver.navigate().refresh();
      waiting(driver, 10).until(d -> d.findElements(By.cssSelector(".turn.assistant")).size() == 2);
      List<String> violations = policyMessages(driver);
      assertTrue(violations.isEmpty(), violations.toString());

      // The browser enforces it: an inline script is refused, and the refusal shows in the log read above.
      assertNull(js.executeScript("const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
          + " document.head.append(s); return window.ran ?? null;"));
      waiting(driver, 5).until(d -> !policyMessages(d).isEmpty());

      // No page can frame it, not even its own (whose frame the test could look into if it loaded).
      assertEquals("refused", js.executeAsyncScript("const done = arguments[arguments.length - 1];"
          + " const frame = document.createElement('iframe'); frame.src = '/';"
          + " frame.addEventListener('load', () => { let doc = null; try { doc = frame.contentDocument; } catch (e) {}"
          + " done(doc && doc.getElementById('log') ? 'framed' : 'refused'); });"
          + " document.body.append(frame);"));
    } finally {
      driver.quit();
    }
  }

  /** The browser's console lines about Content-Security-Policy or framing since the last call. */
  private static List<String> policyMessages(WebDriver driver) {
    return driver.manage().logs().get(LogType.BROWSER).getAll().stream().map(LogEntry::getMessage)
        .filter(m -> m.contains("Content Security Policy") || m.contains("X-Frame-Options")).toList();
  }

  @Test
  void markdownWithAScriptRendersInert() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      String text = "Hello **bold** <script>window.pwned = 1</script> <img src=x onerror=\"window.pwned = 2\">"
          + " [x](javascript:window.pwned=3)\n\n```\ncode <b>kept</b>\n```";
      HttpServer evil = TestStack.await(vertx.createHttpServer().requestHandler(req -> req.response()
          .putHeader("content-type", "text/event-stream; charset=utf-8").end(sse(text))).listen(0, "127.0.0.1"));
      Path dir = Files.createTempDirectory("csp-page");
      String key = ApiKeys.generate();
      UsersFile.addKey(dir.resolve("users.json"), "tester", key);
      ProxyServer proxy = TestStack.await(ProxyServer.start(vertx, TestStack.settings(Map.of(
          "ANTHROPIC_BASE_URL", "http://127.0.0.1:" + evil.actualPort(), "PROXY_USERS",
          dir.resolve("users.json").toString(), "PROXY_USAGE_FILE", dir.resolve("usage.jsonl").toString(),
          "PROXY_CHAT_MODEL", "claude-sonnet-4-6"))));
      WebDriver driver = browser();
      try {
        driver.get("http://127.0.0.1:" + proxy.port() + "/");
        ((JavascriptExecutor) driver).executeScript(
            "document.getElementById('model').innerHTML = '<option value=\"claude-sonnet-4-6\">m</option>';"
                + "state.key = arguments[0]; setBusy(false);", key);
        driver.findElement(By.id("message")).sendKeys("render this", Keys.ENTER);
        WebElement answer = lastAnswer(driver);
        waiting(driver, 10).until(d -> "done".equals(answer.getAttribute("data-status")));
        WebElement html = answer.findElement(By.className("answer"));
        assertEquals("bold", html.findElement(By.tagName("strong")).getText());
        assertTrue(html.findElements(By.tagName("script")).isEmpty());
        assertTrue(html.findElement(By.tagName("pre")).getText().contains("code <b>kept</b>"));
        Thread.sleep(300); // an onerror handler, had it survived, would have run by now
        assertNull(((JavascriptExecutor) driver).executeScript("return window.pwned ?? null"));
        WebElement tool = answer.findElement(By.cssSelector("details.tool"));
        assertEquals("Tool call: get_weather", tool.findElement(By.tagName("summary")).getText());
        assertEquals(new JsonObject().put("city", "Paris <b>"), new JsonObject(tool.findElement(By.tagName("pre"))
            .getText()));
        for (WebElement link : html.findElements(By.tagName("a"))) {
          assertFalse(String.valueOf(link.getAttribute("href")).startsWith("javascript:"));
        }
        shot(driver, "7-sanitised");
      } finally {
        driver.quit();
        TestStack.await(proxy.shutdown());
      }
    } finally {
      TestStack.await(vertx.close());
    }
  }

  /** A whole Messages API stream with {@code text} as its one text delta. */
  private static String sse(String text) {
    String delta = new JsonObject().put("type", "content_block_delta").put("index", 0)
        .put("delta", new JsonObject().put("type", "text_delta").put("text", text)).encode();
    return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
        + "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-6\",\"content\":[],\"stop_reason\":null,"
        + "\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
        + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        + "event: content_block_delta\ndata: " + delta + "\n\n"
        + "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
        + "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
        + "{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
        + "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Paris <b>\\\"}\"}}\n\n"
        + "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
        + "\"stop_sequence\":null},\"usage\":{\"output_tokens\":20}}\n\n"
        + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  }
}
