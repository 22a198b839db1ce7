package cn.cpin.protocol.store;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded MVStore store, one file in a fresh directory per test. */
class EmbeddedKeyValueStoreTest extends KeyValueStoreContractTest {
  @TempDir
  Path dir;

  @Override
  protected KeyValueStore newStore() {
    return EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
  }

  @Override
  protected KeyValueStore reopen() {
    return EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
  }
}
