package org.diffusion4j.distributed;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolVector;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.Reducer;
import org.bytedeco.pytorch.SizeTStringMap;
import org.bytedeco.pytorch.SizeTVector;
import org.bytedeco.pytorch.SizeTVectorVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;

/**
 * Gradient averaging by c10d's {@code Reducer}, the engine inside PyTorch's DistributedDataParallel: it hooks every
 * parameter's gradient accumulator, so a bucket's all-reduce starts while backward is still computing the gradients
 * of earlier layers, and backward returns only when every bucket is averaged. Buckets are those of
 * {@link GradientBuckets} (filled from the last parameter backwards, the order backward produces them).
 *
 * <p>The reducer runs in DDP's static-graph mode: a training step uses the same parameters every time, so the first
 * backward records which ones (reducing all buckets at its end) and later steps overlap. A parameter the model never
 * uses keeps no gradient, as in a single process; no per-step graph walk ({@code find_unused_parameters}) is needed.
 */
final class OverlappedReducer implements GradientSync {
    private final GlooGroup group;
    private final Reducer reducer;
    private boolean firstStep = true;

    OverlappedReducer(GlooGroup group, ProcessGroup processGroup, List<Tensor> params, long bucketBytes) {
        this.group = group;
        List<List<Integer>> buckets = new GradientBuckets(params, bucketBytes).buckets();
        SizeTVectorVector indices = new SizeTVectorVector();
        for (List<Integer> bucket : buckets) {
            long[] idx = bucket.stream().mapToLong(Integer::longValue).toArray();
            indices.push_back(new SizeTVector(idx));
        }
        boolean[] sparse = new boolean[params.size()];
        this.reducer = Scopes.detach(new Reducer(new TensorVector(params.toArray(new Tensor[0])), indices,
                processGroup, new BoolVector(sparse), bucketBytes, false, false, new SizeTStringMap(),
                Math.min(GradientBuckets.FIRST_BUCKET_BYTES, bucketBytes), false, false));
        reducer.set_static_graph();
    }

    @Override
    public void beforeForward() {
        reducer.prepare_for_forward();
    }

    @Override
    public double[] backward(Tensor loss, double... scalars) {
        return group.run("all-reduce", () -> {
            reducer.prepare_for_backward(new TensorVector());
            loss.backward();
            if (firstStep) {
                // A static graph's first backward only records which parameters are used; DDP then reduces every
                // bucket at once, as here. Later steps overlap.
                reducer.delay_all_reduce();
                firstStep = false;
            }
            double[] out = new double[scalars.length];
            if (scalars.length == 0) {
                return out;
            }
            try (PointerScope scope = new PointerScope()) {
                float[] s = new float[scalars.length];
                for (int i = 0; i < s.length; i++) {
                    s[i] = (float) scalars[i];
                }
                Tensor flat = Tensors.fromFloats(s, s.length);
                group.allReduceSum(flat).await();
                float[] sums = Tensors.toFloats(flat);
                for (int i = 0; i < out.length; i++) {
                    out[i] = sums[i] / group.worldSize();
                }
            }
            return out;
        });
    }
}
