package cn.cpin.protocol.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The child process of {@link EmbeddedKeyValueStoreCrashTest}: opens the store, then writes from
 * several threads until it is killed, appending a line to {@code acks-<round>.log} beside the
 * store for every write that returned (was acknowledged); a kill -9 leaves that file's page cache
 * intact. Arguments: store file, checkpoint interval in ms, segment bytes, threads, round.
 *
 * <p>Each write of thread {@code t}, number {@code n} of round {@code r}, puts three keys
 * {@code w/r/t/n/a|b|c} with the same value, deletes the previous write's {@code c}, and moves
 * {@code last/t} from the previous number to {@code n} (a compare-and-set), so that a half-present
 * write, a lost one or a broken condition all show after recovery. Every tenth write also
 * increments the counter {@code count/t}.
 */
public final class WalCrashWriter {
  private WalCrashWriter() {}

  public static void main(String[] args) throws Exception {
    Path file = Path.of(args[0]);
    Duration interval = Duration.ofMillis(Long.parseLong(args[1]));
    long segmentBytes = Long.parseLong(args[2]);
    int threads = Integer.parseInt(args[3]);
    String round = args[4];
    PrintStream out = new PrintStream(new java.io.FileOutputStream(
        file.resolveSibling("acks-" + round + ".log").toFile(), true), false, UTF_8);
    EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file, interval, segmentBytes);
    synchronized (out) {
      out.println("OPEN");
      out.flush();
    }
    for (int t = 0; t < threads; t++) {
      int thread = t;
      Thread writer = new Thread(() -> {
        String last = "last/" + round + "/" + thread;
        byte[] previous = null;
        for (long n = 1; ; n++) {
          String prefix = "w/" + round + "/" + thread + "/" + n + "/";
          byte[] value = ("v" + n + "-" + "x".repeat((int) (n % 50))).getBytes(UTF_8);
          byte[] number = Long.toString(n).getBytes(UTF_8);
          List<String> deletes = n == 1 ? List.of()
              : List.of("w/" + round + "/" + thread + "/" + (n - 1) + "/c");
          boolean ok = store.write(
              Map.of(prefix + "a", value, prefix + "b", value, prefix + "c", value, last, number),
              deletes, Map.of(last, Optional.ofNullable(previous)));
          if (!ok) {
            throw new IllegalStateException("compare-and-set failed at " + prefix);
          }
          previous = number;
          String line = "ACK " + thread + " " + n;
          if (n % 10 == 0) {
            line += " COUNT " + store.increment("count/" + round + "/" + thread, 1);
          }
          synchronized (out) {
            out.println(line);
            out.flush();
          }
        }
      }, "writer-" + t);
      writer.start();
    }
    Thread.sleep(Long.MAX_VALUE); // until killed
  }
}
