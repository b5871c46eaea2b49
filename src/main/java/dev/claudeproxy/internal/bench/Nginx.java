package dev.claudeproxy.internal.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** nginx in front of the simulator (proxy_buffering off), the bench's yardstick. */
final class Nginx {
  private Nginx() {}

  /** Installs Debian's nginx-light with apt-get when nginx is missing. */
  static void ensure() {
    if (Processes.onPath("nginx")) {
      return;
    }
    Bench.log("installing nginx-light");
    Processes.run(List.of("apt-get", "update", "-q"));
    Processes.run(List.of("apt-get", "install", "-y", "-q", "nginx-light"), Map.of("DEBIAN_FRONTEND",
        "noninteractive"));
  }

  static String conf(Path work, Ports ports) {
    return """

        worker_processes 2;
        worker_rlimit_nofile 65536;
        pid %1$s/nginx.pid;
        error_log %1$s/nginx-error.log;
        events { worker_connections 30000; }
        http {
          access_log off;
          upstream simulator { server 127.0.0.1:%2$d; keepalive 2000; }
          server {
            listen 127.0.0.1:%3$d;
            location / {
              proxy_pass http://simulator;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_buffering off;
              proxy_request_buffering off;
              proxy_read_timeout 600s;
            }
          }
        }
        """.formatted(work, ports.simulator(), ports.nginx());
  }

  static Path writeConf(Path work, Ports ports) {
    Path conf = work.resolve("nginx.conf");
    try {
      Files.writeString(conf, conf(work, ports));
    } catch (IOException e) {
      throw new BenchException("cannot write " + conf + ": " + e);
    }
    return conf;
  }
}
