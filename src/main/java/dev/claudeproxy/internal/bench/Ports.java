package dev.claudeproxy.internal.bench;

/**
 * The bench's eight ports from a base (BENCH_PORT_BASE, 19500 unless set): two benches on one machine need bases of
 * their own.
 */
record Ports(int base) {
  static final int DEFAULT_BASE = 19500;

  static Ports fromEnv(String value) {
    if (value == null || value.isBlank()) {
      return new Ports(DEFAULT_BASE);
    }
    try {
      return new Ports(Integer.parseInt(value.trim()));
    } catch (NumberFormatException e) {
      throw new BenchException("BENCH_PORT_BASE must be a port number, got " + value);
    }
  }

  int simulator() {
    return base;
  }

  int proxy() {
    return base + 1;
  }

  int nginx() {
    return base + 2;
  }

  int proxyH2c() {
    return base + 3;
  }

  int cluster() {
    return base + 4;
  }

  int clusterHttpManagement() {
    return base + 5;
  }

  int clusterWorkerManagement() {
    return base + 6;
  }

  int bare() {
    return base + 7;
  }

  static String url(int port) {
    return "http://127.0.0.1:" + port;
  }
}
