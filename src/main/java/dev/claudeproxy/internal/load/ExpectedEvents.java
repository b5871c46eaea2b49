package dev.claudeproxy.internal.load;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.upstream.SseEvent;
import dev.claudeproxy.internal.upstream.SseParser;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The events the simulator sends for one plan, pings left out, one at a time: what a {@code /v1/messages} stream
 * through the proxy must equal byte for byte. Made a piece at a time from the plan, so thousands of open streams each
 * hold a few events at most.
 */
final class ExpectedEvents {
  private final Iterator<Buffer> pieces;
  private final SseParser parser = new SseParser();
  private final ArrayDeque<SseEvent> ready = new ArrayDeque<>();

  ExpectedEvents(ReplyPlan plan, String messageId) {
    this.pieces = plan.pieces(messageId);
  }

  /** The next event, or null after the last. */
  SseEvent next() {
    while (ready.isEmpty() && pieces.hasNext()) {
      parser.feed(pieces.next(), event -> {
        if (!"ping".equals(event.name())) {
          ready.add(event);
        }
      });
    }
    return ready.poll();
  }
}
