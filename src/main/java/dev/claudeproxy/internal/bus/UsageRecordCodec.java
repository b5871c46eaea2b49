package dev.claudeproxy.internal.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;

/**
 * Publishes a usage record in the contract's form, a JSON {@code Buffer}, encoding it only for the consumers there
 * are. The bus transforms the sent object once per consumer it delivers to, so with no consumer on
 * {@link dev.claudeproxy.bus.BusAddresses#usage()} (the usual case: the proxy's own accounting takes the record from the stream's
 * inbox) a finished call costs no encoding at all. Consumers get a {@code Buffer} of their own, as they would from
 * a publish of the encoded bytes.
 */
final class UsageRecordCodec implements MessageCodec<JsonObject, Buffer> {
  static final String NAME = "claude-proxy.v1.usage-record";

  @Override
  public void encodeToWire(Buffer buffer, JsonObject record) {
    Buffer json = record.toBuffer();
    buffer.appendInt(json.length()).appendBuffer(json);
  }

  @Override
  public Buffer decodeFromWire(int pos, Buffer buffer) {
    int length = buffer.getInt(pos);
    return buffer.getBuffer(pos + 4, pos + 4 + length);
  }

  @Override
  public Buffer transform(JsonObject record) {
    return record.toBuffer();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
