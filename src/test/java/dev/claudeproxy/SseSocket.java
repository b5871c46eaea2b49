package dev.claudeproxy;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 request over a plain socket whose SSE answer is read one event at a time, byte for byte: a client
 * that can stop reading between any two events (its small receive buffer then fills and the server must hold back),
 * or cut the connection there, as a dropped network does.
 */
final class SseSocket implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final int status;
  private final Map<String, String> headers = new LinkedHashMap<>();
  private final boolean chunked;
  private long bodyLeft;
  /** Body bytes read and not yet handed out, from {@code start} to {@code end}; {@code scanned}: no event end before it. */
  private byte[] pending = new byte[65536];
  private int start;
  private int end;
  private int scanned;
  private boolean ended;

  private SseSocket(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream(), 4096);
    String statusLine = line();
    if (statusLine == null) {
      throw new IOException("the connection closed before the status line");
    }
    status = Integer.parseInt(statusLine.split(" ")[1]);
    for (String h = line(); h != null && !h.isEmpty(); h = line()) {
      int colon = h.indexOf(':');
      headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
    }
    chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
    bodyLeft = headers.containsKey("content-length") ? Long.parseLong(headers.get("content-length")) : -1;
  }

  /** Sends {@code method path} to {@code baseUrl} (http://host:port) and returns once the answer's head is read. */
  static SseSocket open(String baseUrl, String method, String path, Map<String, String> requestHeaders, String body)
      throws IOException {
    return open(baseUrl, method, path, requestHeaders, body, 0);
  }

  /** As {@link #open}, with the socket's receive buffer set to {@code receiveBuffer} bytes (0: the system's). */
  static SseSocket open(String baseUrl, String method, String path, Map<String, String> requestHeaders, String body,
      int receiveBuffer) throws IOException {
    URI uri = URI.create(baseUrl);
    Socket socket = new Socket();
    if (receiveBuffer > 0) {
      socket.setReceiveBufferSize(receiveBuffer);
    }
    socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
    socket.setSoTimeout(60_000);
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
        .append("host: ").append(uri.getHost()).append("\r\n");
    requestHeaders.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
    if (body != null) {
      head.append("content-length: ").append(bytes.length).append("\r\n");
    }
    head.append("\r\n");
    OutputStream out = socket.getOutputStream();
    out.write(head.toString().getBytes(StandardCharsets.UTF_8));
    out.write(bytes);
    out.flush();
    try {
      return new SseSocket(socket);
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  int status() {
    return status;
  }

  /** A response header (name in any case), or null. */
  String header(String name) {
    return headers.get(name.toLowerCase(Locale.ROOT));
  }

  /**
   * The next whole event of the body with its blank line ({@code "event: x\ndata: {...}\n\n"}, or a comment), or null
   * once the body has ended. A body cut before its end (no last chunk) fails with an IOException.
   */
  String next() throws IOException {
    while (true) {
      String event = takeEvent();
      if (event != null) {
        return event;
      }
      if (ended) {
        if (end > start) {
          throw new IOException("the body ended inside an event: "
              + new String(pending, start, end - start, StandardCharsets.UTF_8));
        }
        return null;
      }
      readSome();
    }
  }

  /** Every event to the end of the body. */
  List<String> rest() throws IOException {
    List<String> events = new ArrayList<>();
    for (String e = next(); e != null; e = next()) {
      events.add(e);
    }
    return events;
  }

  /** The whole body as text: for an answer that is not SSE (an error's JSON). */
  String body() throws IOException {
    while (!ended) {
      readSome();
    }
    String all = new String(pending, start, end - start, StandardCharsets.UTF_8);
    start = end;
    return all;
  }

  /** Whether the server closes the connection once its answer is read (false if it keeps it open for 5 s). */
  boolean closedByServer() throws IOException {
    body();
    socket.setSoTimeout(5_000);
    try {
      return in.read() == -1;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    }
  }

  /** Cuts the connection, whatever is still unread. */
  @Override
  public void close() throws IOException {
    socket.close();
  }

  private String takeEvent() {
    for (int i = Math.max(start, scanned); i + 1 < end; i++) {
      if (pending[i] == '\n' && pending[i + 1] == '\n') {
        String event = new String(pending, start, i + 2 - start, StandardCharsets.UTF_8);
        start = i + 2;
        scanned = start;
        return event;
      }
    }
    scanned = Math.max(start, end - 1);
    return null;
  }

  private void append(byte[] data, int length) {
    if (end + length > pending.length) {
      int kept = end - start;
      byte[] bigger = new byte[Math.max(pending.length, 2 * (kept + length))];
      System.arraycopy(pending, start, bigger, 0, kept);
      pending = bigger;
      scanned -= start;
      start = 0;
      end = kept;
    }
    System.arraycopy(data, 0, pending, end, length);
    end += length;
  }

  /** Reads one chunk (or what a plain body has next) into {@link #pending}. */
  private void readSome() throws IOException {
    if (chunked) {
      String size = line();
      if (size == null) {
        throw new IOException("the connection closed before the last chunk");
      }
      int n = Integer.parseInt(size.split(";")[0].trim(), 16);
      if (n == 0) {
        for (String trailer = line(); trailer != null && !trailer.isEmpty(); trailer = line()) {
          // trailers: none expected, skipped
        }
        ended = true;
        return;
      }
      byte[] data = in.readNBytes(n);
      if (data.length < n) {
        throw new IOException("the connection closed inside a chunk");
      }
      append(data, n);
      line();
    } else if (bodyLeft == 0) {
      ended = true;
    } else {
      byte[] buf = new byte[8192];
      int n = in.read(buf, 0, bodyLeft < 0 ? buf.length : (int) Math.min(buf.length, bodyLeft));
      if (n < 0) {
        ended = true;
        return;
      }
      append(buf, n);
      if (bodyLeft > 0) {
        bodyLeft -= n;
      }
    }
  }

  /** One CRLF-ended line of the head or of the chunk framing, without its end; null at the end of the stream. */
  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c != -1; c = in.read()) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }
}
