package dev.claudeproxy.internal.config;

import java.util.concurrent.atomic.AtomicInteger;

/** The port a multi-instance server deployment binds. */
public final class ListenPorts {
  private static final AtomicInteger GROUPS = new AtomicInteger();

  private ListenPorts() {}

  /**
   * {@code configured}, or for 0 ("any free port") a negative port unique in this JVM. Vert.x shares one listener
   * among the instances that bind the same negative port and gives it one random port, where port 0 would give each
   * instance a port of its own; a fresh negative number per deployment keeps two servers in one Vert.x (the proxy
   * and its embedded simulator) from sharing a listener.
   */
  public static int bindPort(int configured) {
    return configured != 0 ? configured : -1 - (GROUPS.getAndIncrement() & 0xFFFFF);
  }
}
