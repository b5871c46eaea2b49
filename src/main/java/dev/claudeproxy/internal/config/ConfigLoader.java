package dev.claudeproxy.internal.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the configuration: the JSON file, then environment variables, then system properties, later ones winning. */
public final class ConfigLoader {
  private ConfigLoader() {}

  public static Future<Settings> load(Vertx vertx, Path file) {
    ConfigRetrieverOptions options = new ConfigRetrieverOptions().setIncludeDefaultStores(false).setScanPeriod(0);
    if (file != null && Files.exists(file)) {
      options.addStore(new ConfigStoreOptions().setType("file").setFormat("json")
          .setConfig(new JsonObject().put("path", file.toString())));
    } else if (file != null && !file.equals(DEFAULT_FILE)) {
      return Future.failedFuture(new ConfigException("configuration file not found: " + file));
    }
    // raw-data keeps values as the strings they are; Settings does the typing with clear errors.
    options.addStore(new ConfigStoreOptions().setType("env").setConfig(new JsonObject().put("raw-data", true)));
    options.addStore(new ConfigStoreOptions().setType("sys").setConfig(new JsonObject().put("cache", false)));
    ConfigRetriever retriever = ConfigRetriever.create(vertx, options);
    return retriever.getConfig()
        .recover(e -> Future.failedFuture(new ConfigException("cannot read configuration: " + e.getMessage(), e)))
        .map(Settings::new)
        .eventually(() -> {
          retriever.close();
          return Future.succeededFuture();
        });
  }

  public static final Path DEFAULT_FILE = Path.of("conf", "config.json");
}
