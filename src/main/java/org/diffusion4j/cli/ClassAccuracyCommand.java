package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.eval.ImageClassifier;
import org.diffusion4j.run.ClassAccuracy;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.tensor.Tensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "class-accuracy", mixinStandardHelpOptions = true,
        description = "Sample every class of a class-conditional model at each guidance weight and report how often "
                + "a classifier sees the asked class: the shipped feature network (a CNN, 99%% accurate on MNIST's "
                + "test set) for mnist and fashion-mnist, an MLP trained on the spot for other image sets, the "
                + "nearest centre for 8gaussians.")
final class ClassAccuracyCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --per-class";
    }

    @Option(names = "--checkpoint", required = true, description = "A checkpoint trained with --classes.")
    Path checkpoint;

    @Option(names = "--guidance", split = ",", defaultValue = "1,3",
            description = "Guidance weights to compare (default: ${DEFAULT-VALUE}).")
    List<Double> guidance;

    @Option(names = "--per-class", defaultValue = "20", description = "Samples per class (default: ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--data-dir", description = "Folder with the image dataset (to train a classifier for sets "
            + "without a shipped feature network).")
    Path dataDir;

    @Mixin
    DeviceOptions device;

    @Mixin
    SamplerOptions sampler;

    @Override
    public Integer call() throws Exception {
        LoadedModel model = LoadedModel.load(checkpoint, true, device.toDevice());
        boolean toy = Datasets.isToy(model.data());
        SamplerSpec spec = sampler.toSpec(!toy, model.process(), model.latent() != null);
        Function<Tensor, long[]> classifier;
        if (toy) {
            if (ToyDataset.parse(model.data()) != ToyDataset.EIGHT_GAUSSIANS) {
                throw new IllegalArgumentException(model.data() + ": class accuracy is measured for 8gaussians, mnist "
                        + "and fashion-mnist");
            }
            classifier = ClassAccuracyCommand::nearestCentre;
        } else if (Extractors.shippedFor(model.outputData()) != null) {
            FeatureExtractor cnn = Extractors.load(
                    Extractors.shippedFor(model.outputData()));
            System.out.printf(Locale.ROOT, "classifier: the shipped %s feature network (CNN), test accuracy %.2f%% "
                    + "(recorded when it was trained)%n", model.outputData(),
                    100 * Double.parseDouble(cnn.metadata().get("test_accuracy")));
            classifier = cnn::predict;
        } else {
            LabeledImages train = Datasets.images(model.outputData(), dataDir, true);
            LabeledImages test = Datasets.images(model.outputData(), dataDir, false);
            long start = System.nanoTime();
            ImageClassifier c = ImageClassifier.train(train, 1500, seed);
            System.out.printf(Locale.ROOT, "classifier: MLP trained on %s in %.0f s, test accuracy %.1f%%%n",
                    train.id(), (System.nanoTime() - start) / 1e9, 100 * c.accuracy(test));
            classifier = c::predict;
        }
        for (double w : guidance) {
            ClassAccuracy.Result r = TrainOptions.named("--guidance/--per-class",
                    () -> ClassAccuracy.measure(model, spec, w, perClass, seed, classifier));
            StringBuilder per = new StringBuilder();
            for (double a : r.perClass()) {
                per.append(String.format(Locale.ROOT, " %.0f", 100 * a));
            }
            System.out.printf(Locale.ROOT, "guidance %s: %.1f%% of %d samples (%s) classified as the class asked; "
                    + "per class %%:%s%n", w, 100 * r.accuracy(), r.samples(), spec.label(model.schedule()), per);
        }
        return 0;
    }

    /** The 8gaussians class whose centre (2 cos(k pi/4), 2 sin(k pi/4)) is nearest. */
    static long[] nearestCentre(Tensor points) {
        float[] p = Tensors.toFloats(points);
        long[] out = new long[p.length / 2];
        for (int i = 0; i < out.length; i++) {
            double best = Double.MAX_VALUE;
            for (int k = 0; k < 8; k++) {
                double d = Math.hypot(p[2 * i] - 2 * Math.cos(k * Math.PI / 4), p[2 * i + 1] - 2 * Math.sin(k * Math.PI / 4));
                if (d < best) {
                    best = d;
                    out[i] = k;
                }
            }
        }
        return out;
    }
}
