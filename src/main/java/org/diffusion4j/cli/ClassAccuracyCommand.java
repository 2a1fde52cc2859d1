package org.diffusion4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.Captions;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.diffusers.StableDiffusion;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.eval.ImageClassifier;
import org.diffusion4j.run.ClassAccuracy;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.run.PromptAccuracy;
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

    @Option(names = "--checkpoint", description = "A checkpoint trained with --classes.")
    Path checkpoint;

    @Option(names = "--model", description = "Or a text-to-image pipeline folder (such as models/mnist-text): each "
            + "class is asked for through its captions (--captions), with the folder's scheduler.")
    Path pipelineDir;

    @Option(names = "--captions", defaultValue = "templates", description = "With --model: 'templates' (the captions "
            + "train --captions templates uses for --data) or a file of lines 'CLASS caption' (default: "
            + "${DEFAULT-VALUE}).")
    String captions;

    @Option(names = "--data", defaultValue = "mnist", description = "With --model: the dataset the classes are "
            + "those of, mnist or fashion-mnist (its shipped classifier judges) (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--steps", defaultValue = "25", description = "With --model: denoising steps (default: "
            + "${DEFAULT-VALUE}, as generate).")
    int steps;

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
        if ((checkpoint == null) == (pipelineDir == null)) {
            throw new IllegalArgumentException("give one of --checkpoint (a class-conditional checkpoint) or --model "
                    + "(a text-to-image pipeline folder)");
        }
        if (pipelineDir != null) {
            return pipeline();
        }
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

    /** Asks a pipeline folder for every class through its captions; the shipped CNN of --data judges. */
    private int pipeline() throws IOException {
        Extractors.Shipped shipped = Extractors.shippedFor(data);
        if (shipped == null) {
            throw new IllegalArgumentException("--data " + data + ": no shipped classifier (mnist or fashion-mnist)");
        }
        Captions c = captions.equals("templates") ? Captions.templates(data)
                : Captions.read(Path.of(captions), 10);
        StableDiffusion sd = StableDiffusion.load(pipelineDir);
        FeatureExtractor cnn = Extractors.load(shipped);
        System.out.printf(Locale.ROOT, "classifier: the shipped %s feature network (CNN), test accuracy %.2f%% "
                + "(recorded when it was trained)%n", data, 100 * Double.parseDouble(cnn.metadata().get("test_accuracy")));
        for (double w : guidance) {
            PromptAccuracy.Result r = TrainOptions.named("--guidance/--per-class/--steps",
                    () -> PromptAccuracy.measure(sd, c, w, steps, perClass, seed, images -> cnn.predict(
                            centreCrop(images, 28))));
            StringBuilder per = new StringBuilder();
            for (double a : r.perClass()) {
                per.append(String.format(Locale.ROOT, " %.0f", 100 * a));
            }
            System.out.printf(Locale.ROOT, "guidance %s: %.1f%% of %d images (%s, %d steps) show the class their "
                    + "prompt names; per class %%:%s%n", w, 100 * r.accuracy(), r.samples(), sd.schedulerClass(),
                    steps, per);
        }
        return 0;
    }

    /** The centre side x side of images [n, C, H, W] (a VAE's padded output around the classifier's input). */
    static Tensor centreCrop(Tensor images, int side) {
        long h = images.size(2);
        long w = images.size(3);
        if (h < side || w < side) {
            throw new IllegalArgumentException("images of " + h + "x" + w + " are smaller than the classifier's "
                    + side + "x" + side);
        }
        // Clamped as a PNG of it would be.
        return torch.clamp(images.narrow(2, (h - side) / 2, side).narrow(3, (w - side) / 2, side),
                new ScalarOptional(Tensors.scalar(-1)), new ScalarOptional(Tensors.scalar(1))).contiguous();
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
