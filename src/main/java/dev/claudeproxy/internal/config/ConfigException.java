package dev.claudeproxy.internal.config;

/** A configuration mistake; its message names the setting and is shown to the operator as it is. */
public class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
