package cn.cpin.protocol.identifier;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Properties over arbitrary valid identifiers: every node-code shape, every kind, all serial lengths. */
class IdentifierPropertiesTest {

  @Property
  void parseInvertsFormat(@ForAll("identifiers") Identifier id) {
    String text = id.toString();
    Identifier parsed = Identifier.parse(text);
    assertThat(parsed).isEqualTo(id).hasSameHashCodeAs(id).hasToString(text);
    assertThat(parsed.nodeCode()).isSameAs(id.nodeCode());
    assertThat(parsed.kind()).isSameAs(id.kind());
    assertThat(parsed.serial()).isEqualTo(id.serial());
    assertThat(text).hasSizeLessThanOrEqualTo(Identifier.MAX_LENGTH);
  }

  @Property
  void checkCharactersSatisfyTheVerificationForm(@ForAll("identifiers") Identifier id) {
    String alnum = id.toString().replaceAll("[./-]", "");
    assertThat(Mod1271_36.isValid(alnum)).isTrue();
    assertThat(alnum).endsWith(id.checkCharacters());
  }

  @Property(tries = 500)
  void everySingleSubstitutionIsRejected(@ForAll("identifiers") Identifier id) {
    for (String mutated : Mutations.substitutions(id.toString())) {
      assertRejected(mutated, id);
    }
  }

  @Property
  void everyAdjacentTranspositionIsRejected(@ForAll("identifiers") Identifier id) {
    for (String mutated : Mutations.adjacentTranspositions(id.toString())) {
      assertRejected(mutated, id);
    }
  }

  @Provide
  Arbitrary<Identifier> identifiers() {
    return Combinators.combine(nodeCodes(), Arbitraries.of(IdentifierKind.class), serials())
        .as(Identifier::of);
  }

  static Arbitrary<NodeCode> nodeCodes() {
    Arbitrary<String> provinces = Arbitraries.of(NodeCode.provinceCodes());
    return Arbitraries.oneOf(
        Arbitraries.just(NodeCode.national()),
        provinces.map(NodeCode::regional),
        Combinators.combine(provinces, Arbitraries.chars().range('A', 'T')).as(NodeCode::industry));
  }

  /** Serials of every length 1..12 equally often, including both ends of each length. */
  static Arbitrary<Long> serials() {
    return Arbitraries.integers().between(1, Identifier.MAX_SERIAL_LENGTH).flatMap(length -> {
      long min = pow36(length - 1);
      long max = length == Identifier.MAX_SERIAL_LENGTH ? Identifier.MAX_SERIAL : pow36(length) - 1;
      return Arbitraries.longs().between(min, max);
    });
  }

  private static long pow36(int exponent) {
    long result = 1;
    for (int i = 0; i < exponent; i++) {
      result *= 36;
    }
    return result;
  }

  private static void assertRejected(String mutated, Identifier original) {
    try {
      Identifier parsed = Identifier.parse(mutated);
      throw new AssertionError(
          "mutation \"" + mutated + "\" of " + original + " was accepted as " + parsed);
    } catch (MalformedIdentifierException expected) {
      // rejected, as it must be
    }
  }
}
