package org.diffusion4j.distributed;

import org.bytedeco.pytorch.Tensor;

/**
 * One rank's share of gradient averaging in a training step. The trainer calls {@link #beforeForward()} and then
 * {@link #backward}; afterwards every parameter's gradient is its mean over the ranks, as if one process had
 * back-propagated the mean loss over the whole global batch.
 */
public interface GradientSync {
    /** Before the step's forward pass (c10d's reducer resets its per-step state here). */
    void beforeForward();

    /**
     * Runs {@code loss.backward()} and averages the gradients over the ranks, overlapping the two where the
     * implementation can.
     *
     * @param loss    this rank's scalar loss
     * @param scalars per-rank values to average alongside (e.g. the loss value)
     * @return the means of {@code scalars}, identical on every rank
     * @throws DistributedException if a peer failed or timed out
     */
    double[] backward(Tensor loss, double... scalars);
}
