package org.diffusion4j.sampling;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.guidance.ClassifierFreeGuidance;
import org.diffusion4j.guidance.Inpainting;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.FiniteDenoiser;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

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
        return sample(model, process, spec, sampleShape, n, seed, batchSize, progress, firstBatch, null);
    }

    /**
     * As above, from data when {@code start} is given (see {@link SampleJob.Start}): sample i starts from row i of
     * its data (or its only row), noised with sample i's first noise draw.
     *
     * @param start data and mask in the network's space ([1 or n, sampleShape...]), or null to start from noise
     */
    public static Tensor sample(Denoiser model, DiffusionProcess process, SamplerSpec spec, long[] sampleShape,
                                int n, long seed, int batchSize, Progress progress, StepListener firstBatch,
                                SampleJob.Start start) {
        if (n < 1) {
            throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        spec.evaluations(process.schedule());
        long[] outShape = withBatch(sampleShape, n);
        Tensor out = torch.empty(outShape, new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional());
        for (int first = 0; first < n; first += batchSize) {
            int b = Math.min(batchSize, n - first);
            boolean firstOne = first == 0;
            StepListener listener = (i, count, xt, x0) -> {
                if (firstOne) {
                    firstBatch.onStep(i, count, xt, x0);
                }
                progress.stepDone();
            };
            try (PointerScope scope = new PointerScope()) {
                NoiseSource noise = NoiseSource.perSample(seed, first, b, model.device());
                Tensor xT = noise.next(withBatch(sampleShape, b));
                Tensor x0;
                if (start == null) {
                    x0 = spec.run(model, process, xT, noise, listener);
                } else {
                    int k = spec.startIndex(process, start.strength());
                    NoiseLevel level = spec.startLevel(process, k);
                    Tensor known = Tensors.rows(start.data(), first, b).to(xT.device(), xT.scalar_type());
                    Tensor x = known.mul(Tensors.scalar(level.alpha())).add(xT.mul(Tensors.scalar(level.sigma())));
                    Inpainting keep = start.mask() == null ? null : new Inpainting(model, known,
                            Tensors.rows(start.mask(), first, b).to(xT.device(), xT.scalar_type()), xT);
                    x0 = spec.run(keep == null ? model : keep, process, x, k, noise, listener);
                    if (keep != null) {
                        x0 = keep.finish(x0);
                    }
                }
                out.narrow(0, first, b).copy_(x0);
            }
        }
        return out;
    }

    /**
     * Runs a job on a model: unconditionally, for one class under classifier-free guidance (seeded by (seed, class),
     * so a class's samples are the same alone and in an every-class job), or for every class in turn. Every
     * prediction is checked to be finite.
     *
     * @param firstBatch sees every step of the first batch (of class 0 for an every-class job), as the network sees
     *                   the samples (latents for latent diffusion)
     * @return float32 [job.total(classes), outputShape...]: what the user sees, decoded for latent models
     * @throws IllegalArgumentException if the job's conditioning does not fit the model
     * @throws FiniteDenoiser.NonFiniteException if the model predicts NaN or infinity
     */
    public static Tensor run(SamplableModel model, SampleJob job, Progress progress, StepListener firstBatch) {
        int classes = model.numClasses();
        checkConditioning(model, job);
        if (job.conditioning() instanceof SampleJob.Conditioning.OneClass c) {
            Denoiser guided = new ClassifierFreeGuidance(model.denoiser(), c.label(), classes, job.guidance());
            return draw(model, job, guided, Rng.deriveSeed(job.seed(), c.label()), progress, firstBatch);
        }
        if (job.conditioning() instanceof SampleJob.Conditioning.EveryClass) {
            List<Tensor> rows = new ArrayList<>();
            for (int k = 0; k < classes; k++) {
                rows.add(run(model, job.forClass(k), progress, k == 0 ? firstBatch : StepListener.NONE));
            }
            return torch.cat(new TensorVector(rows.toArray(new Tensor[0])));
        }
        ConditionalDenoiser net = model.denoiser();
        Denoiser d = classes > 0 ? ClassifierFreeGuidance.unconditional(net, classes) : withoutLabels(net);
        return draw(model, job, d, job.seed(), progress, firstBatch);
    }

    /** Model evaluations {@link #run} makes, for progress bars. */
    public static long evaluations(SamplableModel model, SampleJob job) {
        long batches = (job.n() + job.batchSize() - 1) / job.batchSize();
        long perPass = batches * job.spec().evaluations(model.process().schedule());
        return job.conditioning() instanceof SampleJob.Conditioning.EveryClass ? perPass * model.numClasses() : perPass;
    }

    /**
     * Checks that the job's conditioning fits the model: a class needs a class-conditional model and must be one of
     * its classes. {@link #run} checks it too; callers check early to fail before any progress is shown.
     */
    public static void checkConditioning(SamplableModel model, SampleJob job) {
        int classes = model.numClasses();
        if (job.conditioning() instanceof SampleJob.Conditioning.Unconditional) {
            return;
        }
        if (classes == 0) {
            throw new IllegalArgumentException("--class and --guidance are for class-conditional models (trained "
                    + "with --classes); " + model.outputData() + " was trained unconditionally");
        }
        if (job.conditioning() instanceof SampleJob.Conditioning.OneClass c && c.label() >= classes) {
            throw new IllegalArgumentException("--class must be in [0, " + (classes - 1) + "] for this model, got "
                    + c.label());
        }
    }

    private static Tensor draw(SamplableModel model, SampleJob job, Denoiser denoiser, long seed, Progress progress,
                               StepListener firstBatch) {
        SampleJob.Start given = job.start();
        SampleJob.Start start = given == null ? null : new SampleJob.Start(model.toSampleSpace(given.data()),
                given.strength(), given.mask() == null ? null : model.maskToSampleSpace(given.mask()));
        Tensor samples = sample(new FiniteDenoiser(denoiser), model.process(), job.spec(), model.sampleShape(),
                job.n(), seed, job.batchSize(), progress, firstBatch, start);
        return model.toOutput(samples, job.batchSize());
    }

    private static Denoiser withoutLabels(ConditionalDenoiser net) {
        return new Denoiser() {
            @Override
            public Prediction predict(Tensor x, NoiseLevel level) {
                return net.predict(x, level, null);
            }

            @Override
            public DeviceSpec device() {
                return net.device();
            }
        };
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
