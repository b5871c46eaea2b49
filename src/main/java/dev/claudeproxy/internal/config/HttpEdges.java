package dev.claudeproxy.internal.config;

import java.util.Arrays;
import java.util.List;

/**
 * Who may reach the HTTP server from where: browser origins allowed to call it, and where the operator's endpoints
 * (metrics, health) are served.
 *
 * @param corsOrigins origins (scheme://host[:port]) whose web pages may call the API ({@code PROXY_CORS_ORIGINS},
 *     comma-separated; none by default; {@code *} for any origin, no credentials either way)
 * @param managementHost where the management server binds ({@code PROXY_MANAGEMENT_HOST}, default
 *     {@code 127.0.0.1})
 * @param managementPort the port of {@code /metrics} and {@code /health/*} ({@code PROXY_MANAGEMENT_PORT}); -1 when
 *     unset: they are then served on the main port
 */
public record HttpEdges(List<String> corsOrigins, String managementHost, int managementPort) {

  public static HttpEdges from(Settings s) {
    List<String> origins = Arrays.stream(s.string("PROXY_CORS_ORIGINS", "").split(","))
        .map(String::trim).filter(o -> !o.isEmpty()).map(o -> o.endsWith("/") ? o.substring(0, o.length() - 1) : o)
        .distinct().toList();
    if (origins.contains("*") && origins.size() > 1) {
      throw new ConfigException("PROXY_CORS_ORIGINS: * (any origin) cannot be combined with named origins, got "
          + String.join(",", origins));
    }
    for (String origin : origins) {
      if (!origin.equals("*") && !origin.matches("https?://[^/\\s]+")) {
        throw new ConfigException("PROXY_CORS_ORIGINS: an origin is scheme://host[:port] (no path), got " + origin);
      }
    }
    int port = s.has("PROXY_MANAGEMENT_PORT") ? (int) s.longInRange("PROXY_MANAGEMENT_PORT", -1, 0, 65535) : -1;
    if (port > 0 && port == s.longValue("PROXY_PORT", 8080)) {
      throw new ConfigException("PROXY_MANAGEMENT_PORT must differ from PROXY_PORT (" + port + "): metrics and health"
          + " are served apart from the API");
    }
    return new HttpEdges(origins, s.string("PROXY_MANAGEMENT_HOST", "127.0.0.1"), port);
  }

  /** True when metrics and health have a server of their own. */
  public boolean separateManagement() {
    return managementPort >= 0;
  }
}
