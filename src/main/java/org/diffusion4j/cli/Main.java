package org.diffusion4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.diffusion4j.run.TrainingRun;
import org.diffusion4j.tensor.Memory;
import org.diffusion4j.tensor.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** {@code ./diffusion4j [COMMAND]}: with no command, runs the demo. */
@Command(name = "diffusion4j", mixinStandardHelpOptions = true, version = "diffusion4j 0.1.0",
        description = "Train, sample and inspect diffusion models on the JVM (libtorch).",
        subcommands = {DemoCommand.class, TrainCommand.class, SampleCommand.class, InspectCommand.class,
            FetchCommand.class, QuickstartCommand.class, ConformanceCommand.class, ClassAccuracyCommand.class,
            ReflowCommand.class, TrainAutoencoderCommand.class, EncodeCommand.class, TrainExtractorCommand.class, EvalCommand.class,
            ServeCommand.class, LaunchCommand.class, GenerateCommand.class, ExportCommand.class})
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
            if (e instanceof TrainingRun.Stopped stopped) {
                err.println("interrupted: " + stopped.getMessage());
                err.flush();
                return StopOnSignal.HALT_STATUS;
            }
            String oom = outOfMemory(e, cmd.getCommand());
            if (oom != null) {
                err.println("error: " + oom);
            } else if (e instanceof FileSystemException f) {
                // The JDK's messages are often the bare path ("x.safetensors") or the reason without it.
                err.println("error: " + describe(f));
            } else if (e instanceof IllegalArgumentException || e instanceof IOException || e instanceof IllegalStateException) {
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

    /** A command that can say which of its options to lower when it runs out of memory. */
    interface MemoryBound {
        /** E.g. "lower --batch-size". */
        String toNeedLess();
    }

    private static final Pattern ALLOCATION = Pattern.compile(
            "you tried to allocate (\\d+) bytes");

    /**
     * One line for running out of memory (the Java heap, or libtorch's allocator, whose message carries a C++ stack
     * trace), naming what to lower; null for other failures.
     */
    static String outOfMemory(Throwable e, Object command) {
        String detail = null;
        for (Throwable t = e; t != null && detail == null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof OutOfMemoryError) {
                detail = "the Java heap is full (" + m + ")";
            } else if (m.contains("can't allocate memory") || m.contains("std::bad_alloc")
                    || m.contains("Cannot allocate memory")) {
                Matcher a = ALLOCATION.matcher(m);
                detail = a.find() ? "an allocation of " + Memory.format(Long.parseLong(a.group(1)))
                        + " failed" : "an allocation failed";
            }
        }
        if (detail == null) {
            return null;
        }
        String hint = command instanceof MemoryBound b ? b.toNeedLess() : "try smaller inputs";
        return "out of memory: " + detail + "; " + hint;
    }

    /** "FILE: reason" for a file-system failure, whichever parts the JDK filled in. */
    static String describe(FileSystemException f) {
        String reason = f.getReason() != null ? f.getReason()
                : f instanceof NoSuchFileException ? "no such file or directory"
                : f instanceof AccessDeniedException ? "permission denied"
                : f instanceof FileAlreadyExistsException ? "already exists"
                : f instanceof NotDirectoryException ? "not a directory"
                : f instanceof DirectoryNotEmptyException ? "directory not empty"
                : "file-system error";
        String file = f.getFile() == null ? "" : f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile());
        return file.isEmpty() ? reason : file + ": " + reason;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }
}
