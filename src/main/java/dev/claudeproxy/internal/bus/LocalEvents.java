package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.StreamEvent;
import java.util.List;

/**
 * Several events of one stream that a worker sends to an inbox in this JVM as one message, to be read in order: what
 * one pass of the worker's event loop produced (for a short answer, often the head, the data, the end and the usage
 * record together). Like a {@link StreamEvent}, it travels only inside one JVM and is never changed once sent.
 */
public record LocalEvents(List<StreamEvent> events) {
}
