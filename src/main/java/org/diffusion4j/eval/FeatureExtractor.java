package org.diffusion4j.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.model.Init;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.unet.Layers;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.train.AdamW;

/**
 * The feature network behind FID, KID and precision/recall: a small CNN classifier (two 3x3 conv + ReLU + 2x2
 * max-pool stages of 32 and 64 channels, a 128-unit ReLU layer, a linear classifier). Its 128 penultimate activations
 * are the features, as Inception's pool3 activations are for ImageNet FID. Inputs are images in the model space
 * [-1, 1], [B, C, H, W] with H and W divisible by 4.
 *
 * <p>Saved as safetensors whose metadata records the dataset, the training steps and seed, and the test accuracy.
 */
public final class FeatureExtractor {
    /** Value of the {@code format} metadata key. */
    public static final String FORMAT = "diffusion4j-extractor";
    /** Width of the feature vector. */
    public static final int FEATURES = 128;

    private final Net net;
    private final long[] imageShape;
    private final int classes;
    private final Map<String, String> metadata;

    private static final class Net extends Layers.Node {
        final Layers.Conv2d conv1;
        final Layers.Conv2d conv2;
        final Layers.Linear fc1;
        final Layers.Linear fc2;

        Net(long[] imageShape, int classes) {
            conv1 = register_module("conv1", Scopes.detach(new Layers.Conv2d((int) imageShape[0], 32, 3, 1, 1)));
            conv2 = register_module("conv2", Scopes.detach(new Layers.Conv2d(32, 64, 3, 1, 1)));
            fc1 = register_module("fc1", Scopes.detach(new Layers.Linear(
                    Math.toIntExact(64 * (imageShape[1] / 4) * (imageShape[2] / 4)), FEATURES)));
            fc2 = register_module("fc2", Scopes.detach(new Layers.Linear(FEATURES, classes)));
        }

        Tensor features(Tensor x) {
            Tensor h = torch.max_pool2d(torch.relu(conv1.forward(x)), new long[] {2, 2});
            h = torch.max_pool2d(torch.relu(conv2.forward(h)), new long[] {2, 2});
            return torch.relu(fc1.forward(h.flatten(1, -1)));
        }
    }

    private FeatureExtractor(long[] imageShape, int classes, Map<String, String> metadata) {
        if (imageShape.length != 3 || imageShape[0] < 1 || imageShape[1] < 4 || imageShape[2] < 4
                || imageShape[1] % 4 != 0 || imageShape[2] % 4 != 0) {
            throw new IllegalArgumentException("feature extractor needs [C, H, W] with H, W divisible by 4, got "
                    + Arrays.toString(imageShape));
        }
        if (classes < 2) {
            throw new IllegalArgumentException("feature extractor needs >= 2 classes, got " + classes);
        }
        this.imageShape = imageShape.clone();
        this.classes = classes;
        this.metadata = new LinkedHashMap<>(metadata);
        this.net = Scopes.detach(new Net(imageShape, classes));
    }

    /**
     * Trains a new extractor on {@code data} with AdamW (lr 1e-3 halved at 1/2 and 3/4 of the run, batch 128), the
     * data order and initialisation fixed by {@code seed}.
     *
     * @param test the held-out split whose accuracy is recorded in the metadata
     */
    public static FeatureExtractor train(LabeledImages data, LabeledImages test, int steps, long seed,
                                         Map<String, String> provenance) {
        if (data.labels() == null) {
            throw new IllegalArgumentException(data.id() + " has no labels to train a feature extractor on");
        }
        if (steps < 1) {
            throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
        }
        long[] shape = {data.channels(), data.height(), data.width()};
        FeatureExtractor f = new FeatureExtractor(shape, data.numClasses(), provenance);
        Init.pytorchDefault(f.net, Rng.of(seed));
        List<Tensor> params = new ArrayList<>(Parameters.named(f.net).values());
        AdamW opt = new AdamW(params, 0.9, 0.999, 1e-8, 0.0);
        DataSource source = data.source(seed, false);
        f.net.train(true);
        for (int step = 0; step < steps; step++) {
            try (PointerScope scope = new PointerScope()) {
                DataSource.Batch b = source.labeledBatch(step, 128, Rng.derive(seed, step));
                Tensor loss = torch.cross_entropy(f.logits(b.x()), b.labels());
                f.net.zero_grad(true);
                loss.backward();
                opt.step(step < steps / 2 ? 1e-3 : step < 3 * steps / 4 ? 5e-4 : 2.5e-4);
            }
        }
        f.net.eval();
        double acc = f.accuracy(test);
        Map<String, String> meta = f.metadata;
        meta.put("format", FORMAT);
        meta.put("data", data.id().replaceFirst("/train$", ""));
        meta.put("classes", Integer.toString(data.numClasses()));
        meta.put("image_shape", shape[0] + "x" + shape[1] + "x" + shape[2]);
        meta.put("steps", Integer.toString(steps));
        meta.put("seed", Long.toString(seed));
        meta.put("test_accuracy", String.format(Locale.ROOT, "%.4f", acc));
        return f;
    }

    /** Writes the weights and metadata atomically. */
    public void save(Path file) throws IOException {
        Safetensors.write(file, Parameters.named(net), metadata);
    }

    /**
     * Reads an extractor written by {@link #save}; names the file in every error.
     */
    public static FeatureExtractor load(Path file) throws IOException {
        Safetensors.Contents c = Safetensors.read(file);
        Map<String, String> meta = c.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IllegalArgumentException(file + ": not a feature extractor (metadata format is "
                    + meta.get("format") + ", expected " + FORMAT + ")");
        }
        long[] shape;
        int classes;
        try {
            String[] dims = meta.getOrDefault("image_shape", "").split("x");
            shape = new long[] {Long.parseLong(dims[0]), Long.parseLong(dims[1]), Long.parseLong(dims[2])};
            classes = Integer.parseInt(meta.get("classes"));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": bad image_shape/classes metadata: " + meta.get("image_shape")
                    + ", " + meta.get("classes"));
        }
        FeatureExtractor f;
        try {
            f = new FeatureExtractor(shape, classes, meta);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
        Parameters.load(f.net, c.tensors(), file.toString());
        f.net.eval();
        return f;
    }

    /** The metadata: format, data, classes, image_shape, steps, seed, test_accuracy and how it was made. */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /** [C, H, W] of the images it reads. */
    public long[] imageShape() {
        return imageShape.clone();
    }

    public int classes() {
        return classes;
    }

    private Tensor logits(Tensor x) {
        return net.fc2.forward(net.features(x));
    }

    /** Features and class probabilities of a batch. */
    public record Output(Tensor features, Tensor probabilities) {}

    /**
     * @param images [B, C, H, W] in [-1, 1]
     * @return features float64 [B, 128] and softmax probabilities float64 [B, classes], in the caller's scope
     */
    public Output apply(Tensor images) {
        Shapes.require(images, "images", Shapes.ANY, imageShape[0], imageShape[1], imageShape[2]);
        try (NoGradGuard guard = new NoGradGuard()) {
            Tensor h = net.features(images.to(torch.ScalarType.Float));
            Tensor p = torch.softmax(net.fc2.forward(h), 1, new ScalarTypeOptional());
            return new Output(h.to(torch.ScalarType.Double), p.to(torch.ScalarType.Double));
        }
    }

    /**
     * Features of a large set, batch by batch.
     *
     * @param images [N, C, H, W] in [-1, 1]
     * @return float64 [N, 128] features and [N, classes] probabilities
     */
    public Output applyAll(Tensor images) {
        long n = images.size(0);
        Tensor feats = torch.empty(n, FEATURES).to(torch.ScalarType.Double);
        Tensor probs = torch.empty(n, classes).to(torch.ScalarType.Double);
        for (long start = 0; start < n; start += 500) {
            long b = Math.min(500, n - start);
            try (PointerScope scope = new PointerScope()) {
                Output o = apply(images.narrow(0, start, b));
                feats.narrow(0, start, b).copy_(o.features());
                probs.narrow(0, start, b).copy_(o.probabilities());
            }
        }
        return new Output(feats, probs);
    }

    /**
     * The most probable class of each image: the network is a classifier too.
     *
     * @param images [B, C, H, W] in [-1, 1]
     * @return B class indices
     */
    public long[] predict(Tensor images) {
        try (PointerScope scope = new PointerScope()) {
            Tensor pred = apply(images).probabilities().argmax(new LongOptional(1), false)
                    .contiguous();
            long[] p = new long[Math.toIntExact(pred.numel())];
            pred.data_ptr_long().get(p);
            return p;
        }
    }

    /** Fraction of a labelled set classified correctly. */
    public double accuracy(LabeledImages data) {
        return ImageClassifier.accuracy(data, this::predict);
    }
}
