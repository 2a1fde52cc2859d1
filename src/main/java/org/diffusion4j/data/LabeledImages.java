package org.diffusion4j.data;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * An in-memory image set as unsigned bytes [N, C, H, W] with integer labels, served in the model's space [-1, 1].
 * Batches walk seeded per-epoch permutations: step k's batch depends only on (seed, k), so resume replays the data
 * order exactly.
 *
 * @param pixels     N*C*H*W bytes, row-major
 * @param labels     N labels (or null)
 * @param numClasses number of label values
 * @param id         e.g. "mnist/train"
 */
public record LabeledImages(byte[] pixels, byte[] labels, int count, int channels, int height, int width, int numClasses,
                            String id) {
    public LabeledImages {
        if (count < 1) {
            throw new IllegalArgumentException(id + ": no images");
        }
        if ((long) count * channels * height * width != pixels.length) {
            throw new IllegalArgumentException(id + ": " + pixels.length + " bytes do not hold " + count + " images of "
                    + channels + "x" + height + "x" + width);
        }
        if (labels != null) {
            if (labels.length != count) {
                throw new IllegalArgumentException(id + ": " + labels.length + " labels for " + count + " images");
            }
            for (int i = 0; i < labels.length; i++) {
                if ((labels[i] & 0xff) >= numClasses) {
                    throw new IllegalArgumentException(id + ": label " + (labels[i] & 0xff) + " of image " + i
                            + " is out of range [0, " + numClasses + ")");
                }
            }
        }
    }

    /**
     * Images {@code start .. start + n - 1} in file order, in the model's space [-1, 1].
     *
     * @return float32 [n, C, H, W]
     */
    public Tensor slice(int start, int n) {
        if (start < 0 || n < 1 || start + n > count) {
            throw new IllegalArgumentException(id + ": images [" + start + ", " + (start + n) + ") are outside [0, "
                    + count + ")");
        }
        int size = channels * height * width;
        float[] out = new float[n * size];
        for (int i = 0; i < out.length; i++) {
            out[i] = (pixels[start * size + i] & 0xff) / 127.5f - 1f;
        }
        return Tensors.fromFloats(out, n, channels, height, width);
    }

    /** A training data source over these images with per-epoch shuffles from {@code seed}. */
    public DataSource source(long seed, boolean hflip) {
        return new DataSource() {
            @Override
            public Tensor batch(long step, int batchSize, Rng rng) {
                return labeledBatch(step, batchSize, rng, 0, batchSize).x();
            }

            @Override
            public Batch labeledBatch(long step, int batchSize, Rng rng) {
                return labeledBatch(step, batchSize, rng, 0, batchSize);
            }

            /** Decodes only rows [from, to); the flips are drawn for the whole batch, as a full draw does. */
            @Override
            public Batch labeledBatch(long step, int batchSize, Rng rng, int from, int to) {
                if (from < 0 || to > batchSize || from >= to) {
                    throw new IllegalArgumentException("rows [" + from + ", " + to + ") outside a batch of "
                            + batchSize);
                }
                int rows = to - from;
                int size = channels * height * width;
                float[] out = new float[rows * size];
                boolean[] flips = hflip ? flips(batchSize, rng) : null;
                long[] l = labels == null ? null : new long[rows];
                for (int r = 0; r < rows; r++) {
                    int b = from + r;
                    int idx = index(seed, step * batchSize + b);
                    for (int p = 0; p < size; p++) {
                        int x = p % width;
                        int src = flips != null && flips[b] ? p - x + (width - 1 - x) : p;
                        out[r * size + p] = (pixels[idx * size + src] & 0xff) / 127.5f - 1f;
                    }
                    if (l != null) {
                        l[r] = labels[idx] & 0xff;
                    }
                }
                return new Batch(Tensors.fromFloats(out, rows, channels, height, width),
                        l == null ? null : Tensors.fromLongs(l, rows));
            }

            @Override
            public int numClasses() {
                return labels == null ? 0 : numClasses;
            }

            @Override
            public long[] sampleShape() {
                return new long[] {channels, height, width};
            }

            @Override
            public String id() {
                return LabeledImages.this.id;
            }
        };
    }

    private static boolean[] flips(int n, Rng rng) {
        float[] u = Tensors.toFloats(rng.rand(n));
        boolean[] f = new boolean[n];
        for (int i = 0; i < n; i++) {
            f[i] = u[i] < 0.5f;
        }
        return f;
    }

    /** The dataset index at global position {@code pos} of the shuffled stream (epoch = pos / count). */
    int index(long seed, long pos) {
        return shuffledIndex(seed, pos, count);
    }

    /**
     * Position {@code pos} of the stream that walks {@code count} items in a fresh seeded permutation per epoch (epoch
     * = pos / count); shared by every in-memory data set, so resume replays their order exactly.
     */
    public static int shuffledIndex(long seed, long pos, int count) {
        int[] perm = permutation(seed, pos / count, count);
        return perm[(int) (pos % count)];
    }

    /** Recent epochs' permutations: consecutive steps mostly share one. */
    private static final Map<Long, int[]> CACHE = Collections.synchronizedMap(
            new LinkedHashMap<>(4, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Long, int[]> e) {
                    return size() > 4;
                }
            });

    private static int[] permutation(long seed, long epoch, int count) {
        long key = Rng.deriveSeed(seed, epoch, count);
        return CACHE.computeIfAbsent(key, k -> {
            // Fisher-Yates from a SplitMix-derived stream: cheap, and the same on every JVM.
            int[] p = new int[count];
            for (int i = 0; i < count; i++) {
                p[i] = i;
            }
            SplittableRandom r = new SplittableRandom(k);
            for (int i = count - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            return p;
        });
    }
}
