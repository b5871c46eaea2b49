package dev.claudeproxy.bus;

/** What the HTTP side wants back from a stream; sent in {@link StreamBus#H_ENDPOINT}. */
public enum Endpoint {
  /** The upstream response as it is: SSE bytes unchanged, or the JSON body. */
  MESSAGES("messages"),
  /** The browser chat format: small SSE events {@code text}, {@code thinking}, {@code tool_use}, ... with ids. */
  CHAT("chat");

  private final String wire;

  Endpoint(String wire) {
    this.wire = wire;
  }

  /**
   * The name of this endpoint on the bus.
   *
   * @return the value of {@link StreamBus#H_ENDPOINT} for it
   */
  public String wire() {
    return wire;
  }

  /**
   * The endpoint a {@link StreamBus#H_ENDPOINT} value names.
   *
   * @param value the header's value
   * @return the endpoint
   * @throws IllegalArgumentException when it names none
   */
  public static Endpoint fromWire(String value) {
    for (Endpoint e : values()) {
      if (e.wire.equals(value)) {
        return e;
      }
    }
    throw new IllegalArgumentException("unknown endpoint: " + value);
  }
}
