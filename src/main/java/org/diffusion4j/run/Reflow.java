package org.diffusion4j.run;

import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.PairedData;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.train.Trainer;

/**
 * Rectified flow's reflow (Liu et al. 2023, "Flow Straight and Fast", section 2.2): a trained flow model maps noise
 * z to samples x through its ODE; training again on those fixed (z, x) pairs straightens the paths, so that few
 * Euler steps (even one) land closer to the data.
 */
public final class Reflow {
    private Reflow() {}

    /**
     * n (noise, sample) pairs from the model's deterministic ODE sampler; pair i depends only on (seed, i).
     *
     * @throws IllegalArgumentException for a non-flow model or a stochastic sampler
     */
    public static PairedData pairs(LoadedModel model, SamplerSpec spec, int n, long seed, int batchSize,
                                   Generation.Progress progress) {
        if (!(model.process() instanceof DiffusionProcess.Flow)) {
            throw new IllegalArgumentException("reflow needs a flow-matching model (trained with --prediction flow)");
        }
        if (spec.kind() != SamplerSpec.Kind.EULER && spec.kind() != SamplerSpec.Kind.HEUN
                && spec.kind() != SamplerSpec.Kind.DPMPP_2M && spec.kind() != SamplerSpec.Kind.DPMPP_3M) {
            throw new IllegalArgumentException("reflow needs a deterministic ODE sampler (euler, heun, dpm++2m, dpm++3m), "
                    + "not "
                    + spec.kind().id());
        }
        if (n < 1 || batchSize < 1) {
            throw new IllegalArgumentException("--pairs and --batch-size must be >= 1");
        }
        long[] shape = model.sampleShape();
        long[] full = new long[shape.length + 1];
        full[0] = n;
        System.arraycopy(shape, 0, full, 1, shape.length);
        Tensor noise = Scopes.detach(torch.empty(full, new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional()));
        Tensor samples = Scopes.detach(torch.empty(full, new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional()));
        for (int start = 0; start < n; start += batchSize) {
            int b = Math.min(batchSize, n - start);
            try (PointerScope scope = new PointerScope()) {
                NoiseSource source = NoiseSource.perSample(seed, start, b, model.denoiser().device());
                long[] batchShape = full.clone();
                batchShape[0] = b;
                Tensor z = source.next(batchShape);
                Tensor x = spec.run(model.denoiser(), model.process(), z, source, (i, count, xt, x0) ->
                        progress.stepDone());
                noise.narrow(0, start, b).copy_(z);
                samples.narrow(0, start, b).copy_(x);
            }
        }
        return new PairedData(samples, noise, model.data());
    }

    /**
     * Trains the model further on the pairs, from its (EMA) weights, for {@code steps} steps with its own training
     * config otherwise, and saves the result as a new checkpoint of the same data.
     */
    public static Trainer train(LoadedModel model, PairedData pairs, long steps, Path checkpoint,
                                Trainer.Listener listener) throws IOException {
        RunSpec spec = new RunSpec(Models.config(model.sidecar().modelType(), model.sidecar().modelConfig(),
                checkpoint.toString()), model.schedule().config(), model.train().withSteps(steps), model.data());
        Trainer trainer = new Trainer(model.network(), model.schedule(), pairs, spec.train());
        trainer.train(listener);
        TrainingRun.save(trainer, spec, checkpoint);
        return trainer;
    }
}
