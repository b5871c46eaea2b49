package dev.claudeproxy.internal.http;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.CorsHandler;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * CORS for the origins the operator names (vertx-web's {@link CorsHandler}), and {@code OPTIONS} answered with the
 * methods a path takes rather than 405.
 */
final class CrossOrigin {
  /**
   * What a web page's answer may show its script: the ids and the rate-limit and retry hints the SDKs read. Browsers
   * expose only a few "safe" headers unless told.
   */
  private static final Set<String> EXPOSED = Set.of("request-id", "retry-after", "retry-after-ms", "x-should-retry",
      "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
      "anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining",
      "anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-input-tokens-limit",
      "anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-reset",
      "anthropic-ratelimit-output-tokens-limit", "anthropic-ratelimit-output-tokens-remaining",
      "anthropic-ratelimit-output-tokens-reset");

  private CrossOrigin() {}

  /**
   * The CORS handler for {@code origins} ({@code *}: any). Requests the page may make carry any header it asks for
   * (content-type, authorization, x-api-key, anthropic-version, anthropic-beta,
   * anthropic-dangerous-direct-browser-access, and the SDK's x-stainless-* among them): callers prove who they are
   * with a key in a header, never a cookie, so credentials are not allowed. A request from the proxy's own origin
   * (the chat page) passes untouched, whatever the list.
   */
  static Handler<RoutingContext> handler(List<String> origins) {
    CorsHandler cors = CorsHandler.create()
        .allowedMethods(Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST, HttpMethod.OPTIONS))
        .exposedHeaders(EXPOSED)
        .maxAgeSeconds(600);
    origins.forEach(cors::addOrigin);
    return ctx -> {
      if (sameOrigin(ctx.request())) {
        ctx.next();
      } else {
        cors.handle(ctx);
      }
    };
  }

  private static boolean sameOrigin(HttpServerRequest request) {
    String origin = request.getHeader("origin");
    // The Host header over HTTP/1.1, :authority over HTTP/2.
    HostAndPort authority = request.authority();
    return origin == null || authority != null && origin.equalsIgnoreCase((request.isSSL() ? "https://" : "http://")
        + authority.host() + (authority.port() >= 0 ? ":" + authority.port() : ""));
  }

  /**
   * {@code HEAD} as the {@code GET} of the same path (the connection writes the GET's head without its body), and
   * {@code OPTIONS} naming the methods a path of {@code router} takes; anything else goes on. Taken by one route rather
   * than routes of their own, which would turn every unknown path's 404 into a 405.
   */
  static Handler<RoutingContext> headAndOptions(Router router) {
    Handler<RoutingContext> options = options(router);
    return ctx -> {
      if (ctx.request().method() == HttpMethod.HEAD) {
        ctx.reroute(HttpMethod.GET, ctx.request().uri());
      } else if (ctx.request().method() == HttpMethod.OPTIONS) {
        options.handle(ctx);
      } else {
        ctx.next();
      }
    };
  }

  /**
   * {@code OPTIONS} on a path the router serves: 204 with {@code Allow} naming its methods. An unknown path goes on
   * to the 404.
   */
  static Handler<RoutingContext> options(Router router) {
    return ctx -> {
      Set<String> allowed = new TreeSet<>();
      String path = ProxyRoutes.relativePath(ctx);
      for (Route route : router.getRoutes()) {
        // Routes with :params count as regex paths, but keep their declared path, which is what is matched here.
        if (route.methods() != null && route.getPath() != null && matches(route, path)) {
          route.methods().forEach(m -> allowed.add(m.name()));
        }
      }
      allowed.remove(HttpMethod.OPTIONS.name());
      if (allowed.contains(HttpMethod.GET.name())) {
        allowed.add(HttpMethod.HEAD.name());
      }
      if (allowed.isEmpty()) {
        ctx.next();
        return;
      }
      allowed.add(HttpMethod.OPTIONS.name());
      ctx.response().setStatusCode(204).putHeader("allow", String.join(", ", allowed)).end();
    };
  }

  /** Whether {@code path} is one {@code route} serves: its exact path, with {@code :param} segments, or under it. */
  static boolean matches(Route route, String path) {
    String pattern = route.getPath();
    if (!route.isExactPath()) {
      return path.startsWith(pattern);
    }
    String[] want = pattern.split("/", -1);
    String[] got = path.split("/", -1);
    if (want.length != got.length) {
      return false;
    }
    for (int i = 0; i < want.length; i++) {
      if (want[i].startsWith(":") ? got[i].isEmpty() : !want[i].equals(got[i])) {
        return false;
      }
    }
    return true;
  }
}
