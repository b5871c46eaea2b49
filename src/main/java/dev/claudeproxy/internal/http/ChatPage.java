package dev.claudeproxy.internal.http;

import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The chat page ({@code /}, its files under {@code /static/}, and the markdown and sanitising libraries it uses under
 * {@code /webjars/}) as a router of its own, served from the jar. The page calls the API by relative URLs, so it works
 * under any prefix as long as the API routes are mounted at the same one.
 */
public final class ChatPage {
  private static final String PAGE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
      + "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  private ChatPage() {}

  /** A new router serving the page. */
  public static Router router(Vertx vertx) {
    Router router = Router.router(vertx);
    addRoutes(router);
    return router;
  }

  /** Adds the page's routes to {@code router}. */
  static void addRoutes(Router router) {
    router.get("/").handler(ChatPage::index);
    router.get("/static/*").handler(ChatPage::pageHeaders).handler(StaticHandler.create(
        "dev/claudeproxy/internal/webroot").setCachingEnabled(false).setDefaultContentEncoding("UTF-8"));
    router.get("/webjars/*").handler(ChatPage::pageHeaders)
        .handler(StaticHandler.create("META-INF/resources/webjars").setMaxAgeSeconds(86_400));
  }

  /**
   * The page itself. Its URLs are relative, so it must be loaded from a path ending in a slash: {@code /ai} is sent to
   * {@code /ai/}.
   */
  private static void index(RoutingContext ctx) {
    String path = ctx.request().path();
    if (!path.endsWith("/")) {
      String query = ctx.request().query();
      ctx.response().setStatusCode(301).putHeader("location", path + "/" + (query == null ? "" : "?" + query)).end();
      return;
    }
    ctx.reroute(path + "static/index.html");
  }

  /**
   * The chat page's own files: a policy that lets them load only from here (no inline code, no other origins, so an
   * answer's markdown cannot pull in a script or leak through an image URL) and no framing by other sites.
   */
  private static void pageHeaders(RoutingContext ctx) {
    ctx.response()
        .putHeader("content-security-policy", PAGE_POLICY)
        .putHeader("x-frame-options", "DENY")
        .putHeader("x-content-type-options", "nosniff")
        .putHeader("referrer-policy", "no-referrer");
    ctx.next();
  }
}
