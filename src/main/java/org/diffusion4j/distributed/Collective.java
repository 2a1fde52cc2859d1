package org.diffusion4j.distributed;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * The collective operations data-parallel training needs, over a fixed group of processes. Every rank must make the
 * same calls in the same order; an operation fails with a {@link DistributedException} when a peer dies or does not
 * answer within the group's timeout, rather than waiting forever.
 */
public interface Collective {
    int rank();

    int worldSize();

    /** An operation in flight. */
    interface Pending {
        /** Blocks until done; throws {@link DistributedException} if a peer failed. */
        void await();
    }

    /**
     * Starts summing {@code flat} element-wise over all ranks, in place.
     *
     * @param flat a contiguous float32 CPU tensor [N], the same N on every rank; it must stay alive until awaited
     */
    Pending allReduceSum(Tensor flat);

    /** Overwrites {@code flat} (contiguous, same shape everywhere) on every rank with rank {@code root}'s values. */
    void broadcast(Tensor flat, int root);

    /**
     * Every rank's {@code value} for {@code key}, in rank order (small strings: configs, digests). Each key may be used
     * once per group.
     */
    List<String> exchange(String key, String value);

    /**
     * How a trainer averages the gradients of {@code params} over this group. By default {@link GradientBuckets}:
     * after backward, in buckets of about {@code bucketBytes}; {@link GlooGroup} overlaps them with backward.
     *
     * @param params the parameters, in the same order on every rank
     */
    default GradientSync gradientSync(List<Tensor> params, long bucketBytes) {
        GradientBuckets buckets = new GradientBuckets(params, bucketBytes);
        Collective self = this;
        return new GradientSync() {
            @Override
            public void beforeForward() {
            }

            @Override
            public double[] backward(Tensor loss, double... scalars) {
                loss.backward();
                return buckets.averageGradients(self, scalars);
            }
        };
    }

    /** The group of one: every operation is the identity. */
    static Collective single() {
        return new Collective() {
            @Override
            public int rank() {
                return 0;
            }

            @Override
            public int worldSize() {
                return 1;
            }

            @Override
            public Pending allReduceSum(Tensor flat) {
                return () -> { };
            }

            @Override
            public void broadcast(Tensor flat, int root) {
                if (root != 0) {
                    throw new IllegalArgumentException("broadcast root " + root + " outside a group of one");
                }
            }

            @Override
            public List<String> exchange(String key, String value) {
                return List.of(value);
            }

        };
    }
}
