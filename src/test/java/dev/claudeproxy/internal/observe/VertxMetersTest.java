package dev.claudeproxy.internal.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The proxy's HTTP-server meters read as vertx-micrometer's own would: two Vert.x instances serve the same requests,
 * one with {@link VertxMeters}, one with vertx-micrometer's HTTP-server meters, and their {@code vertx_http_server_*}
 * series must match, name, labels, help, type and value (times and socket byte counts excepted, as they differ from
 * run to run).
 */
class VertxMetersTest {
  private static final Pattern SAMPLE = Pattern.compile("^(vertx_http_server_[a-z_]+(?:\\{[^}]*})?) (\\S+)$");

  @Test
  void theHttpServerSeriesAreVertxMicrometersOwn() throws Exception {
    PrometheusMeterRegistry ours = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    PrometheusMeterRegistry theirs = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx withOurs = VertxMeters.vertx(ours, new VertxOptions());
    MicrometerMetricsOptions reference = new MicrometerMetricsOptions(VertxMeters.options());
    Set<String> disabled = new HashSet<>(reference.getDisabledMetricsCategories());
    assertTrue(disabled.remove(MetricsDomain.HTTP_SERVER.toCategory()), "the proxy turns vertx-micrometer's off");
    // vertx-micrometer keeps one backend per registry name in the JVM: the reference needs a name of its own.
    reference.setDisabledMetricsCategories(disabled).setRegistryName("vertx-micrometer-reference");
    Vertx withTheirs = Vertx.builder().with(new VertxOptions().setMetricsOptions(reference))
        .withMetrics(new MicrometerMetricsFactory(theirs)).build();
    try {
      serveTheSameRequests(withOurs);
      serveTheSameRequests(withTheirs);
      Map<String, String> mine = series(ours.scrape());
      Map<String, String> reference1 = series(theirs.scrape());
      assertEquals(reference1.keySet(), mine.keySet(), "the same series");
      assertTrue(mine.containsKey("vertx_http_server_requests_total{code=\"404\",method=\"GET\"}"), mine.toString());
      assertTrue(mine.containsKey("vertx_http_server_request_bytes_count{method=\"POST\"}"), mine.toString());
      assertEquals("1.0", mine.get("vertx_http_server_request_resets_total{method=\"GET\"}"), mine.toString());
      for (var e : reference1.entrySet()) {
        String name = e.getKey();
        if (name.startsWith("#") || !(name.contains("_seconds") || name.contains("bytes_read")
            || name.contains("bytes_written") || name.contains("active_connections"))) {
          assertEquals(e.getValue(), mine.get(name), name);
        } else {
          assertTrue(Double.parseDouble(mine.get(name)) >= 0, name);
        }
      }
      assertEquals("0.0", mine.get("vertx_http_server_active_requests{method=\"POST\"}"));
      assertEquals("3", mine.get("vertx_http_server_response_time_seconds_count{code=\"200\",method=\"GET\"}"));
      assertEquals("15.0", mine.get("vertx_http_server_request_bytes_sum{method=\"POST\"}"), "the two bodies");
    } finally {
      withOurs.close().await(10, TimeUnit.SECONDS);
      withTheirs.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void anOpenRequestIsActiveUntilItsResponseEnds() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = VertxMeters.vertx(registry, new VertxOptions());
    try {
      List<HttpServerRequest> held = new ArrayList<>();
      HttpServer server = vertx.createHttpServer().requestHandler(held::add).listen(0, "127.0.0.1")
          .await(10, TimeUnit.SECONDS);
      HttpClient client = HttpClient.newHttpClient();
      var answer = client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort()
          + "/held")).build(), HttpResponse.BodyHandlers.ofString());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (series(registry.scrape()).getOrDefault("vertx_http_server_active_requests{method=\"GET\"}", "0.0")
          .equals("0.0") && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals("1.0", series(registry.scrape()).get("vertx_http_server_active_requests{method=\"GET\"}"));
      vertx.runOnContext(v -> held.forEach(r -> r.response().end("done")));
      assertEquals("done", answer.get(10, TimeUnit.SECONDS).body());
      assertEquals("0.0", series(registry.scrape()).get("vertx_http_server_active_requests{method=\"GET\"}"));
      assertEquals("1.0", series(registry.scrape())
          .get("vertx_http_server_requests_total{code=\"200\",method=\"GET\"}"));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /**
   * GETs answered 200 and 404, POSTs answered 201 with their bodies echoed, and a GET never answered whose client
   * goes away.
   */
  private static void serveTheSameRequests(Vertx vertx) throws Exception {
    CountDownLatch heldArrived = new CountDownLatch(1);
    CountDownLatch heldClosed = new CountDownLatch(1);
    HttpServer server = vertx.createHttpServer().requestHandler(request -> {
      if (request.path().equals("/held")) {
        request.connection().closeHandler(v -> heldClosed.countDown());
        heldArrived.countDown();
      } else if (request.path().equals("/missing")) {
        request.response().setStatusCode(404).end("no such thing");
      } else if (request.method().name().equals("POST")) {
        request.body().onSuccess(body -> request.response().setStatusCode(201).end(body));
      } else {
        request.response().end("hello");
      }
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    String base = "http://127.0.0.1:" + server.actualPort();
    List<HttpRequest> requests = List.of(
        HttpRequest.newBuilder(URI.create(base + "/a")).build(),
        HttpRequest.newBuilder(URI.create(base + "/b")).build(),
        HttpRequest.newBuilder(URI.create(base + "/missing")).build(),
        HttpRequest.newBuilder(URI.create(base + "/c")).build(),
        HttpRequest.newBuilder(URI.create(base + "/echo")).POST(HttpRequest.BodyPublishers.ofString("first")).build(),
        HttpRequest.newBuilder(URI.create(base + "/echo")).POST(HttpRequest.BodyPublishers.ofString("the second"))
            .build());
    for (HttpRequest request : requests) {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      assertTrue(response.statusCode() < 500, response.body());
    }
    try (Socket socket = new Socket("127.0.0.1", server.actualPort())) {
      socket.getOutputStream().write("GET /held HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      assertTrue(heldArrived.await(10, TimeUnit.SECONDS));
    }
    assertTrue(heldClosed.await(10, TimeUnit.SECONDS));
    Future<Void> closed = server.close();
    closed.await(10, TimeUnit.SECONDS);
  }

  /** The {@code vertx_http_server_*} samples of a scrape by name and labels, and its HELP and TYPE lines. */
  private static Map<String, String> series(String scrape) {
    Map<String, String> out = new TreeMap<>();
    for (String line : scrape.split("\n")) {
      if (line.startsWith("# ") && line.contains(" vertx_http_server_")) {
        out.put(line, "");
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      if (m.matches()) {
        out.put(m.group(1), m.group(2));
      }
    }
    return out;
  }
}
