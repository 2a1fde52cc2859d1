package org.diffusion4j.distributed;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Tensors;

/**
 * Averages the gradients of a fixed parameter list over a {@link Collective}, in buckets of about
 * {@code bucketBytes}: each bucket's gradients are packed into one flat tensor and its all-reduce is started before
 * the next bucket is packed, so communication overlaps packing and Gloo works on several buckets at once. Buckets are
 * filled from the last parameter backwards, the order in which backward produces gradients, as PyTorch DDP does.
 *
 * <p>A few float32 scalars (the loss) ride along in the first bucket, so one round trip also agrees on them.
 *
 * <p>This is the after-backward averaging of {@link Collective#gradientSync}'s default. {@link GlooGroup} overlaps the
 * all-reduce with backward instead ({@link OverlappedReducer}), over this class's bucket assignment.
 */
public final class GradientBuckets {
    private final List<Tensor> params;
    private final List<List<Integer>> buckets;

    /** DDP's first_bucket_bytes_cap: a small first bucket, so that communication starts early in backward. */
    public static final long FIRST_BUCKET_BYTES = 1 << 20;

    /**
     * @param params      the parameters, in the same order on every rank
     * @param bucketBytes target bucket size (the first bucket holds at most {@link #FIRST_BUCKET_BYTES} of it); a
     *                    parameter larger than its bucket's budget gets a bucket of its own
     */
    public GradientBuckets(List<Tensor> params, long bucketBytes) {
        if (params.isEmpty()) {
            throw new IllegalArgumentException("no parameters to synchronise");
        }
        this.params = List.copyOf(params);
        this.buckets = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        long bytes = 0;
        for (int i = params.size() - 1; i >= 0; i--) {
            long size = params.get(i).numel() * 4;
            long budget = buckets.isEmpty() ? Math.min(FIRST_BUCKET_BYTES, bucketBytes) : bucketBytes;
            if (!current.isEmpty() && bytes + size > budget) {
                buckets.add(List.copyOf(current));
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(i);
            bytes += size;
        }
        buckets.add(List.copyOf(current));
    }

    /** Parameter indices per bucket, in the order they are sent. */
    public List<List<Integer>> buckets() {
        return buckets;
    }

    /**
     * Replaces every parameter's gradient by its mean over the ranks, and returns the means of {@code scalars}.
     * A parameter without a gradient on this rank counts as a zero gradient, and gets the averaged one.
     *
     * @param scalars per-rank values to average (e.g. the local loss)
     * @return the averages of {@code scalars}, identical on every rank
     */
    public double[] averageGradients(Collective group, double... scalars) {
        int world = group.worldSize();
        double[] out = new double[scalars.length];
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            List<Tensor> flats = new ArrayList<>(buckets.size());
            List<Collective.Pending> pending = new ArrayList<>(buckets.size());
            for (int b = 0; b < buckets.size(); b++) {
                List<Tensor> parts = new ArrayList<>();
                for (int i : buckets.get(b)) {
                    Tensor p = params.get(i);
                    Tensor g = p.grad();
                    parts.add(g.defined() ? g.reshape(-1) : torch.zeros(new long[] {p.numel()},
                            DeviceSpec.optionsLike(p, p.scalar_type())));
                }
                if (b == 0) {
                    float[] s = new float[scalars.length];
                    for (int i = 0; i < s.length; i++) {
                        s[i] = (float) scalars[i];
                    }
                    // The scalars ride in the first bucket, on the parameters' device.
                    parts.add(Tensors.fromFloats(s, s.length).to(params.get(0).device(), torch.ScalarType.Float));
                }
                Tensor flat = torch.cat(new TensorVector(parts.toArray(new Tensor[0])));
                flats.add(flat);
                pending.add(group.allReduceSum(flat));
            }
            Scalar scale = Tensors.scalar(1.0 / world);
            for (int b = 0; b < buckets.size(); b++) {
                pending.get(b).await();
                Tensor flat = flats.get(b).mul_(scale);
                long offset = 0;
                for (int i : buckets.get(b)) {
                    Tensor p = params.get(i);
                    long n = p.numel();
                    Tensor mean = flat.narrow(0, offset, n).view(p.sizes());
                    Tensor g = p.grad();
                    if (g.defined()) {
                        g.copy_(mean);
                    } else {
                        p.mutable_grad().put(mean.clone());
                    }
                    offset += n;
                }
                if (b == 0) {
                    float[] s = Tensors.toFloats(flat.narrow(0, offset, scalars.length));
                    for (int i = 0; i < s.length; i++) {
                        out[i] = s[i];
                    }
                }
            }
        }
        return out;
    }

    /**
     * Overwrites every parameter on every rank with rank 0's values (run once at the start, as DDP does, so that
     * ranks start identical whatever their initialisation).
     */
    public static void broadcastParameters(Collective group, List<Tensor> params) {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            List<Tensor> parts = new ArrayList<>();
            for (Tensor p : params) {
                parts.add(p.detach().reshape(-1));
            }
            Tensor flat = torch.cat(new TensorVector(parts.toArray(new Tensor[0])));
            group.broadcast(flat, 0);
            long offset = 0;
            for (Tensor p : params) {
                p.detach().copy_(flat.narrow(0, offset, p.numel()).view(p.sizes()));
                offset += p.numel();
            }
        }
    }
}
