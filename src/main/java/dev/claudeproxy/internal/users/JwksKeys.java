package dev.claudeproxy.internal.users;

import dev.claudeproxy.internal.config.ConfigException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The JWK set an identity provider publishes at a URL ({@code JWT_JWKS_URL}), fetched with vertx-web-client: once by
 * {@link #load()}, at start, and again by {@link #keysFor(String)} when a token names a key id the set does not have,
 * since providers rotate their keys.
 *
 * <p>Refetches happen at most once per {@code minRefreshMs}, however many tokens name unknown keys, so a flood of bad
 * tokens cannot make the proxy hammer the provider; tokens that arrive while a fetch is under way wait for that one
 * rather than start their own. A refetch that fails is logged and the keys already held stay in use; a fetch that
 * fails in {@link #load()} fails it, so that the proxy does not start without keys.
 *
 * <p>Only signature keys of public-key types (RSA, EC, OKP) are kept: a key marked for encryption verifies nothing,
 * and a symmetric ({@code oct}) key in a document anyone can fetch would let anyone sign tokens.
 *
 * <p>Safe to use from any thread: the keys are an immutable snapshot behind a volatile field, the fetch state is
 * guarded by this object's lock, and futures complete on the caller's own context.
 */
public final class JwksKeys {
  private static final Logger LOG = Logger.getLogger(JwksKeys.class.getName());
  /** How long one fetch may take, connecting included. */
  static final long FETCH_TIMEOUT_MS = 10_000;
  private static final Set<String> PUBLIC_KEY_TYPES = Set.of("RSA", "EC", "OKP");

  /**
   * One fetched set.
   *
   * @param jwks the kept keys, as JWK objects
   * @param kids the key ids among them
   */
  public record Keys(List<JsonObject> jwks, Set<String> kids) {
    static final Keys NONE = new Keys(List.of(), Set.of());
  }

  private final Vertx vertx;
  private final WebClient client;
  private final URI url;
  private final long minRefreshMs;
  private volatile Keys keys = Keys.NONE;
  /** The fetch under way, or null; guarded by {@code this}. */
  private Future<Void> inFlight;
  /** When the last fetch began; guarded by {@code this}. */
  private long lastFetchAt;

  /**
   * Keys from {@code url}, refetched at most once per {@code minRefreshMs}; nothing is fetched before
   * {@link #load()}.
   */
  public JwksKeys(Vertx vertx, URI url, long minRefreshMs) {
    this.vertx = vertx;
    this.client = WebClient.create(vertx, new WebClientOptions()
        .setUserAgent("claude-stream-proxy/0.1")
        .setConnectTimeout((int) FETCH_TIMEOUT_MS));
    this.url = url;
    this.minRefreshMs = minRefreshMs;
    if ("http".equalsIgnoreCase(url.getScheme()) && !isLoopback(url.getHost())) {
      LOG.warning(() -> "JWT_JWKS_URL " + url + " is plain HTTP: whoever can change the answer on the way can sign"
          + " tokens this proxy accepts; use https");
    }
  }

  /** Fetches the set; fails with a {@link ConfigException} naming the URL and the reason when it cannot. */
  public Future<Void> load() {
    synchronized (this) {
      lastFetchAt = System.currentTimeMillis();
    }
    return fetch()
        .<Void>map(fetched -> {
          keys = fetched;
          return null;
        })
        .recover(e -> Future.failedFuture(new ConfigException("JWT_JWKS_URL " + url + " could not be loaded: "
            + reason(e), e)));
  }

  /**
   * The keys to check a token naming {@code kid} against: the ones held when they have that key id (or the token
   * names none), else those of a refetch, when one may happen now, or of the refetch already under way. The answer
   * may still lack {@code kid}: the provider does not have it, the refetch failed, or the last one is too recent.
   */
  public Future<Keys> keysFor(String kid) {
    Keys held = keys;
    if (kid == null || held.kids().contains(kid)) {
      return Future.succeededFuture(held);
    }
    Promise<Void> started;
    Future<Void> refresh;
    synchronized (this) {
      if (inFlight != null) {
        refresh = inFlight;
        started = null;
      } else if (System.currentTimeMillis() - lastFetchAt < minRefreshMs) {
        return Future.succeededFuture(keys);
      } else {
        lastFetchAt = System.currentTimeMillis();
        started = Promise.promise();
        refresh = inFlight = started.future();
      }
    }
    if (started != null) {
      // Begun outside the lock: a fetch that fails at once completes in this call.
      fetch().onComplete(ar -> {
        if (ar.succeeded()) {
          keys = ar.result();
        } else {
          // The key id is the caller's text: it stays out of the log.
          LOG.warning(() -> "JWT_JWKS_URL " + url + " could not be fetched again for a token naming an unknown key;"
              + " the keys already held stay in use: " + reason(ar.cause()));
        }
        synchronized (this) {
          inFlight = null;
        }
        started.complete();
      });
    }
    return onCallersContext(refresh).map(v -> keys);
  }

  /** Closes the HTTP client. */
  public void close() {
    client.close();
  }

  private Future<Keys> fetch() {
    return client.getAbs(url.toString())
        .timeout(FETCH_TIMEOUT_MS)
        .putHeader("accept", "application/json")
        .send()
        .compose(response -> {
          if (response.statusCode() != 200) {
            return Future.failedFuture("the provider answered HTTP " + response.statusCode());
          }
          try {
            return Future.succeededFuture(parse(vertx, response.body()));
          } catch (IllegalArgumentException e) {
            return Future.failedFuture(e.getMessage());
          }
        });
  }

  /**
   * The signature keys of a JWK set document that vertx-auth-jwt can use; an {@link IllegalArgumentException} saying
   * why when it has none.
   */
  static Keys parse(Vertx vertx, Buffer body) {
    JsonArray array;
    try {
      array = body == null ? null : new JsonObject(body).getJsonArray("keys");
    } catch (DecodeException | ClassCastException e) {
      array = null;
    }
    if (array == null) {
      throw new IllegalArgumentException("the answer is not a JWK set (a JSON object with a \"keys\" array)");
    }
    List<JsonObject> kept = new ArrayList<>();
    Set<String> kids = new HashSet<>();
    for (Object entry : array) {
      if (!(entry instanceof JsonObject key) || !(key.getValue("kty") instanceof String kty)
          || !PUBLIC_KEY_TYPES.contains(kty)) {
        continue;
      }
      Object use = key.getValue("use");
      if (use != null && !"sig".equals(use)) {
        continue;
      }
      if (!TokenVerifier.usable(vertx, key)) {
        LOG.warning(() -> "JWT_JWKS_URL: key " + key.getValue("kid") + " (" + kty + ") cannot be used; left out");
        continue;
      }
      kept.add(key.copy());
      if (key.getValue("kid") instanceof String kid) {
        kids.add(kid);
      }
    }
    if (kept.isEmpty()) {
      throw new IllegalArgumentException("the JWK set has no signature keys this proxy can use"
          + " (RSA, EC or OKP, \"use\": \"sig\")");
    }
    return new Keys(List.copyOf(kept), Set.copyOf(kids));
  }

  /**
   * {@code shared} completing on the caller's context: the fetch's future completes on the context that began it,
   * while tokens waiting for it are checked on the event loops of their own requests.
   */
  private static <T> Future<T> onCallersContext(Future<T> shared) {
    Context context = Vertx.currentContext();
    if (context == null) {
      return shared;
    }
    Promise<T> promise = Promise.promise();
    shared.onComplete(ar -> context.runOnContext(v -> promise.handle(ar)));
    return promise.future();
  }

  private static boolean isLoopback(String host) {
    return "localhost".equalsIgnoreCase(host) || host.startsWith("127.") || "[::1]".equals(host) || "::1".equals(host);
  }

  private static String reason(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
