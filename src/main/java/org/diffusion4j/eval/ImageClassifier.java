package org.diffusion4j.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.model.Init;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.train.AdamW;

/**
 * A small classifier for labelled image sets (an MLP with two hidden layers of 256), trained here from the seed in a
 * few seconds: the project's own judge of whether class-conditional samples show the class they were asked for.
 * Inputs are images in the model space [-1, 1], [B, C, H, W].
 */
public final class ImageClassifier {
    private final Module module = new Module();
    private final LinearImpl fc1;
    private final LinearImpl fc2;
    private final LinearImpl fc3;
    private final long[] imageShape;

    private ImageClassifier(long[] imageShape, int classes, Rng rng) {
        this.imageShape = imageShape.clone();
        long in = imageShape[0] * imageShape[1] * imageShape[2];
        fc1 = Scopes.detach(module.register_module("fc1", new LinearImpl(in, 256)));
        fc2 = Scopes.detach(module.register_module("fc2", new LinearImpl(256, 256)));
        fc3 = Scopes.detach(module.register_module("fc3", new LinearImpl(256, classes)));
        Init.pytorchDefault(module, rng);
        Scopes.detach(module);
    }

    /**
     * Trains on {@code data} with AdamW (lr 1e-3, batch 128) and light Gaussian input noise for robustness to
     * generated images.
     */
    public static ImageClassifier train(LabeledImages data, int steps, long seed) {
        if (data.labels() == null) {
            throw new IllegalArgumentException(data.id() + " has no labels to train a classifier on");
        }
        ImageClassifier c = new ImageClassifier(new long[] {data.channels(), data.height(), data.width()},
                data.numClasses(), Rng.of(seed));
        List<Tensor> params = new ArrayList<>(Parameters.named(c.module).values());
        AdamW opt = new AdamW(params, 0.9, 0.999, 1e-8, 0.0);
        DataSource source = data.source(seed, false);
        c.module.train(true);
        for (int step = 0; step < steps; step++) {
            try (PointerScope scope = new PointerScope()) {
                Rng rng = Rng.derive(seed, step);
                DataSource.Batch b = source.labeledBatch(step, 128, rng);
                Tensor x = b.x().add(rng.randn(Shapes.of(b.x())).mul(Tensors.scalar(0.1)));
                Tensor loss = torch.cross_entropy(c.logits(x), b.labels());
                c.module.zero_grad(true);
                loss.backward();
                opt.step(1e-3);
            }
        }
        c.module.eval();
        return c;
    }

    private Tensor logits(Tensor x) {
        Tensor h = torch.relu(fc1.forward(x.flatten(1, -1)));
        return fc3.forward(torch.relu(fc2.forward(h)));
    }

    /**
     * @param images [B, C, H, W] in [-1, 1]
     * @return the predicted class of each image
     */
    public long[] predict(Tensor images) {
        Shapes.require(images, "images", Shapes.ANY, imageShape[0], imageShape[1], imageShape[2]);
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor arg = logits(images.to(torch.ScalarType.Float)).argmax(new LongOptional(1),
                    false).contiguous();
            long[] out = new long[Math.toIntExact(arg.numel())];
            arg.data_ptr_long().get(out);
            return out;
        }
    }

    /** Fraction of {@code data} classified correctly. */
    public double accuracy(LabeledImages data) {
        return accuracy(data, this::predict);
    }

    /**
     * Fraction of a labelled set that {@code predict} classifies correctly, 1000 images at a time in file order;
     * shared with {@link FeatureExtractor#accuracy}.
     */
    static double accuracy(LabeledImages data, Function<Tensor, long[]> predict) {
        if (data.labels() == null) {
            throw new IllegalArgumentException(data.id() + " has no labels");
        }
        int correct = 0;
        for (int start = 0; start < data.count(); start += 1000) {
            int n = Math.min(1000, data.count() - start);
            try (PointerScope scope = new PointerScope()) {
                long[] pred = predict.apply(data.slice(start, n));
                for (int i = 0; i < n; i++) {
                    correct += pred[i] == (data.labels()[start + i] & 0xff) ? 1 : 0;
                }
            }
        }
        return (double) correct / data.count();
    }
}
