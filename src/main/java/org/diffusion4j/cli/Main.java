package org.diffusion4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import org.diffusion4j.tensor.Torch;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./diffusion4j [COMMAND]}: with no command, runs the demo. */
@Command(name = "diffusion4j", mixinStandardHelpOptions = true, version = "diffusion4j 0.1.0",
        description = "Train, sample and inspect diffusion models on the JVM (libtorch).",
        subcommands = {DemoCommand.class, TrainCommand.class, SampleCommand.class, InspectCommand.class,
            FetchCommand.class, QuickstartCommand.class, ConformanceCommand.class, ClassAccuracyCommand.class,
            ReflowCommand.class, TrainAutoencoderCommand.class, EncodeCommand.class, TrainExtractorCommand.class, EvalCommand.class,
            ServeCommand.class, LaunchCommand.class})
public final class Main implements Runnable {
    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the CLI and returns its exit code: 0 ok, 1 failed, 2 bad usage. */
    public static int run(String... args) {
        System.setProperty("java.awt.headless", "true");
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            if (e instanceof IllegalArgumentException || e instanceof IOException || e instanceof IllegalStateException) {
                err.println("error: " + e.getMessage());
            } else {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        });
        Torch.init();
        return cli.execute(args.length == 0 ? new String[] {"demo"} : args);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }
}
