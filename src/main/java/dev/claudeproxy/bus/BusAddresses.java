package dev.claudeproxy.bus;

import java.util.regex.Pattern;

/**
 * The event-bus addresses of one proxy, all under one prefix ({@code PROXY_BUS_PREFIX}, default
 * {@value #DEFAULT_PREFIX}), so that two proxies, or a proxy and the host application's own services, can share one
 * {@code Vertx} or one cluster without hearing each other. Every address is {@code <prefix>.v1.…}: the contract's
 * major version stays in the address whatever the prefix. See {@code docs/event-bus.md}.
 *
 * <p>Immutable; {@link #DEFAULT} is the proxy's addresses when no prefix is set.
 */
public final class BusAddresses {
  /** The prefix when none is set. */
  public static final String DEFAULT_PREFIX = "claude-proxy";

  /** Dot-separated words of letters, digits, {@code _} and {@code -}. */
  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*");
  private static final int MAX_PREFIX_LENGTH = 100;

  /** The addresses under {@value #DEFAULT_PREFIX}. */
  public static final BusAddresses DEFAULT = of(DEFAULT_PREFIX);

  private final String prefix;
  private final String versioned;
  private final String start;
  private final String usage;

  private BusAddresses(String prefix) {
    this.prefix = prefix;
    this.versioned = prefix + ".v" + StreamBus.VERSION + ".";
    this.start = versioned + "streams";
    this.usage = versioned + "usage";
  }

  /**
   * The addresses under {@code prefix}: one or more dot-separated words of ASCII letters, digits, {@code _} and
   * {@code -}, at most 100 characters, such as {@code claude-proxy} or {@code acme.billing-ai}.
   *
   * @param prefix the prefix of every address
   * @return the addresses under {@code prefix} ({@link #DEFAULT} for {@value #DEFAULT_PREFIX})
   * @throws IllegalArgumentException naming what is wrong with the prefix
   */
  public static BusAddresses of(String prefix) {
    if (prefix == null || prefix.isEmpty()) {
      throw new IllegalArgumentException("the bus prefix is empty");
    }
    if (prefix.length() > MAX_PREFIX_LENGTH) {
      throw new IllegalArgumentException("the bus prefix is longer than " + MAX_PREFIX_LENGTH + " characters");
    }
    if (!PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException("the bus prefix must be dot-separated words of letters, digits, '_' and"
          + " '-', got \"" + prefix + "\"");
    }
    return prefix.equals(DEFAULT_PREFIX) && DEFAULT != null ? DEFAULT : new BusAddresses(prefix);
  }

  /**
   * The prefix, as given.
   *
   * @return the prefix
   */
  public String prefix() {
    return prefix;
  }

  /**
   * Where streams are started ({@code <prefix>.v1.streams}); every worker instance consumes it.
   *
   * @return the start address
   */
  public String start() {
    return start;
  }

  /**
   * Where each worker publishes, on its own node, how every call ended and the usage it saw
   * ({@code <prefix>.v1.usage}).
   *
   * @return the usage address
   */
  public String usage() {
    return usage;
  }

  /**
   * Where a reader asks which worker holds a stream ({@code <prefix>.v1.find}); every worker instance consumes it, and
   * it is published to.
   *
   * @return the find address
   */
  public String find() {
    return versioned + "find";
  }

  /**
   * The inbox of one stream owner ({@code <prefix>.v1.inbox.<id>}): all events of its streams arrive there.
   *
   * @param id the stream owner's id
   * @return the inbox address
   */
  public String inbox(String id) {
    return versioned + "inbox." + id;
  }

  /**
   * The control address of one worker instance ({@code <prefix>.v1.worker.<id>}): credits, cancels, pings.
   *
   * @param id the worker instance's id
   * @return the worker's control address
   */
  public String worker(String id) {
    return versioned + "worker." + id;
  }

  /**
   * A name under this prefix for something other than an address of the contract ({@code <prefix>.v1.<name>}),
   * such as a node-local map.
   *
   * @param name the name to put under the prefix
   * @return {@code <prefix>.v1.<name>}
   */
  public String name(String name) {
    return versioned + name;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof BusAddresses that && prefix.equals(that.prefix);
  }

  @Override
  public int hashCode() {
    return prefix.hashCode();
  }

  @Override
  public String toString() {
    return "BusAddresses[" + prefix + "]";
  }
}
