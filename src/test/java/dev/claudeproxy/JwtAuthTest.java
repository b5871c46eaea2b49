package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.math.BigInteger;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bearer JWTs signed with HS256, RS256 and ES256 keys made here, and with a key from a JWKS document. */
class JwtAuthTest {
  private static final String SECRET = "a-test-secret-that-is-long-enough-for-hs256";
  private static final String BODY = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":8,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"token please\"}]}";
  private static final Vertx SIGNING = Vertx.vertx();
  private static TestStack stack;
  private static TestStack jwksStack;
  private static KeyPair rsa;
  private static KeyPair ec;
  private static KeyPair jwksRsa;

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("csp-jwt");
    KeyPairGenerator rsaGen = KeyPairGenerator.getInstance("RSA");
    rsaGen.initialize(2048);
    rsa = rsaGen.generateKeyPair();
    jwksRsa = rsaGen.generateKeyPair();
    KeyPairGenerator ecGen = KeyPairGenerator.getInstance("EC");
    ecGen.initialize(new ECGenParameterSpec("secp256r1"));
    ec = ecGen.generateKeyPair();
    Path rsaPem = Files.writeString(dir.resolve("rsa.pem"), pem("PUBLIC KEY", rsa.getPublic().getEncoded()));
    Path ecPem = Files.writeString(dir.resolve("ec.pem"), pem("PUBLIC KEY", ec.getPublic().getEncoded()));
    Path users = Files.writeString(dir.resolve("users.json"), """
        {"tiers": {"team": {"models": ["claude-sonnet-4-6"]}, "basic": {"models": ["claude-haiku-4-5"]}},
         "users": [{"id": "known", "keys": [], "tier": "team", "admin": true}]}
        """);
    stack = TestStack.start(Map.of("PROXY_USERS", users.toString(), "JWT_HS256_SECRET", SECRET,
        "JWT_PUBLIC_KEYS", "RS256:" + rsaPem + ",ES256:" + ecPem, "JWT_TIER_CLAIM", "tier",
        "JWT_DEFAULT_TIER", "basic", "JWT_ISSUER", "https://login.example"));
    RSAPublicKey pub = (RSAPublicKey) jwksRsa.getPublic();
    JsonObject jwk = new JsonObject().put("kty", "RSA").put("alg", "RS256").put("use", "sig").put("kid", "k1")
        .put("n", b64(pub.getModulus())).put("e", b64(pub.getPublicExponent()));
    Path jwks = Files.writeString(dir.resolve("jwks.json"), new JsonObject().put("keys", new JsonArray().add(jwk))
        .encode());
    jwksStack = TestStack.start(Map.of("PROXY_USERS", users.toString(), "JWT_JWKS_FILE", jwks.toString()));
  }

  @AfterAll
  static void stop() {
    stack.close();
    jwksStack.close();
    TestStack.await(SIGNING.close());
  }

  @Test
  void acceptsTokensSignedWithEachConfiguredKey() {
    JsonObject claims = claims("carol").put("tier", "team");
    for (String token : new String[] {sign("HS256", SECRET, claims), sign("RS256", privatePem(rsa), claims),
        sign("ES256", privatePem(ec), claims)}) {
      HttpResponse<String> r = post(stack, token, BODY);
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    }
  }

  @Test
  void acceptsATokenSignedWithAKeyFromTheJwksDocument() {
    String token = sign("RS256", privatePem(jwksRsa), claims("dave"), "k1");
    HttpResponse<String> r = post(jwksStack, token, BODY);
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  void theTierClaimAndTheDefaultTierDecideTheLimits() {
    String basic = sign("HS256", SECRET, claims("erin")); // no tier claim: JWT_DEFAULT_TIER "basic"
    assertEquals(403, post(stack, basic, BODY).statusCode(), "basic allows only haiku");
    assertEquals(200, post(stack, basic, BODY.replace("claude-sonnet-4-6", "claude-haiku-4-5")).statusCode());
    String team = sign("HS256", SECRET, claims("erin").put("tier", "team"));
    assertEquals(200, post(stack, team, BODY).statusCode());
    String known = sign("HS256", SECRET, claims("known")); // in the users file: its tier and admin flag
    HttpResponse<String> usage = stack.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create(stack.proxyUrl() + "/v1/usage")).header("authorization", "Bearer " + known).build());
    assertEquals("all", new JsonObject(usage.body()).getString("scope"));
  }

  @Test
  void refusesBadTokensNamingTheProblemWithoutTheToken() {
    long now = System.currentTimeMillis() / 1000;
    refused(sign("HS256", SECRET, claims("carol").put("exp", now - 600).put("iat", now - 1200)), "expired");
    refused(sign("HS256", "another-secret-that-is-also-long-enough-000", claims("carol")), "not valid");
    refused(sign("RS256", privatePem(jwksRsa), claims("carol")), "not valid"); // a key this proxy does not know
    refused(sign("HS256", SECRET, claims("carol").put("iss", "https://elsewhere.example")), "not valid");
    refused("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", "malformed");
    refused(sign("HS256", SECRET, new JsonObject().put("iss", "https://login.example")), "\"sub\" claim");
    refused(sign("HS256", SECRET, claims("carol").put("tier", "platinum")), "tier");
  }

  @Test
  void aTokenInTheApiKeyHeaderIsRefused() {
    String token = sign("HS256", SECRET, claims("carol"));
    HttpResponse<String> r = stack.post("/v1/messages", BODY, Map.of("content-type", "application/json",
        "x-api-key", token));
    assertEquals(401, r.statusCode());
    assertFalse(r.body().contains(token));
  }

  private static void refused(String token, String says) {
    HttpResponse<String> r = post(stack, token, BODY);
    assertEquals(401, r.statusCode(), r.body());
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertEquals("authentication_error", error.getString("type"));
    assertTrue(error.getString("message").contains(says), error.getString("message"));
    assertFalse(r.body().contains(token), "the token is not echoed");
  }

  private static HttpResponse<String> post(TestStack target, String token, String body) {
    return target.post("/v1/messages", body, Map.of("content-type", "application/json",
        "authorization", "Bearer " + token, "anthropic-version", "2026-10-21"));
  }

  private static JsonObject claims(String sub) {
    long now = System.currentTimeMillis() / 1000;
    return new JsonObject().put("sub", sub).put("iss", "https://login.example").put("iat", now).put("exp", now + 600);
  }

  private static String sign(String alg, String key, JsonObject claims) {
    return sign(alg, key, claims, null);
  }

  private static String sign(String alg, String key, JsonObject claims, String kid) {
    PubSecKeyOptions options = new PubSecKeyOptions().setAlgorithm(alg).setBuffer(key);
    if (kid != null) {
      options.setId(kid);
    }
    JWTAuth auth = JWTAuth.create(SIGNING, new JWTAuthOptions().addPubSecKey(options));
    // Dates are set in the claims themselves, so an expired token can be made too.
    return auth.generateToken(claims, new JWTOptions().setAlgorithm(alg).setNoTimestamp(true));
  }

  private static String privatePem(KeyPair pair) {
    return pem("PRIVATE KEY", pair.getPrivate().getEncoded());
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static String b64(BigInteger value) {
    byte[] bytes = value.toByteArray();
    int skip = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
    return Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOfRange(bytes, skip,
        bytes.length));
  }
}
