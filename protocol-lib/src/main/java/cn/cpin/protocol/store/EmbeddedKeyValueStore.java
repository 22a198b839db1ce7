package cn.cpin.protocol.store;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The default store: H2's MVStore, a pure-Java, log-structured, copy-on-write file store that
 * recovers to its last committed version after a crash, with no server to run.
 *
 * <p>Writes are serialised and each one is committed and forced to disk before it returns.
 */
public final class EmbeddedKeyValueStore implements KeyValueStore {
  private final MVStore store;
  private final MVMap<String, byte[]> map;

  private EmbeddedKeyValueStore(MVStore store) {
    this.store = store;
    this.map = store.openMap("cpin");
  }

  /** Opens (or creates) the store in {@code file}; one process at a time. */
  public static EmbeddedKeyValueStore open(Path file) {
    MVStore store = new MVStore.Builder()
        .fileName(file.toString())
        .autoCommitDisabled()
        .open();
    return new EmbeddedKeyValueStore(store);
  }

  @Override
  public Optional<byte[]> get(String key) {
    return Optional.ofNullable(map.get(key));
  }

  @Override
  public SortedMap<String, byte[]> scan(String prefix) {
    SortedMap<String, byte[]> out = new TreeMap<>();
    for (var it = map.cursor(prefix); it.hasNext(); ) {
      String key = it.next();
      if (!key.startsWith(prefix)) {
        break;
      }
      out.put(key, it.getValue());
    }
    return out;
  }

  @Override
  public synchronized boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
      Iterable<String> absent) {
    for (String key : absent) {
      if (map.containsKey(key)) {
        return false;
      }
    }
    puts.forEach(map::put);
    for (String key : deletes) {
      map.remove(key);
    }
    store.commit();
    store.sync();
    return true;
  }

  @Override
  public synchronized void close() {
    store.close();
  }
}
