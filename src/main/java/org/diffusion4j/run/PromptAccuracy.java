package org.diffusion4j.run;

import java.util.List;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.Captions;
import org.diffusion4j.diffusers.StableDiffusion;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.tensor.Rng;

/**
 * How often a text-to-image pipeline draws what its prompt names: for every class, {@code perClass} images from its
 * captions in turn (image i of class k from caption i mod |captions of k|), each classified.
 */
public final class PromptAccuracy {
    private PromptAccuracy() {}

    /**
     * @param perCaption fraction correct for each caption, class by class
     */
    public record Result(double guidance, double accuracy, double[] perClass, List<double[]> perCaption,
                         int samples) {}

    /**
     * @param classifier maps a batch of images [n, C, H, W] in [-1, 1] to predicted classes
     * @param seed       the images of caption j of class k are generated with seed derive(seed, k, j)
     */
    public static Result measure(StableDiffusion pipeline, Captions captions, double guidance, int steps,
                                 int perClass, long seed, Function<Tensor, long[]> classifier) {
        if (perClass < 1) {
            throw new IllegalArgumentException("--per-class must be >= 1, got " + perClass);
        }
        int classes = captions.numClasses();
        double[] acc = new double[classes];
        List<double[]> perCaption = new java.util.ArrayList<>();
        int correct = 0;
        for (int k = 0; k < classes; k++) {
            List<String> c = captions.perClass().get(k);
            double[] byCaption = new double[c.size()];
            int hitClass = 0;
            for (int j = 0; j < c.size(); j++) {
                int n = perClass / c.size() + (j < perClass % c.size() ? 1 : 0);
                if (n == 0) {
                    byCaption[j] = Double.NaN;
                    continue;
                }
                try (PointerScope scope = new PointerScope()) {
                    StableDiffusion.Request r = new StableDiffusion.Request(c.get(j), null, guidance, steps, 0, 0, n,
                            Rng.deriveSeed(seed, k, j), n, false, 0);
                    long[] pred = classifier.apply(pipeline.generate(r, null, null, StepListener.NONE));
                    int hit = 0;
                    for (long p : pred) {
                        hit += p == k ? 1 : 0;
                    }
                    byCaption[j] = (double) hit / n;
                    hitClass += hit;
                }
            }
            acc[k] = (double) hitClass / perClass;
            correct += hitClass;
            perCaption.add(byCaption);
        }
        return new Result(guidance, (double) correct / (classes * perClass), acc, List.copyOf(perCaption),
                classes * perClass);
    }
}
