package org.diffusion4j.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Progress bars on stderr, so stdout stays clean for results. */
final class Progress {
    private Progress() {}

    static ProgressBar bar(String task, long max) {
        return builder(task, max).build();
    }

    private static ProgressBarBuilder builder(String task, long max) {
        return new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .showSpeed();
    }

    /** A download's bar in MiB; {@code total} < 0 (unknown size) gives an indeterminate bar. */
    static ProgressBar bytes(String task, long total) {
        return builder(task, total).setUnit(" MiB", 1 << 20).build();
    }
}
