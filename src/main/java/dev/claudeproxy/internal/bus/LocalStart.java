package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StartRequest;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A start request for the worker on the sender's own event loop ({@link LocalBus#localStartAddress}), sent as this
 * object with no reply asked for. The worker answers by calling back, on that same thread: {@code accepted} with its
 * control address, or {@code refused} with a failure code ({@link StreamBus#REFUSED_SHUTTING_DOWN}, ...) and a
 * reason. A request and its reply would cost a reply address registered on the bus and a timer for every stream;
 * the sender's own sweep enforces the start timeout instead. {@code wanted} says whether the sender still waits for
 * the stream: a start that reaches the worker after the sender gave it up (its start timeout passed in a queue behind
 * a burst, or its client left) is dropped without a word, rather than called upstream only to be cancelled.
 */
public record LocalStart(StartRequest request, Consumer<String> accepted, BiConsumer<Integer, String> refused,
    BooleanSupplier wanted) {}
