package dev.claudeproxy.internal.upstream;

import static dev.claudeproxy.TestStack.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.claudeproxy.internal.VertxInternals;
import dev.claudeproxy.internal.simulator.Simulator;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.impl.HttpClientConnectionInternal;
import io.vertx.core.net.SelfSignedCertificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests a worker starts on one HTTP/2 connection in one pass of its event loop reach the socket in one flush,
 * where Vert.x alone flushes after each; they all still get their answers.
 */
class UpstreamFlushesTest {
  private static final int REQUESTS = 20;
  private static final RequestOptions MODELS = new RequestOptions().setMethod(HttpMethod.GET).setURI("/v1/models")
      .putHeader("anthropic-version", "2023-06-01");
  private static Vertx vertx;
  private static Simulator simulator;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    simulator = await(Simulator.start(vertx, SimulatorConfig.defaults().withPort(0).withTiming(0, 0, 0)));
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  @Test
  void requestsStartedInOnePassShareAFlush() {
    HttpClient client = target("h2c").createClient(vertx);
    try {
      int flushes = flushesFor(client, true);
      assertTrue(flushes < REQUESTS / 2, REQUESTS + " requests started in one pass took " + flushes + " flushes");
    } finally {
      await(client.close());
    }
  }

  @Test
  void withoutItVertxFlushesEachRequest() {
    // The premise: if Vert.x ever merged these flushes itself, the handler would be worth removing.
    UpstreamTarget target = target("h2c");
    HttpClient client = vertx.httpClientBuilder().with(target.clientOptions()).with(target.poolOptions()).build();
    try {
      int flushes = flushesFor(client, false);
      assertTrue(flushes >= REQUESTS, REQUESTS + " requests took only " + flushes + " flushes");
    } finally {
      await(client.close());
    }
  }

  @Test
  void overTlsTheRequestsOfAPassShareAFlushToo() {
    // As against Claude's API: HTTP/2 picked through ALPN, the TLS handler between the connection and the socket.
    SelfSignedCertificate certificate = SelfSignedCertificate.create("localhost");
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setUseAlpn(true)
        .setKeyCertOptions(certificate.keyCertOptions()).setHost("127.0.0.1").setPort(0));
    server.requestHandler(request -> request.response().end("{\"data\":[]}"));
    await(server.listen());
    HttpClientOptions options = new HttpClientOptions().setSsl(true).setUseAlpn(true)
        .setProtocolVersion(HttpVersion.HTTP_2).setTrustOptions(certificate.trustOptions()).setVerifyHost(false)
        .setDefaultHost("127.0.0.1").setDefaultPort(server.actualPort());
    HttpClient client = vertx.httpClientBuilder().with(options).withConnectHandler(VertxInternals::consolidateFlushes)
        .build();
    try {
      int flushes = flushesFor(client, true);
      assertTrue(flushes < REQUESTS / 2, REQUESTS + " requests started in one pass took " + flushes + " flushes");
    } finally {
      await(client.close());
      await(server.close());
    }
  }

  @Test
  void anHttp11ConnectionIsLeftAsItIs() {
    HttpClient client = target("http1").createClient(vertx);
    try {
      HttpClientConnectionInternal connection = connect(client, vertx.getOrCreateContext());
      assertNull(connection.channelHandlerContext().pipeline().get(VertxInternals.FLUSH_HANDLER_NAME));
    } finally {
      await(client.close());
    }
  }

  /**
   * Opens the connection with one request, then starts {@link #REQUESTS} more in one task of the connection's event
   * loop and counts the flushes that reach the socket until every answer has been read.
   */
  private static int flushesFor(HttpClient client, boolean expectHandler) {
    Context context = vertx.getOrCreateContext();
    HttpClientConnectionInternal connection = connect(client, context);
    ChannelPipeline pipeline = connection.channelHandlerContext().pipeline();
    if (expectHandler) {
      // With the public API only (VertxInternals' fallback, or -Dclaude-proxy.vertx-public-only=true) there is no
      // hook into the pipeline: nothing to measure.
      assumeTrue(VertxInternals.inUse(), "Vert.x's internal API is not in use");
      assertNotNull(pipeline.get(VertxInternals.FLUSH_HANDLER_NAME), "the handler is in the HTTP/2 connection's pipeline");
    }
    AtomicInteger flushes = new AtomicInteger();
    // First in the pipeline, next to the socket: it sees only the flushes that get past the consolidation.
    pipeline.addFirst("flush-counter", new ChannelOutboundHandlerAdapter() {
      @Override
      public void flush(ChannelHandlerContext ctx) {
        flushes.incrementAndGet();
        ctx.flush();
      }
    });
    List<Integer> statuses = onLoop(context, () -> {
      List<Future<Integer>> answers = new ArrayList<>();
      for (int i = 0; i < REQUESTS; i++) {
        answers.add(client.request(MODELS).compose(request -> request.send()
            .compose(response -> response.body().map(body -> response.statusCode()))));
      }
      return Future.all(answers).map(all -> all.<Integer>list());
    });
    assertEquals(REQUESTS, statuses.size());
    statuses.forEach(status -> assertEquals(200, status));
    System.out.println(REQUESTS + " requests in one pass, " + (expectHandler ? "with" : "without")
        + " consolidation: " + flushes.get() + " flushes");
    return flushes.get();
  }

  private static UpstreamTarget target(String protocol) {
    return new UpstreamTarget("127.0.0.1", simulator.port(), false, protocol, "", null, 100, 5_000, 256 * 1024);
  }

  /** Opens the client's connection with one request on {@code context}, and returns it. */
  private static HttpClientConnectionInternal connect(HttpClient client, Context context) {
    return onLoop(context, () -> client.request(MODELS).compose(request -> request.send()
        .compose(HttpClientResponse::body).map(body -> (HttpClientConnectionInternal) request.connection())));
  }

  private static <T> T onLoop(Context context, Supplier<Future<T>> work) {
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> work.get().onComplete(done));
    return await(done.future());
  }
}
