package org.diffusion4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * Trains the autoencoder: loss = mean |x - D(z)| + klWeight * KL(q(z|x) || N(0, I)) / pixels, z ~ q(z|x) by
 * reparameterisation (LDM's first stage without its perceptual and adversarial terms, which need pretrained
 * networks). Step k's batch and draws come from {@code Rng.derive(seed, k)}.
 */
public final class AutoencoderTrainer {
    /**
     * Per-step report.
     *
     * @param reconstruction mean absolute error per pixel
     * @param kl             mean KL per latent element
     */
    public record StepStats(long step, double loss, double reconstruction, double kl, double learningRate) {}

    /** Sees every completed step. */
    @FunctionalInterface
    public interface Listener {
        void onStep(StepStats stats);
    }

    private final AutoencoderKL model;
    private final DataSource data;
    private final AutoencoderTrainConfig config;
    private final TensorVector paramVector;
    private final AdamW optimizer;
    private long step;

    public AutoencoderTrainer(AutoencoderKL model, DataSource data, AutoencoderTrainConfig config) {
        long[] want = model.config().imageShape();
        if (!Arrays.equals(data.sampleShape(), want)) {
            throw new IllegalArgumentException(data.id() + ": images of shape " + Arrays.toString(
                    data.sampleShape()) + " do not fit an autoencoder for " + Arrays.toString(want));
        }
        this.model = model;
        this.data = data;
        this.config = config;
        List<Tensor> params = new ArrayList<>(Parameters.named(model).values());
        this.paramVector = new TensorVector(params.toArray(new Tensor[0]));
        this.optimizer = new AdamW(params, 0.9, 0.999, 1e-8, 0);
    }

    /** Runs all configured steps. */
    public void train(Listener listener) {
        model.train(true);
        while (step < config.steps()) {
            listener.onStep(trainStep());
        }
        model.train(false);
    }

    private StepStats trainStep() {
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.derive(config.seed(), step);
            Tensor x = data.batch(step, config.batchSize(), rng);
            AutoencoderKL.Posterior q = model.encode(x);
            Tensor recon = model.decode(q.sample(rng));
            Tensor l1 = recon.sub(x).abs().mean();
            long pixels = x.numel() / x.size(0);
            long latents = q.mean().numel() / x.size(0);
            Tensor kl = q.kl().mean();
            Tensor loss = l1.add(kl.mul(Tensors.scalar(config.klWeight() / pixels)));
            model.zero_grad(true);
            loss.backward();
            double clip = config.gradClip() > 0 ? config.gradClip() : Double.MAX_VALUE;
            double gradNorm = torch.clip_grad_norm_(paramVector, clip);
            double lossValue = loss.item_double();
            if (!Double.isFinite(lossValue) || !Double.isFinite(gradNorm)) {
                throw new IllegalStateException("non-finite autoencoder loss " + lossValue + " or gradient norm "
                        + gradNorm + " at step " + step + "; lower the learning rate");
            }
            double lr = config.learningRateAt(step);
            optimizer.step(lr);
            step++;
            return new StepStats(step - 1, lossValue, l1.item_double(), kl.item_double() / latents, lr);
        }
    }

    public long step() {
        return step;
    }

    public AutoencoderKL model() {
        return model;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** Mean absolute reconstruction error per pixel of the posterior means of {@code x} [B, C, H, W], in eval mode. */
    public static double reconstructionError(AutoencoderKL model, Tensor x) {
        try (PointerScope scope = new PointerScope();
             NoGradGuard guard = new NoGradGuard()) {
            return model.decode(model.encode(x).mean()).sub(x).abs().mean(new ScalarTypeOptional()).item_double();
        }
    }
}
