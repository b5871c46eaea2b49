package dev.claudeproxy.internal.users;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.claudeproxy.internal.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The users file:
 *
 * <pre>
 * {"tiers": {"team": {"models": ["claude-sonnet-4-6"], "maxTokens": 4096, "requestsPerMinute": 60,
 *                     "tokensPerMinute": 200000, "concurrentStreams": 4, "dailyTokens": 5000000,
 *                     "system": "Answer as the Acme assistant."}},
 *  "users": [{"id": "alice", "keys": ["sha256:&lt;hex&gt;"], "tier": "team"},
 *            {"id": "ops", "keys": ["sha256:&lt;hex&gt;"], "admin": true, "limits": {"concurrentStreams": 50}}]}
 * </pre>
 *
 * <p>Reading validates every entry and fails with a message naming the line and the field, so a mistake stops the
 * proxy at start rather than locking users out later. Writing (adding a key) goes through a temporary file and an
 * atomic rename, so the file is never half-written.
 */
public final class UsersFile {
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final Pattern HASH = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._@-]{1,128}");
  private static final Set<String> TOP_FIELDS = Set.of("tiers", "users");
  private static final Set<String> USER_FIELDS = Set.of("id", "keys", "tier", "admin", "limits");
  private static final Set<String> LIMIT_FIELDS = Set.of("models", "maxTokens", "requestsPerMinute",
      "tokensPerMinute", "concurrentStreams", "dailyTokens", "system");

  private UsersFile() {}

  public static UserDirectory read(Path file) {
    String text = readText(file);
    return new Reader(file, text).directory(parse(file, text));
  }

  /** Adds {@code key}'s hash to user {@code id}, creating the user and the file if needed. */
  public static void addKey(Path file, String id, String key) {
    if (!ID.matcher(id).matches()) {
      throw new ConfigException("user id must be 1-128 letters, digits or . _ @ -, got \"" + id + "\"");
    }
    ObjectNode root;
    if (Files.exists(file)) {
      String text = readText(file);
      root = parse(file, text);
      new Reader(file, text).directory(root); // validate before changing anything
    } else {
      root = MAPPER.createObjectNode();
    }
    ArrayNode users = root.has("users") ? (ArrayNode) root.get("users") : root.putArray("users");
    ObjectNode user = null;
    for (JsonNode node : users) {
      if (id.equals(node.path("id").asText())) {
        user = (ObjectNode) node;
      }
    }
    if (user == null) {
      user = users.addObject().put("id", id);
    }
    ArrayNode keys = user.has("keys") ? (ArrayNode) user.get("keys") : user.putArray("keys");
    keys.add(ApiKeys.hash(key));
    try {
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path tmp = Files.createTempFile(parent, ".users", ".tmp");
      MAPPER.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new ConfigException("cannot write users file " + file + ": " + e.getMessage(), e);
    }
  }

  private static String readText(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException("cannot read users file " + file + ": " + e.getMessage(), e);
    }
  }

  private static ObjectNode parse(Path file, String text) {
    JsonNode root;
    try {
      root = MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : ", line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new ConfigException("users file " + file + where + ": not valid JSON: " + e.getOriginalMessage());
    }
    if (!(root instanceof ObjectNode obj)) {
      throw new ConfigException("users file " + file + " must hold a JSON object with a \"users\" array");
    }
    return obj;
  }

  /** Validates a parsed file, naming the line of each mistake. */
  private static final class Reader {
    private final Path file;
    private final Map<String, Integer> lines;

    Reader(Path file, String text) {
      this.file = file;
      this.lines = lineNumbers(text);
    }

    UserDirectory directory(ObjectNode root) {
      unknownFields(root, "", TOP_FIELDS);
      Map<String, Limits> tiers = new LinkedHashMap<>();
      JsonNode tierNodes = root.get("tiers");
      if (tierNodes != null) {
        if (!tierNodes.isObject()) {
          throw mistake("/tiers", "tiers", "must be an object of tier name to limits");
        }
        for (var it = tierNodes.fields(); it.hasNext(); ) {
          var tier = it.next();
          if (!ID.matcher(tier.getKey()).matches()) {
            throw mistake("/tiers/" + tier.getKey(), "tiers." + tier.getKey(),
                "is not a valid tier name (letters, digits, . _ @ -)");
          }
          tiers.put(tier.getKey(), limits(tier.getValue(), "/tiers/" + tier.getKey(), "tiers." + tier.getKey()));
        }
      }
      List<User> result = new ArrayList<>();
      JsonNode users = root.get("users");
      if (users != null && !users.isArray()) {
        throw mistake("/users", "users", "must be an array");
      }
      Set<String> ids = new HashSet<>();
      Set<String> hashes = new HashSet<>();
      for (int i = 0; users != null && i < users.size(); i++) {
        JsonNode node = users.get(i);
        String at = "/users/" + i;
        String name = "users[" + i + "]";
        if (!node.isObject()) {
          throw mistake(at, name, "must be an object");
        }
        unknownFields(node, at, USER_FIELDS);
        JsonNode id = node.get("id");
        if (id == null || !id.isTextual() || !ID.matcher(id.asText()).matches()) {
          throw mistake(at + (id == null ? "" : "/id"), name + ".id", "must be 1-128 letters, digits or . _ @ -");
        }
        if (!ids.add(id.asText())) {
          throw mistake(at + "/id", name + ".id", "\"" + id.asText() + "\" appears twice");
        }
        JsonNode keys = node.get("keys");
        if (keys == null || !keys.isArray()) {
          throw mistake(at + (keys == null ? "" : "/keys"), name + ".keys",
              "must be an array of \"sha256:<hex>\" strings");
        }
        List<String> keyHashes = new ArrayList<>();
        for (int k = 0; k < keys.size(); k++) {
          JsonNode key = keys.get(k);
          String keyAt = at + "/keys/" + k;
          if (!key.isTextual() || !HASH.matcher(key.asText()).matches()) {
            throw mistake(keyAt, name + ".keys[" + k + "]",
                "must be \"sha256:\" and 64 lower-case hex digits (store key hashes, never keys)");
          }
          if (!hashes.add(key.asText())) {
            throw mistake(keyAt, name + ".keys[" + k + "]", "is listed twice");
          }
          keyHashes.add(key.asText());
        }
        JsonNode tier = node.get("tier");
        if (tier != null && (!tier.isTextual() || !tiers.containsKey(tier.asText()))) {
          throw mistake(at + "/tier", name + ".tier", "names no tier in \"tiers\"" + (tier.isTextual()
              ? ": \"" + tier.asText() + "\"" : ""));
        }
        JsonNode admin = node.get("admin");
        if (admin != null && !admin.isBoolean()) {
          throw mistake(at + "/admin", name + ".admin", "must be true or false");
        }
        Limits limits = node.has("limits") ? limits(node.get("limits"), at + "/limits", name + ".limits") : null;
        result.add(new User(id.asText(), keyHashes, tier == null ? null : tier.asText(),
            admin != null && admin.asBoolean(), limits));
      }
      return new UserDirectory(result, tiers);
    }

    private Limits limits(JsonNode node, String at, String name) {
      if (!node.isObject()) {
        throw mistake(at, name, "must be an object of limits");
      }
      unknownFields(node, at, LIMIT_FIELDS);
      List<String> models = null;
      JsonNode m = node.get("models");
      if (m != null) {
        if (!m.isArray()) {
          throw mistake(at + "/models", name + ".models", "must be an array of model ids");
        }
        models = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
          if (!m.get(i).isTextual() || m.get(i).asText().isBlank()) {
            throw mistake(at + "/models/" + i, name + ".models[" + i + "]", "must be a model id");
          }
          models.add(m.get(i).asText());
        }
      }
      JsonNode system = node.get("system");
      if (system != null && !system.isTextual()) {
        throw mistake(at + "/system", name + ".system", "must be a string");
      }
      return new Limits(models,
          count(node, at, name, "maxTokens", Integer.MAX_VALUE) == null ? null
              : count(node, at, name, "maxTokens", Integer.MAX_VALUE).intValue(),
          toInt(count(node, at, name, "requestsPerMinute", Integer.MAX_VALUE)),
          count(node, at, name, "tokensPerMinute", Long.MAX_VALUE),
          toInt(count(node, at, name, "concurrentStreams", Integer.MAX_VALUE)),
          count(node, at, name, "dailyTokens", Long.MAX_VALUE),
          system == null ? null : system.asText());
    }

    private Long count(JsonNode node, String at, String name, String field, long max) {
      JsonNode v = node.get(field);
      if (v == null) {
        return null;
      }
      if (!v.canConvertToExactIntegral() || !v.canConvertToLong() || v.asLong() < 1 || v.asLong() > max) {
        throw mistake(at + "/" + field, name + "." + field, "must be a whole number from 1 to " + max);
      }
      return v.asLong();
    }

    private static Integer toInt(Long v) {
      return v == null ? null : v.intValue();
    }

    private void unknownFields(JsonNode node, String at, Set<String> known) {
      for (var it = node.fieldNames(); it.hasNext(); ) {
        String field = it.next();
        if (!known.contains(field)) {
          String where = at.replaceAll("/(\\d+)", "[$1]").replace('/', '.');
          throw mistake(at + "/" + field, (where.isEmpty() ? "" : where.substring(1) + ".") + field,
              "is not a known field (known: " + String.join(", ", known.stream().sorted().toList()) + ")");
        }
      }
    }

    private ConfigException mistake(String pointer, String field, String problem) {
      Integer line = lines.get(pointer);
      return new ConfigException("users file " + file + (line == null ? "" : ", line " + line) + ": " + field + " "
          + problem);
    }

    /** The line each value starts on, keyed by its JSON pointer. */
    private static Map<String, Integer> lineNumbers(String text) {
      Map<String, Integer> lines = new HashMap<>();
      try (JsonParser parser = new JsonFactory().createParser(text)) {
        for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
          if (token == JsonToken.FIELD_NAME || token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
            continue;
          }
          String pointer = parser.getParsingContext().pathAsPointer().toString();
          lines.putIfAbsent(pointer, parser.currentTokenLocation().getLineNr());
        }
      } catch (IOException e) {
        // The tree parse reports malformed JSON with its own location.
      }
      return lines;
    }
  }
}
