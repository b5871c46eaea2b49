package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamEvent;
import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The worker's side of one stream: sends its events, numbered, to the owning HTTP verticle's inbox.
 *
 * <p>Sequence numbers start at 0 and grow by one per message, whatever its kind, so the receiver can tell a lost or
 * reordered message from a quiet stream.
 */
public final class StreamEventSender {
  private final EventBus bus;
  private final String address;
  private final String streamId;
  /** Whether the inbox is in this JVM: then each event goes as one {@link StreamEvent} object. */
  private final boolean local;
  private long seq;
  private boolean finished;
  /** While {@link #hold} is in force: the events held for the inbox in this JVM, in order, or null if none yet. */
  private List<StreamEvent> held;
  private boolean holding;
  /** Never changed: the bus only reads the options it is given. */
  private static final DeliveryOptions IN_THIS_JVM = new DeliveryOptions().setLocalOnly(true);

  /** A sender of the contract's form, headers and a {@code Buffer}, whatever the inbox. */
  public StreamEventSender(EventBus bus, String address, String streamId) {
    this(bus, address, streamId, false);
  }

  private StreamEventSender(EventBus bus, String address, String streamId, boolean local) {
    this.bus = bus;
    this.address = address;
    this.streamId = streamId;
    this.local = local;
  }

  /** A sender to {@code address}: as objects when the inbox is in this JVM, else in the contract's form. */
  public static StreamEventSender to(Vertx vertx, BusAddresses bus, String address, String streamId) {
    return new StreamEventSender(vertx.eventBus(), address, streamId, LocalBus.isLocalInbox(vertx, bus, address));
  }

  /** The upstream response's status and the headers worth passing on. */
  public void head(int status, MultiMap headers) {
    JsonObject h = new JsonObject();
    headers.forEach(e -> h.put(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue()));
    head(status, h);
  }

  /** As {@link #head(int, MultiMap)}, with the headers already as JSON, by lower-case name (not to be changed after). */
  public void head(int status, JsonObject headers) {
    send(StreamBus.EV_HEAD, null, new JsonObject().put("status", status).put("headers", headers), -1);
  }

  /** A head event as it is: {@code status}, {@code headers} and whatever else a reader needs (not to be changed after). */
  public void head(JsonObject event) {
    send(StreamBus.EV_HEAD, null, event, -1);
  }

  /** Bytes for the client, ready to write; {@code events} counts the client-visible events in them. */
  public void data(Buffer bytes, int events) {
    send(StreamBus.EV_DATA, bytes, null, events);
  }

  /** As {@link #data(Buffer, int)}, to an inbox on another node, with the usage so far ({@link StreamBus#H_USAGE}). */
  public void data(Buffer bytes, int events, String usage) {
    if (finished) {
      return;
    }
    DeliveryOptions options = contract(StreamBus.EV_DATA, seq++, events).addHeader(StreamBus.H_USAGE, usage);
    bus.send(address, bytes, options);
  }

  /** Whether the inbox is on another node (or in a client that reads the contract's form). */
  public boolean remote() {
    return !local;
  }

  /**
   * The stream ended as the upstream ended it; {@code summary} holds usage, stop reason and outcome. Like every JSON
   * object given to this sender, it is not to be changed afterwards: an inbox in this JVM reads that very object.
   */
  public void end(JsonObject summary) {
    send(StreamBus.EV_END, null, summary, -1);
    finished = true;
  }

  /** The stream failed; the HTTP side turns the error into a status (before the head) or an SSE error event. */
  public void error(ApiError error) {
    send(StreamBus.EV_ERROR, null, StreamErrors.encode(error), -1);
    finished = true;
  }

  /** As {@link #error(ApiError)}, with response headers for the HTTP side to add when it answers with a status. */
  public void error(ApiError error, JsonObject headers) {
    send(StreamBus.EV_ERROR, null, StreamErrors.encode(error).put("headers", headers), -1);
    finished = true;
  }

  /** The stream's last event, {@code end} or {@code error} ({@code kind}), with its JSON as those methods build it. */
  public void last(String kind, JsonObject json) {
    send(kind, null, json, -1);
    finished = true;
  }

  /** A sender to the same inbox, about another stream: for a usage report sent to a reader's inbox. */
  public StreamEventSender about(String otherStream) {
    return new StreamEventSender(bus, address, otherStream, local);
  }

  /** The inbox the events go to. */
  public String address() {
    return address;
  }

  /**
   * How the call ended and the usage it saw: sent last, after {@code end} or {@code error}, and also for calls the
   * client cancelled; it carries no sequence number, since the stream may be gone by then.
   */
  public void usage(JsonObject outcome) {
    deliver(StreamBus.EV_USAGE, -1, -1, null, outcome);
  }

  public boolean finished() {
    return finished;
  }

  /**
   * Holds what is sent from now on to an inbox in this JVM until {@link #flush}, which sends it all as one message
   * (a {@link LocalEvents}): the caller promises the flush before the end of the current pass of its event loop.
   * An inbox elsewhere is sent each event at once, as ever.
   */
  public void hold() {
    holding = local;
  }

  /** Sends what {@link #hold} held, if anything, and sends each event at once again. */
  public void flush() {
    holding = false;
    List<StreamEvent> out = held;
    if (out == null) {
      return;
    }
    held = null;
    bus.send(address, out.size() == 1 ? out.get(0) : new LocalEvents(out), IN_THIS_JVM);
  }

  /** Sends one numbered event: {@code bytes} for data, {@code json} for the other kinds. */
  private void send(String kind, Buffer bytes, JsonObject json, int events) {
    if (finished) {
      return;
    }
    deliver(kind, seq++, events, bytes, json);
  }

  /**
   * Puts one event on the bus: as one object to an inbox in this JVM (local only, so a clustered bus need not look
   * the inbox up in the cluster), else in the contract's form. A {@code seq} or {@code events} of -1 is left out.
   */
  private void deliver(String kind, long seq, int events, Buffer bytes, JsonObject json) {
    if (local) {
      StreamEvent event = new StreamEvent(kind, streamId, seq, events, bytes, json);
      if (!holding) {
        bus.send(address, event, IN_THIS_JVM);
        return;
      }
      if (held == null) {
        held = new ArrayList<>(4);
      }
      held.add(event);
      return;
    }
    bus.send(address, bytes != null ? bytes : Buffer.buffer(json.encode()), contract(kind, seq, events));
  }

  /** The contract's headers of one event; a {@code seq} or {@code events} of -1 is left out. */
  private DeliveryOptions contract(String kind, long seq, int events) {
    DeliveryOptions options = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, kind)
        .addHeader(StreamBus.H_STREAM, streamId);
    if (seq >= 0) {
      options.addHeader(StreamBus.H_SEQ, Long.toString(seq));
    }
    if (events >= 0) {
      options.addHeader(StreamBus.H_EVENTS, Integer.toString(events));
    }
    return options;
  }
}
