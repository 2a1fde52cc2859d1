package org.diffusion4j.cli;

import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM while training: the first asks the run to stop after its current step (it then saves),
 * the second ends the process at once. The JVM's own handling (exit at once, saving nothing) returns on close.
 */
final class StopOnSignal implements AutoCloseable {
    /** Exit status after a second signal: 128 + SIGINT, as a shell reports Ctrl-C. */
    static final int HALT_STATUS = 130;

    private final AtomicInteger signals = new AtomicInteger();
    private final SignalHandler previousInt;
    private final SignalHandler previousTerm;

    private StopOnSignal() {
        SignalHandler handler = sig -> {
            if (signals.incrementAndGet() == 1) {
                System.err.println("\nSIG" + sig.getName() + ": finishing this step and saving (send it again to quit "
                        + "without saving)");
            } else {
                System.err.println("\nSIG" + sig.getName() + " again: quitting without saving");
                Runtime.getRuntime().halt(HALT_STATUS);
            }
        };
        previousInt = Signal.handle(new Signal("INT"), handler);
        try {
            previousTerm = Signal.handle(new Signal("TERM"), handler);
        } catch (IllegalArgumentException e) {
            Signal.handle(new Signal("INT"), previousInt);
            throw e;
        }
    }

    /** The handlers, or null where the JVM does not let us take the signals (e.g. under -Xrs): then the default. */
    static StopOnSignal install() {
        try {
            return new StopOnSignal();
        } catch (IllegalArgumentException taken) {
            return null;
        }
    }

    /** True once a signal arrived. */
    boolean requested() {
        return signals.get() > 0;
    }

    @Override
    public void close() {
        Signal.handle(new Signal("INT"), previousInt);
        Signal.handle(new Signal("TERM"), previousTerm);
    }
}
