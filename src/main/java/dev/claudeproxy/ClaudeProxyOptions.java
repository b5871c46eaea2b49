package dev.claudeproxy;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonObject;

/**
 * How a {@link ClaudeProxy} is set up: its settings, and what the host application plugs in.
 *
 * <p>The settings are the whole configuration, by the names of the server's config file and environment
 * ({@code ANTHROPIC_API_KEY}, {@code ANTHROPIC_BASE_URL}, {@code PROXY_USERS}, {@code PROXY_BUS_PREFIX}, ...; see the
 * README). The library reads no environment variable and no file of its own accord: the host passes what it wants.
 * Settings about the server's own HTTP listener ({@code PROXY_PORT}, {@code PROXY_HOST},
 * {@code PROXY_HTTP_INSTANCES}, {@code PROXY_MANAGEMENT_PORT}) are ignored.
 */
public final class ClaudeProxyOptions {
  private JsonObject settings = new JsonObject();
  private CallerResolver callerResolver;
  private UsageSink usageSink;
  private MeterRegistry meterRegistry;

  /** Options with no settings and nothing plugged in. */
  public ClaudeProxyOptions() {}

  /**
   * A copy of {@code other}.
   *
   * @param other the options to copy (their settings are copied)
   */
  public ClaudeProxyOptions(ClaudeProxyOptions other) {
    this.settings = other.settings.copy();
    this.callerResolver = other.callerResolver;
    this.usageSink = other.usageSink;
    this.meterRegistry = other.meterRegistry;
  }

  /**
   * The settings, by the names of the config file and environment.
   *
   * @return the settings
   */
  public JsonObject getSettings() {
    return settings;
  }

  /**
   * Sets the settings (copied).
   *
   * @param settings the settings, or null for none
   * @return these options
   */
  public ClaudeProxyOptions setSettings(JsonObject settings) {
    this.settings = settings == null ? new JsonObject() : settings.copy();
    return this;
  }

  /**
   * Sets one setting.
   *
   * @param name the setting's name, such as {@code PROXY_USERS}
   * @param value its value
   * @return these options
   */
  public ClaudeProxyOptions putSetting(String name, Object value) {
    settings.put(name, value);
    return this;
  }

  /**
   * The host's caller resolution, or null for the proxy's own API keys and JWTs.
   *
   * @return the caller resolver, or null
   */
  public CallerResolver getCallerResolver() {
    return callerResolver;
  }

  /**
   * Decides callers with the host's own login instead of the proxy's API keys ({@code PROXY_USERS}) and JWTs
   * ({@code JWT_*}), which are then not read.
   *
   * @param callerResolver the host's caller resolver, or null for the proxy's own
   * @return these options
   */
  public ClaudeProxyOptions setCallerResolver(CallerResolver callerResolver) {
    this.callerResolver = callerResolver;
    return this;
  }

  /**
   * Where the usage of every upstream call goes, besides the proxy's own accounting, or null.
   *
   * @return the usage sink, or null
   */
  public UsageSink getUsageSink() {
    return usageSink;
  }

  /**
   * Sends the usage of every upstream call to {@code usageSink} as well.
   *
   * @param usageSink the host's usage sink, or null for none
   * @return these options
   */
  public ClaudeProxyOptions setUsageSink(UsageSink usageSink) {
    this.usageSink = usageSink;
    return this;
  }

  /**
   * The registry the proxy's meters go to, or null for a Prometheus registry of its own.
   *
   * @return the meter registry, or null
   */
  public MeterRegistry getMeterRegistry() {
    return meterRegistry;
  }

  /**
   * Records the proxy's meters in the host's registry. {@link ClaudeProxy#managementRouter()} serves
   * {@code /metrics} only when it is a Prometheus registry; otherwise the host exports the meters its own way.
   *
   * @param meterRegistry the host's registry, or null for a Prometheus registry of the proxy's own
   * @return these options
   */
  public ClaudeProxyOptions setMeterRegistry(MeterRegistry meterRegistry) {
    this.meterRegistry = meterRegistry;
    return this;
  }
}
