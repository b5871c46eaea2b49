package dev.claudeproxy.internal.api;

import java.util.Locale;

/**
 * How a request or a stream ended, as the access log, the usage record, the {@code end} event's summary and the
 * {@code claude_proxy_stream_duration} meter name it. Each constant's wire name is its name in lower case
 * ({@link #wire()}); the wire names are part of the documented log and bus formats, so a constant is never renamed.
 */
public enum Outcome {
  /** The answer reached its end ({@code message_stop}, or a whole non-streaming reply). */
  COMPLETED,
  /** The upstream answered with an error, before or during the stream. */
  UPSTREAM_ERROR,
  /** The stream broke: the upstream was cut, sent what cannot be read, or could not be reached. */
  FAILED,
  /** One of the upstream deadlines passed (first byte, idle, total). */
  TIMEOUT,
  /** The client went away before the end. */
  CANCELLED,
  /**
   * The client of a resumable stream went away; the stream went on without it, for a reader to pick it up
   * ({@code GET /v1/streams/{id}}).
   */
  DETACHED,
  /** The stream was stopped on request ({@code DELETE /v1/streams/{id}}). */
  STOPPED,
  /** The worker was stopped (undeployed) while the stream was open. */
  WORKER_STOPPED,
  /** The worker of an open stream stopped answering, or its address went away. */
  WORKER_LOST,
  /** No worker accepted the stream. */
  NO_WORKER,
  /** The client read nothing for longer than the stall timeout. */
  CLIENT_STALLED,
  /** A graceful stop's drain time ran out while the stream was open. */
  SHUTDOWN,
  /** The proxy refused the request itself (a status of 400 or more without a stream). */
  REJECTED;

  private final String wire = name().toLowerCase(Locale.ROOT);

  /** The name in logs, records and meters: {@code completed}, {@code worker_lost}, ... */
  public String wire() {
    return wire;
  }

  /** The outcome named {@code wire}, or {@code otherwise} when the name is missing or unknown. */
  public static Outcome fromWire(String wire, Outcome otherwise) {
    if (wire != null) {
      for (Outcome outcome : values()) {
        if (outcome.wire.equals(wire)) {
          return outcome;
        }
      }
    }
    return otherwise;
  }

  @Override
  public String toString() {
    return wire;
  }
}
