import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.Locale;
import java.util.Set;

/**
 * The floor of `scripts/bench`: a bare Vert.x pass-through, an HTTP server that relays each request to the simulator
 * with an HTTP client and pipes the answer back as it comes (the shape of vertx-examples' `Proxy.java`, but with the
 * request's body read whole first, as the proxy reads it), with no
 * authentication, no event bus, no checks, meters, access line or usage. It runs on the proxy's own jar, as a
 * single-file program, so it uses the same Vert.x and Netty:
 *
 * <pre>
 * java -cp target/claude-stream-proxy-server.jar bench/BarePassThrough.java PORT UPSTREAM_PORT [h2c|http1]
 * </pre>
 *
 * <p>The client is set up as the proxy's worker sets up its own (prior-knowledge HTTP/2 or HTTP/1.1, the same windows
 * and pool sizes), and one instance runs per core, as the proxy deploys its HTTP verticles.
 */
public final class BarePassThrough extends VerticleBase {
  /** Headers of one connection, not of the request: never passed on. */
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
      "transfer-encoding", "te", "upgrade", "host", "content-length");

  private final int port;
  private final int upstreamPort;
  private final boolean h2c;
  private HttpClient client;

  BarePassThrough(int port, int upstreamPort, boolean h2c) {
    this.port = port;
    this.upstreamPort = upstreamPort;
    this.h2c = h2c;
  }

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    int upstreamPort = Integer.parseInt(args[1]);
    boolean h2c = args.length < 3 || args[2].equals("h2c");
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    vertx.deployVerticle(() -> new BarePassThrough(port, upstreamPort, h2c),
            new DeploymentOptions().setInstances(Runtime.getRuntime().availableProcessors()))
        .onSuccess(id -> System.out.println("bare pass-through on " + port + " to " + upstreamPort
            + (h2c ? " over h2c" : " over HTTP/1.1")))
        .onFailure(e -> {
          e.printStackTrace();
          System.exit(1);
        });
  }

  @Override
  public Future<?> start() {
    HttpClientOptions options = new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(upstreamPort)
        .setKeepAlive(true).setTcpNoDelay(true).setDecompressionSupported(false)
        .setInitialSettings(new Http2Settings().setInitialWindowSize(256 * 1024))
        .setHttp2ConnectionWindowSize(16 * 1024 * 1024);
    if (h2c) {
      options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
    }
    client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(10_000).setHttp2MaxSize(100)
        .setMaxWaitQueueSize(-1));
    // The server options the proxy's HTTP verticle sets for speed, so that only the work differs.
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setCompressionSupported(false)
            .setStrictThreadMode(true).setPerMessageWebSocketCompressionSupported(false)
            .setPerFrameWebSocketCompressionSupported(false))
        .requestHandler(this::relay)
        .listen(port, "127.0.0.1");
  }

  private void relay(HttpServerRequest request) {
    MultiMap headers = HttpHeaders.headers();
    copy(request.headers(), headers);
    RequestOptions options = new RequestOptions().setMethod(request.method()).setURI(request.uri())
        .setHeaders(headers);
    // The body is read whole first, as the proxy reads it before its checks.
    request.body()
        .compose(body -> client.request(options).compose(upstream -> upstream.send(body)))
        .onSuccess(answer -> {
          var response = request.response().setStatusCode(answer.statusCode());
          copy(answer.headers(), response.headers());
          if (answer.getHeader("content-length") != null) {
            response.putHeader("content-length", answer.getHeader("content-length"));
          } else {
            response.setChunked(true);
          }
          answer.pipeTo(response);
        })
        .onFailure(e -> request.response().setStatusCode(502).end());
  }

  private static void copy(MultiMap from, MultiMap to) {
    from.forEach((name, value) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      if (!HOP_BY_HOP.contains(lower)) {
        to.add(lower, value);
      }
    });
  }
}
