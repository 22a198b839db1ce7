package cn.cpin.conformance;

import java.util.List;

/** Every suite of the standard, bound to one target; add a new suite here. */
public final class Suites {
  private Suites() {}

  /** All suites of this version, bound to {@code target}. */
  public static List<ConformanceSuite> bind(ConformanceTarget target) {
    return List.of(
        new AbstractNodeSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractRequestValidationSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractTrustSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractIdentifierSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractServiceCenterSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractAggregationSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractMonitoringSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractSelectionSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        },
        new AbstractOrderSuite() {
          @Override
          protected ConformanceTarget target() {
            return target;
          }
        });
  }

  /** Runs every suite against {@code target} and returns the report. */
  public static ConformanceReport run(ConformanceTarget target) {
    return new ConformanceReport(target.endpoint(),
        target.profile().name().toLowerCase(java.util.Locale.ROOT)
            + (target.isMutualTls() ? "" : " (plaintext development mode)"),
        ConformanceRunner.run(bind(target)));
  }
}
