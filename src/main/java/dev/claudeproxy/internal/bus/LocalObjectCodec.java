package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.StreamEvent;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Hands a message object to a consumer in the same JVM as it is: {@link LocalStart}s and {@link StreamEvent}s
 * between verticles of one node. Senders never change an object after sending it, so there is nothing to copy.
 * There is no wire form: to another node the same things go in the contract's form, headers and a {@code Buffer}.
 */
final class LocalObjectCodec<T> implements MessageCodec<T, T> {
  private final String name;

  LocalObjectCodec(Class<T> type) {
    this.name = "claude-proxy.v1.local." + type.getSimpleName();
  }

  @Override
  public void encodeToWire(Buffer buffer, T value) {
    throw new UnsupportedOperationException(name + " travels only inside one JVM");
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    throw new UnsupportedOperationException(name + " travels only inside one JVM");
  }

  @Override
  public T transform(T value) {
    return value;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
