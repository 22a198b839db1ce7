package cn.cpin.node;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** Background threads of a node: one named daemon thread each, so they never keep a JVM alive. */
public final class Daemons {
  private Daemons() {}

  /** A single-threaded scheduler whose thread is called {@code name}. */
  public static ScheduledExecutorService scheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }
}
