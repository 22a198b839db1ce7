package cn.cpin.national;

import cn.cpin.node.NodeOptions;
import cn.cpin.node.NodeRuntime;
import cn.cpin.protocol.profile.NodeProfile;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The CPIN national node stub: node codes, filing, resolution root, root CA, monitoring ingestion. */
@Command(name = "cpin-national-stub", mixinStandardHelpOptions = true, versionProvider = NodeRuntime.Version.class,
    description = "The CPIN national node stub: node codes, filing, resolution root, root CA, monitoring ingestion.")
public final class NationalStubMain implements Callable<Integer> {
  @Mixin
  private NodeOptions options;

  @Override
  public Integer call() {
    return NodeRuntime.run(options, NodeProfile.NATIONAL, "cpin-national-stub", context -> List.of());
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new NationalStubMain()).execute(args));
  }
}
