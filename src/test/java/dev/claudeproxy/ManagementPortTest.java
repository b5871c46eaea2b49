package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Metrics and health: on the main port by default, with a readiness answer that names no upstream; with
 * {@code PROXY_MANAGEMENT_PORT}, on that port only, with the detail.
 */
class ManagementPortTest {
  private static final List<String> ENDPOINTS = List.of("/metrics", "/health/live", "/health/ready");
  private static TestStack shared;
  private static TestStack apart;

  @BeforeAll
  static void start() {
    shared = TestStack.start();
    apart = TestStack.start(Map.of("PROXY_MANAGEMENT_PORT", 0));
  }

  @AfterAll
  static void stop() {
    shared.close();
    apart.close();
  }

  private static HttpResponse<String> get(TestStack stack, int port, String path) {
    return stack.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .version(java.net.http.HttpClient.Version.HTTP_1_1).GET().build());
  }

  @Test
  void withoutAManagementPortTheyStayOnTheMainPortAndReadinessNamesNoUpstream() {
    assertEquals(-1, shared.proxy.managementPort());
    for (String path : ENDPOINTS) {
      assertEquals(200, get(shared, shared.proxy.port(), path).statusCode(), path);
    }
    HttpResponse<String> ready = get(shared, shared.proxy.port(), "/health/ready");
    assertEquals("UP", new JsonObject(ready.body()).getString("status"), ready.body());
    assertFalse(ready.body().contains(shared.simulatorUrl()), ready.body());
    assertFalse(ready.body().contains("url"), ready.body());
  }

  @Test
  void withAManagementPortTheyAreServedThereOnly() {
    int management = apart.proxy.managementPort();
    assertTrue(management > 0);
    assertNotEquals(apart.proxy.port(), management);
    for (String path : ENDPOINTS) {
      HttpResponse<String> main = get(apart, apart.proxy.port(), path);
      assertEquals(404, main.statusCode(), path);
      assertEquals("not_found_error", new JsonObject(main.body()).getJsonObject("error").getString("type"), path);
      assertEquals(200, get(apart, management, path).statusCode(), path);
    }
    HttpResponse<String> ready = get(apart, management, "/health/ready");
    assertTrue(ready.body().contains(apart.simulatorUrl()), "the detail stays for the operator: " + ready.body());
    assertTrue(get(apart, management, "/metrics").body().contains("# TYPE"), "Prometheus text");
    HttpResponse<String> head = apart.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + management
        + "/health/live")).version(java.net.http.HttpClient.Version.HTTP_1_1)
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    assertEquals(200, head.statusCode());
    assertEquals("", head.body());
  }
}
