package org.diffusion4j.distributed;

/** A collective operation failed: a peer died, disagreed, or did not answer within the timeout. */
public final class DistributedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }

    public DistributedException(String message) {
        super(message);
    }
}
