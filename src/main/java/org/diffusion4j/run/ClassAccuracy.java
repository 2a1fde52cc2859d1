package org.diffusion4j.run;

import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.sampling.SampleJob;
import org.diffusion4j.sampling.SamplerSpec;

/**
 * How often class-conditional samples are classified as the class they were asked for, per guidance weight:
 * {@code perClass} samples of every class, sample i of class k seeded by (seed, k * perClass + i).
 */
public final class ClassAccuracy {
    private ClassAccuracy() {}

    /**
     * The result for one guidance weight.
     *
     * @param perClass fraction correct for each class
     */
    public record Result(double guidance, double accuracy, double[] perClass, int samples) {}

    /**
     * @param classifier maps a batch of samples to predicted classes
     */
    public static Result measure(SamplableModel model, SamplerSpec spec, double guidance, int perClass, long seed,
                                 Function<Tensor, long[]> classifier) {
        int classes = model.numClasses();
        if (classes < 1) {
            throw new IllegalArgumentException("the model is not class-conditional (trained without --classes)");
        }
        if (perClass < 1) {
            throw new IllegalArgumentException("--per-class must be >= 1, got " + perClass);
        }
        double[] acc = new double[classes];
        int correct = 0;
        for (int k = 0; k < classes; k++) {
            try (PointerScope scope = new PointerScope()) {
                SampleJob job = new SampleJob(spec, new SampleJob.Conditioning.OneClass(k), Guidance.of(guidance),
                        perClass, seed, perClass);
                Tensor samples = Generation.run(model, job, () -> { }, StepListener.NONE);
                long[] pred = classifier.apply(samples);
                int hit = 0;
                for (long p : pred) {
                    hit += p == k ? 1 : 0;
                }
                acc[k] = (double) hit / perClass;
                correct += hit;
            }
        }
        return new Result(guidance, (double) correct / (classes * perClass), acc, classes * perClass);
    }
}
