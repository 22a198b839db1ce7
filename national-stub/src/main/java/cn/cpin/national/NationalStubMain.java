package cn.cpin.national;

import cn.cpin.node.NodeOptions;
import cn.cpin.node.NodeRuntime;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The CPIN national node stub: node codes, filing, resolution root, root CA, monitoring ingestion. */
@Command(name = "cpin-national-stub", mixinStandardHelpOptions = true,
    subcommands = AllocateNodeCodeCommand.class, versionProvider = NodeRuntime.Version.class,
    description = "The CPIN national node stub: node codes, filing, resolution root, root CA, monitoring ingestion.")
public final class NationalStubMain implements Callable<Integer> {
  @Mixin
  private NodeOptions options;

  @Override
  public Integer call() {
    return NodeRuntime.run(options, new NationalNode());
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new NationalStubMain()).execute(args));
  }
}
