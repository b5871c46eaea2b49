package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.users.ApiKeys;
import dev.claudeproxy.internal.users.UsersFile;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "keys", mixinStandardHelpOptions = true, description = "Manage users' API keys.",
    subcommands = KeysCommand.Create.class)
final class KeysCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create an API key for a user (the user is added if new). The key is printed once; only its"
          + " SHA-256 hash is stored.")
  static final class Create implements Callable<Integer> {
    @Option(names = "--user", required = true, description = "User id.")
    String user;

    @Option(names = "--users-file", description = "Users file (default: $PROXY_USERS or ${DEFAULT-VALUE}).",
        defaultValue = "${env:PROXY_USERS:-conf/users.json}")
    Path file;

    @Override
    public Integer call() {
      String key = ApiKeys.generate();
      try {
        UsersFile.addKey(file, user, key);
      } catch (ConfigException e) {
        System.err.println(e.getMessage());
        return 2;
      }
      System.out.println("Created a key for user " + user + " in " + file + " (only its hash is stored):");
      System.out.println(key);
      return 0;
    }
  }
}
