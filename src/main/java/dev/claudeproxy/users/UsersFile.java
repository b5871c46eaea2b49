package dev.claudeproxy.users;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.claudeproxy.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The users file: {@code {"users":[{"id":"alice","keys":["sha256:<hex>"]}]}}.
 *
 * <p>Reading validates every entry and fails with a message naming the line and the field, so a mistake stops the
 * proxy at start rather than locking users out later. Writing (adding a key) goes through a temporary file and an
 * atomic rename, so the file is never half-written.
 */
public final class UsersFile {
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final Pattern HASH = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern USER_ID = Pattern.compile("[A-Za-z0-9._@-]{1,128}");

  private UsersFile() {}

  public static UserDirectory read(Path file) {
    ObjectNode root = parse(file);
    return new UserDirectory(users(file, root));
  }

  /** Adds {@code key}'s hash to user {@code id}, creating the user and the file if needed. */
  public static void addKey(Path file, String id, String key) {
    if (!USER_ID.matcher(id).matches()) {
      throw new ConfigException("user id must be 1-128 letters, digits or . _ @ -, got \"" + id + "\"");
    }
    ObjectNode root = Files.exists(file) ? parse(file) : MAPPER.createObjectNode();
    users(file, root); // validate before changing anything
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

  private static ObjectNode parse(Path file) {
    JsonNode root;
    try {
      root = MAPPER.readTree(Files.readString(file));
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new ConfigException("users file " + file + " is not valid JSON" + where + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new ConfigException("cannot read users file " + file + ": " + e.getMessage(), e);
    }
    if (!(root instanceof ObjectNode obj)) {
      throw new ConfigException("users file " + file + " must hold a JSON object with a \"users\" array");
    }
    return obj;
  }

  private static List<User> users(Path file, ObjectNode root) {
    JsonNode users = root.get("users");
    if (users == null) {
      return List.of();
    }
    if (!users.isArray()) {
      throw new ConfigException("users file " + file + ": \"users\" must be an array");
    }
    List<User> result = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    Set<String> hashes = new HashSet<>();
    for (int i = 0; i < users.size(); i++) {
      JsonNode node = users.get(i);
      String where = "users file " + file + ", users[" + i + "]";
      if (!node.isObject()) {
        throw new ConfigException(where + " must be an object");
      }
      JsonNode id = node.get("id");
      if (id == null || !id.isTextual() || !USER_ID.matcher(id.asText()).matches()) {
        throw new ConfigException(where + ".id must be 1-128 letters, digits or . _ @ -");
      }
      if (!ids.add(id.asText())) {
        throw new ConfigException(where + ".id \"" + id.asText() + "\" appears twice");
      }
      JsonNode keys = node.get("keys");
      if (keys == null || !keys.isArray()) {
        throw new ConfigException(where + ".keys must be an array of \"sha256:<hex>\" strings");
      }
      List<String> keyHashes = new ArrayList<>();
      for (int k = 0; k < keys.size(); k++) {
        JsonNode key = keys.get(k);
        if (!key.isTextual() || !HASH.matcher(key.asText()).matches()) {
          throw new ConfigException(where + ".keys[" + k + "] must be \"sha256:\" and 64 lower-case hex digits"
              + " (store key hashes, never keys)");
        }
        if (!hashes.add(key.asText())) {
          throw new ConfigException(where + ".keys[" + k + "] is listed twice");
        }
        keyHashes.add(key.asText());
      }
      result.add(new User(id.asText(), keyHashes));
    }
    return result;
  }
}
