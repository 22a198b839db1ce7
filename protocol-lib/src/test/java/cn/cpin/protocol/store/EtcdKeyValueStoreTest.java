package cn.cpin.protocol.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The contract on etcd, at the endpoints in {@code CPIN_ETCD_ENDPOINTS} (comma-separated, e.g.
 * {@code http://127.0.0.1:2379}), each test under its own random key prefix.
 *
 * <p>Without the variable the tests are skipped, except under {@code CI=true}, where a missing or
 * unreachable etcd fails them: CI never silently skips the etcd contract.
 */
class EtcdKeyValueStoreTest extends KeyValueStoreContractTest {
  private static final String ENDPOINTS_VARIABLE = "CPIN_ETCD_ENDPOINTS";

  private static List<String> endpoints;
  private String prefix;

  @BeforeAll
  static void etcdIsThere() {
    String value = System.getenv(ENDPOINTS_VARIABLE);
    boolean ci = "true".equals(System.getenv("CI"));
    if (value == null || value.isBlank()) {
      if (ci) {
        fail("CI=true but " + ENDPOINTS_VARIABLE + " is not set: CI must run the etcd store"
            + " contract against a real etcd (.ci/run starts one)");
      }
      // Skipped test by test in newStore(), so the reports show every test as skipped.
      endpoints = null;
      return;
    }
    endpoints = Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty())
        .toList();
    // Fail once, fast and clearly, rather than once per test, if etcd does not answer.
    try (KeyValueStore probe = EtcdKeyValueStore.connect(endpoints, "/cpin-test/probe/",
        Duration.ofSeconds(10))) {
      probe.get("probe");
    } catch (KeyValueStoreException e) {
      fail(ENDPOINTS_VARIABLE + "=" + value + " but etcd does not answer: " + e.getMessage(), e);
    }
  }

  @Override
  protected KeyValueStore newStore() {
    assumeTrue(endpoints != null,
        ENDPOINTS_VARIABLE + " is not set; skipping the etcd store contract");
    prefix = "/cpin-test/" + UUID.randomUUID() + "/";
    return EtcdKeyValueStore.connect(endpoints, prefix);
  }

  @Override
  protected KeyValueStore reopen() {
    return EtcdKeyValueStore.connect(endpoints, prefix);
  }

  /** Runs before the contract's close: removes this test's keys from the shared etcd. */
  @AfterEach
  void deleteThisTestsKeys() {
    if (store == null) {
      return;
    }
    List<String> keys = new ArrayList<>(store.scan("").keySet());
    for (int i = 0; i < keys.size(); i += 100) {
      store.write(Map.of(), keys.subList(i, Math.min(keys.size(), i + 100)), Map.of());
    }
  }

  @Test
  void prefixesIsolateStores() {
    store.put("shared/key", "mine".getBytes());
    try (KeyValueStore other = EtcdKeyValueStore.connect(endpoints, prefix + "other/")) {
      assertThat(other.get("shared/key")).isEmpty();
      assertThat(other.scan("")).isEmpty();
      other.put("x", "theirs".getBytes());
      // The other prefix lies inside ours, so we see its key, under its full name.
      assertThat(store.scan("other/").keySet()).containsExactly("other/x");
    }
    try (KeyValueStore sibling = EtcdKeyValueStore.connect(endpoints, prefix.substring(0,
        prefix.length() - 1) + "0/")) {
      assertThat(sibling.scan("")).isEmpty();
    }
  }

  @Test
  void twoClientsOnOnePrefixShareCountersWithoutRepeats() {
    try (KeyValueStore replica = EtcdKeyValueStore.connect(endpoints, prefix)) {
      List<Long> got = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        got.add(store.increment("serial", 10));
        got.add(replica.increment("serial", 10));
      }
      assertThat(got).doesNotHaveDuplicates().hasSize(40);
      assertThat(got).isSorted();
      assertThat(got.get(39)).isEqualTo(400);
    }
  }

  @Test
  void unreachableEtcdFailsWithAClearException() {
    assertThatThrownBy(() -> EtcdKeyValueStore.connect(List.of("http://127.0.0.1:1"),
        "/cpin-test/", Duration.ofSeconds(2)))
        .isInstanceOf(KeyValueStoreException.class)
        .hasMessageContaining("127.0.0.1:1");
  }
}
