package cn.cpin.national;

import cn.cpin.node.NodeKind;

/**
 * The benchmark harness's way to the package-private national node kind (the harness lives in
 * another jar; the package is split across jars on the class path). Nothing else.
 */
public final class NationalBench {
  private NationalBench() {}

  /** The node kind the national stub program runs. */
  public static NodeKind nationalNode() {
    return new NationalNode();
  }
}
