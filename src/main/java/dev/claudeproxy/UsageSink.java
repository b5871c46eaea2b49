package dev.claudeproxy;

/**
 * Where a host application receives the usage of every upstream call that carried tokens, for its own billing or
 * audit; the proxy's own accounting (limits, {@code /v1/usage}, the usage journal when {@code PROXY_USAGE_FILE} is
 * set) goes on as well. Calls refused before reaching the upstream make no record.
 *
 * <p>Called once per call, on an event loop of the HTTP side that owned the request: it must not block (hand the
 * record to a worker or a queue for anything slow). An exception it throws is logged and otherwise ignored.
 */
@FunctionalInterface
public interface UsageSink {
  /**
   * Takes one call's usage.
   *
   * @param usage the call's usage
   */
  void record(UsageRecord usage);
}
