package org.diffusion4j.run;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.train.AutoencoderTrainConfig;
import org.diffusion4j.train.AutoencoderTrainer;

/**
 * Trains the latent-diffusion autoencoder and reads and writes its checkpoint: the usual safetensors + sidecar pair,
 * with model_type {@value AutoencoderConfig#TYPE} and no noise schedule.
 */
public final class AutoencoderRun {
    private AutoencoderRun() {}

    /**
     * An autoencoder training run.
     *
     * @param data an image dataset id: mnist, fashion-mnist, cifar10 or folder:SIZE:COLOUR:PATH
     */
    public record Spec(AutoencoderConfig model, AutoencoderTrainConfig train, String data) {
        public Spec {
            if (model == null || train == null || data == null) {
                throw new IllegalArgumentException("model, train and data must all be set");
            }
            Datasets.check(data);
            long[] shape = Datasets.sampleShape(data);
            if (Datasets.isToy(data) || Datasets.isSignal(data) || Datasets.isLatent(data)) {
                throw new IllegalArgumentException("the autoencoder is for images (mnist, fashion-mnist, cifar10, folder:PATH), "
                        + "not '" + data + "'");
            }
            if (!Arrays.equals(shape, model.imageShape())) {
                throw new IllegalArgumentException("dataset '" + data + "' has images of shape " + Arrays.toString(shape)
                        + " but the autoencoder takes " + Arrays.toString(model.imageShape()));
            }
        }
    }

    /** A loaded autoencoder checkpoint, in eval mode. */
    public record Loaded(AutoencoderKL model, Checkpoint.Sidecar sidecar, Path file, String sha256) {
        /** The image dataset id it was trained on. */
        public String data() {
            return sidecar.data();
        }
    }

    /** Trains and saves to {@code out} (a .safetensors path), without a loss log. */
    public static AutoencoderTrainer run(Spec spec, Path dataDir, Path out, AutoencoderTrainer.Listener listener)
            throws IOException {
        return run(spec, dataDir, out, listener, () -> null);
    }

    /** As above, saving the loss log {@code lossLog} gives after training with the checkpoint, in one transaction. */
    public static AutoencoderTrainer run(Spec spec, Path dataDir, Path out, AutoencoderTrainer.Listener listener,
                                         Supplier<byte[]> lossLog) throws IOException {
        Checkpoint.requireSafetensorsName(out);
        AutoencoderKL model = spec.model().build(Rng.of(spec.train().seed()));
        AutoencoderTrainer trainer = new AutoencoderTrainer(model, Datasets.resolve(spec.data(), dataDir,
                spec.train().seed()), spec.train());
        trainer.train(listener);
        save(trainer, spec, out, lossLog.get());
        return trainer;
    }

    /** Writes the weights (no optimizer state: the autoencoder is trained in one go) and the sidecar. */
    static void save(AutoencoderTrainer trainer, Spec spec, Path out, byte[] lossLog) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Parameters.named(trainer.model()).forEach((k, v) -> tensors.put(TrainingRun.MODEL + k, v));
        Checkpoint.save(out, new Checkpoint.Sidecar(AutoencoderConfig.TYPE, Json.toTree(spec.model()), null,
                Json.toTree(spec.train()), spec.data(), trainer.step(), spec.train().seed(),
                trainer.optimizer().stepCount(), 0), tensors, lossLog);
    }

    /** Loads an autoencoder checkpoint, refusing other kinds by name. */
    public static Loaded load(Path file) throws IOException {
        String source = Checkpoint.sidecarOf(file).toString();
        AutoencoderConfig[] config = new AutoencoderConfig[1];
        Checkpoint.Loaded ck = Checkpoint.load(file, (s, header) -> {
            if (!s.modelType().equals(AutoencoderConfig.TYPE)) {
                throw new IllegalArgumentException(file + ": a " + s.modelType() + " checkpoint, not an autoencoder ("
                        + AutoencoderConfig.TYPE + "); train one with train-autoencoder");
            }
            config[0] = Json.fromTree(s.modelConfig(), AutoencoderConfig.class, source + ": model_config");
            Models.requireTensors(config[0].parameterShapes(), header, file, Set.of(TrainingRun.MODEL));
        });
        Checkpoint.Sidecar side = ck.sidecar();
        AutoencoderKL model = config[0].build(Rng.of(0));
        Parameters.load(model, TrainingRun.withPrefix(ck.tensors(), TrainingRun.MODEL), file.toString());
        model.train(false);
        return new Loaded(model, side, file, ck.sha256());
    }
}
