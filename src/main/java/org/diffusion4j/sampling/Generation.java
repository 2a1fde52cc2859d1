package org.diffusion4j.sampling;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.guidance.ClassifierFreeGuidance;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.tensor.Rng;

/**
 * Draws n samples in batches. Sample i depends only on (seed, i): the batch size changes speed, not results.
 * Sampling runs on the model's device, with its noise drawn there; each finished batch is copied into the CPU result.
 */
public final class Generation {
    private Generation() {}

    /** Called after each sampler step of each batch. */
    @FunctionalInterface
    public interface Progress {
        void stepDone();
    }

    /**
     * @param sampleShape the shape of one sample, e.g. [2]
     * @param n           number of samples
     * @param batchSize   samples per forward pass
     * @return float32 [n, sampleShape...]
     */
    public static Tensor sample(Denoiser model, DiffusionProcess process, SamplerSpec spec, long[] sampleShape,
                                int n, long seed, int batchSize, Progress progress) {
        return sample(model, process, spec, sampleShape, n, seed, batchSize, progress, StepListener.NONE);
    }

    /**
     * As above, and {@code firstBatch} sees every step of the first batch (e.g. to record the trajectory).
     *
     * @param process the process the model was trained on, whose levels the sampler walks
     */
    public static Tensor sample(Denoiser model, DiffusionProcess process, SamplerSpec spec, long[] sampleShape,
                                int n, long seed, int batchSize, Progress progress, StepListener firstBatch) {
        if (n < 1) {
            throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        spec.evaluations(process.schedule());
        long[] outShape = withBatch(sampleShape, n);
        Tensor out = torch.empty(outShape, new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional());
        for (int start = 0; start < n; start += batchSize) {
            int b = Math.min(batchSize, n - start);
            boolean first = start == 0;
            StepListener listener = (i, count, xt, x0) -> {
                if (first) {
                    firstBatch.onStep(i, count, xt, x0);
                }
                progress.stepDone();
            };
            try (PointerScope scope = new PointerScope()) {
                NoiseSource noise = NoiseSource.perSample(seed, start, b, model.device());
                Tensor xT = noise.next(withBatch(sampleShape, b));
                Tensor x0 = spec.run(model, process, xT, noise, listener);
                out.narrow(0, start, b).copy_(x0);
            }
        }
        return out;
    }

    /**
     * n samples of one class of a class-conditional model with classifier-free guidance; sample i depends only on
     * (seed, label, i).
     *
     * @param nullLabel the model's "no class" label (its number of classes)
     */
    public static Tensor sampleClass(ConditionalDenoiser model, int nullLabel, int label,
                                     Guidance guidance, DiffusionProcess process, SamplerSpec spec,
                                     long[] sampleShape, int n, long seed, int batchSize, Progress progress,
                                     StepListener firstBatch) {
        Denoiser guided = new ClassifierFreeGuidance(model, label, nullLabel, guidance);
        return sample(guided, process, spec, sampleShape, n, Rng.deriveSeed(seed, label),
                batchSize, progress, firstBatch);
    }

    /** Total model evaluations for n samples, for progress bars. */
    public static long totalSteps(NoiseSchedule schedule, SamplerSpec spec, int n, int batchSize) {
        long batches = (n + batchSize - 1) / batchSize;
        return batches * spec.evaluations(schedule);
    }

    private static long[] withBatch(long[] sampleShape, long b) {
        long[] s = new long[sampleShape.length + 1];
        s[0] = b;
        System.arraycopy(sampleShape, 0, s, 1, sampleShape.length);
        return s;
    }
}
