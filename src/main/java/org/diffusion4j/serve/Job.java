package org.diffusion4j.serve;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One request on its way through the queue. The sampling thread publishes frames and never waits for a reader: a
 * slow stream only skips frames (it always sees the newest), so it cannot hold up the sampler or other requests.
 */
class Job { // not final: tests record what a job publishes
    /** One denoising step as PNGs: the sample x_t and the model's clean estimate. */
    record Frame(long seq, int index, int count, byte[] xt, byte[] x0) {}

    /**
     * @param grid    all images in one PNG
     * @param images  one PNG per image
     */
    record Result(byte[] grid, List<byte[]> images, double seconds) {}

    final GenerateRequest request;
    final boolean stream;
    final CompletableFuture<Result> result = new CompletableFuture<>();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private Frame frame;
    private boolean finished;

    Job(GenerateRequest request, boolean stream) {
        this.request = request;
        this.stream = stream;
        result.whenComplete((r, e) -> {
            synchronized (this) {
                finished = true;
                notifyAll();
            }
        });
    }

    String id() {
        return request.id();
    }

    /** Asks the sampler to stop at its next step; a queued job never starts. */
    void cancel() {
        cancelled.set(true);
        result.completeExceptionally(new CancellationException("request " + id() + " was cancelled"));
    }

    boolean cancelled() {
        return cancelled.get();
    }

    /** Throws if the job was cancelled: called by the sampler between steps. */
    void checkCancelled() {
        if (cancelled.get()) {
            throw new CancellationException("request " + id() + " was cancelled");
        }
    }

    synchronized void publish(int index, int count, byte[] xt, byte[] x0) {
        frame = new Frame(frame == null ? 1 : frame.seq() + 1, index, count, xt, x0);
        notifyAll();
    }

    /**
     * The newest frame after {@code seenSeq}; null when the job finished with nothing newer, or when
     * {@code timeoutMillis} passed (check {@link #result} to tell apart).
     */
    synchronized Frame awaitFrame(long seenSeq, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while ((frame == null || frame.seq() <= seenSeq) && !finished) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return null;
            }
            wait(left);
        }
        return frame != null && frame.seq() > seenSeq ? frame : null;
    }
}
