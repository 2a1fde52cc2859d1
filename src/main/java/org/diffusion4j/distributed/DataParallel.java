package org.diffusion4j.distributed;

/**
 * How a trainer shares its work.
 *
 * @param group       the ranks gradients are averaged over
 * @param bucketBytes the all-reduce bucket size (see {@link GradientBuckets})
 */
public record DataParallel(Collective group, long bucketBytes) {
    public DataParallel {
        if (group == null) {
            throw new IllegalArgumentException("data-parallel group must be set");
        }
        if (bucketBytes < 1024) {
            throw new IllegalArgumentException("gradient bucket size must be >= 1024 bytes, got " + bucketBytes);
        }
    }

    /** Refuses a global batch that W ranks cannot share equally (their mean gradients would weigh rows unequally). */
    public static void requireEvenShares(int batchSize, int worldSize) {
        if (batchSize % worldSize != 0) {
            throw new IllegalArgumentException("--batch-size " + batchSize + " must be divisible by --world-size "
                    + worldSize + " (each rank takes an equal share of the global batch)");
        }
    }

    /** One process: nothing is shared. */
    public static DataParallel single() {
        return new DataParallel(Collective.single(), DistConfig.DEFAULT_BUCKET_BYTES);
    }
}
