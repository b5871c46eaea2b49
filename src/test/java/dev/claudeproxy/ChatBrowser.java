package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The chat page's tests' browser: Debian's headless Chromium through its chromedriver, signing in, finding the last
 * answer, screenshots to {@code target/screenshots}.
 */
final class ChatBrowser {
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path SHOTS = Path.of("target", "screenshots");

  private ChatBrowser() {
  }

  /** Skips the calling tests without a browser, unless CSP_REQUIRE_BROWSER says one must be there. */
  static void requireBrowser() throws Exception {
    boolean present = Files.isExecutable(CHROMEDRIVER) && Files.isExecutable(CHROMIUM);
    if (!present && System.getenv("CSP_REQUIRE_BROWSER") != null) {
      throw new IllegalStateException("CSP_REQUIRE_BROWSER is set but chromium or chromedriver is missing");
    }
    Assumptions.assumeTrue(present, "Debian's chromium and chromium-driver are not installed");
    Files.createDirectories(SHOTS);
  }

  static ChromeDriver browser() throws Exception {
    return browser("1200,860");
  }

  static ChromeDriver browser(String size) throws Exception {
    ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-quic", "--window-size=" + size,
        "--user-data-dir=" + Files.createTempDirectory("csp-chromium"));
    // The browser's console, where Content-Security-Policy violations are reported.
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability(ChromeOptions.LOGGING_PREFS, logs);
    // A driver service per browser: quitting a driver stops its service.
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort().build();
    return new ChromeDriver(service, options);
  }

  static WebDriverWait waiting(WebDriver driver, int seconds) {
    return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(20));
  }

  static void signIn(WebDriver driver, TestStack target, String key) {
    signIn(driver, target.proxyUrl(), key);
  }

  /** Opens the page at {@code baseUrl} and signs in with {@code key}. */
  static void signIn(WebDriver driver, String baseUrl, String key) {
    driver.get(baseUrl + "/");
    WebElement field = driver.findElement(By.cssSelector("input[aria-label='API key'], #api-key"));
    assertEquals("API key", label(driver, field));
    field.sendKeys(key, Keys.ENTER);
    waiting(driver, 10).until(d -> d.findElement(By.id("account")).isDisplayed()
        && !d.findElements(By.cssSelector("#model option")).isEmpty());
  }

  static String label(WebDriver driver, WebElement field) {
    return (String) ((JavascriptExecutor) driver).executeScript(
        "return document.querySelector(`label[for='${arguments[0].id}']`).textContent.trim()", field);
  }

  static WebElement lastAnswer(WebDriver driver) {
    List<WebElement> answers = driver.findElements(By.cssSelector(".turn.assistant"));
    return answers.get(answers.size() - 1);
  }

  static void shot(WebDriver driver, String name) throws Exception {
    Files.write(SHOTS.resolve(name + ".png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
  }

  /** The chat endpoint's request to the simulator for {@code messages}, whose reply the simulator derives from it. */
  static JsonObject request(String model, JsonArray messages) {
    return new JsonObject().put("model", model).put("max_tokens", 1024).put("stream", true).put("messages", messages);
  }

  /** {@code markdown} as the page renders it, by the page's own marked and DOMPurify. */
  static Object rendered(WebDriver driver, String markdown) {
    return ((JavascriptExecutor) driver).executeScript(
        "return DOMPurify.sanitize(marked.parse(arguments[0], {gfm: true, breaks: false}))", markdown);
  }
}
