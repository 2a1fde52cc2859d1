package org.diffusion4j.tensor;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;

/** Shape checks for public boundaries: fail loudly with the argument's name and both shapes. */
public final class Shapes {
    /** Matches any size in an expected shape. */
    public static final long ANY = -1;

    private Shapes() {}

    /** The tensor's shape as a Java array. */
    public static long[] of(Tensor t) {
        return t.sizes().vec().get();
    }

    /** Human-readable shape, e.g. {@code [64, 2]}. */
    public static String str(Tensor t) {
        return Arrays.toString(of(t));
    }

    /** Requires {@code t} to have exactly {@code expected} (with {@link #ANY} wildcards). */
    public static void require(Tensor t, String name, long... expected) {
        long[] actual = of(t);
        boolean ok = actual.length == expected.length;
        for (int i = 0; ok && i < actual.length; i++) {
            ok = expected[i] == ANY || expected[i] == actual[i];
        }
        if (!ok) {
            throw new IllegalArgumentException(name + ": expected shape " + pattern(expected) + " but got "
                    + Arrays.toString(actual));
        }
    }

    /** Requires {@code t} to have at least {@code minDims} dimensions. */
    public static void requireRankAtLeast(Tensor t, String name, int minDims) {
        if (t.dim() < minDims) {
            throw new IllegalArgumentException(name + ": expected at least " + minDims + " dimensions but got shape "
                    + str(t));
        }
    }

    /** Requires two tensors to have identical shapes. */
    public static void requireSame(Tensor a, String nameA, Tensor b, String nameB) {
        long[] sa = of(a);
        long[] sb = of(b);
        if (!Arrays.equals(sa, sb)) {
            throw new IllegalArgumentException(nameA + " has shape " + Arrays.toString(sa) + " but " + nameB
                    + " has shape " + Arrays.toString(sb));
        }
    }

    /** The shape {@code [B, 1, 1, ...]} that broadcasts a per-sample value over a batch tensor of rank {@code rank}. */
    public static long[] perSample(long batch, long rank) {
        long[] shape = new long[(int) rank];
        Arrays.fill(shape, 1);
        shape[0] = batch;
        return shape;
    }

    private static String pattern(long[] expected) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < expected.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(expected[i] == ANY ? "*" : Long.toString(expected[i]));
        }
        return sb.append(']').toString();
    }
}
