package org.diffusion4j.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.OutputLock;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.render.ImageGrid;
import org.diffusion4j.run.AutoencoderRun;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.train.AutoencoderTrainConfig;
import org.diffusion4j.train.AutoencoderTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train-autoencoder", mixinStandardHelpOptions = true,
        description = "Train the KL autoencoder of latent diffusion on images: writes NAME.safetensors + NAME.json, "
                + "the loss log NAME.loss.csv and NAME.recon.png (held-out images over their reconstructions).")
final class TrainAutoencoderCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --batch-size or --channels";
    }

    @Option(names = "--data", defaultValue = "mnist",
            description = "mnist, fashion-mnist, cifar10 or folder:PATH (default: ${DEFAULT-VALUE}).")
    String data;

    @picocli.CommandLine.Mixin
    ImageDataOptions images = new ImageDataOptions();

    @Option(names = "--channels", split = ",", defaultValue = "16,32,64", description = "Channels per level; n levels "
            + "downsample by 2^(n-1) (default: ${DEFAULT-VALUE}, a factor of 4).")
    List<Integer> channels;

    @Option(names = "--latent-channels", defaultValue = "4", description = "Latent channels (default: ${DEFAULT-VALUE}).")
    int latentChannels;

    @Option(names = "--latent-size", description = "Latent side (default: the smallest even side covering the image, "
            + "8 for 28x28 at a factor of 4; images are padded to latent size x factor).")
    Integer latentSize;

    @Option(names = "--steps", defaultValue = "1500", description = "Optimiser steps (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--batch-size", defaultValue = "64", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak AdamW learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--warmup", defaultValue = "100", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--grad-clip", defaultValue = "1.0", description = "Gradient-norm clip; 0 = off (default: ${DEFAULT-VALUE}).")
    double gradClip;

    @Option(names = "--kl-weight", defaultValue = "1e-6", description = "Weight of the KL term against the per-pixel "
            + "reconstruction loss (default: ${DEFAULT-VALUE}, LDM's).")
    double klWeight;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "Checkpoint path, ending in .safetensors.")
    Path out;

    @Option(names = "--overwrite", description = "Replace existing outputs.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        Checkpoint.requireSafetensorsName(out);
        String dataId = images.canonical(data);
        long[] shape = Datasets.sampleShape(dataId);
        AutoencoderConfig model = TrainOptions.named("--channels/--latent-channels/--latent-size", () -> {
            if (shape.length != 3 || shape[1] != shape[2]) {
                throw new IllegalArgumentException("the autoencoder needs square images, '" + dataId + "' has samples "
                        + "of shape " + Arrays.toString(shape));
            }
            AutoencoderConfig c = AutoencoderConfig.of((int) shape[1], (int) shape[0], channels, latentChannels);
            return latentSize == null ? c : new AutoencoderConfig(c.imageSize(), c.inChannels(), c.blockOutChannels(),
                    c.latentChannels(), latentSize, c.layersPerBlock(), c.normNumGroups());
        });
        AutoencoderTrainConfig train = TrainOptions.named("training options", () -> new AutoencoderTrainConfig(steps,
                batchSize, lr, warmup, gradClip, klWeight, seed));
        AutoencoderRun.Spec spec = TrainOptions.named("--data", () -> new AutoencoderRun.Spec(model, train, dataId));
        Path lossCsv = OutputPaths.withSuffix(out, ".safetensors", ".loss.csv");
        Path preview = OutputPaths.withSuffix(out, ".safetensors", ".recon.png");
        // Taken before the checks, so that a second job for this --out cannot pass them too; released at exit.
        OutputLock lock = OutputLock.acquire(out, "--out");
        try {
            for (Path p : new Path[] {out, Checkpoint.sidecarOf(out), lossCsv, preview}) {
                OutputPaths.check(p, "--out", overwrite);
            }
            return train(spec, dataId, shape, model, lossCsv, preview);
        } finally {
            lock.close();
        }
    }

    private Integer train(AutoencoderRun.Spec spec, String dataId, long[] shape, AutoencoderConfig model, Path lossCsv,
                          Path preview) throws Exception {
        StringBuilder log = new StringBuilder("step,loss,reconstruction_l1,kl_per_latent,lr\n");
        long start = System.nanoTime();
        AutoencoderTrainer trainer;
        try (ProgressBar pb = Progress.bar("train-autoencoder", steps)) {
            trainer = AutoencoderRun.run(spec, images.dataDir, out, s -> {
                log.append(String.format(Locale.ROOT, "%d,%.6g,%.6g,%.6g,%.6g%n", s.step(), s.loss(), s.reconstruction(),
                        s.kl(), s.learningRate()));
                pb.stepTo(s.step() + 1);
                if (s.step() % 10 == 0) {
                    pb.setExtraMessage(String.format(Locale.ROOT, "L1 %.4f", s.reconstruction()));
                }
            }, () -> log.toString().getBytes(StandardCharsets.UTF_8));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        AutoencoderKL ae = trainer.model();
        // Held out: the test split where there is one (an image folder has only its training images).
        LabeledImages heldOut = Datasets.images(dataId, images.dataDir, false);
        int n = Math.min(512, heldOut.count());
        double l1;
        double mse;
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor x = heldOut.slice(0, n);
            Tensor recon = torch.clamp(ae.decode(ae.encode(x).mean()), new ScalarOptional(
                    Tensors.scalar(-1)), new ScalarOptional(
                    Tensors.scalar(1)));
            l1 = recon.sub(x).abs().mean().item_double();
            mse = recon.sub(x).square().mean().item_double();
            int shown = Math.min(16, n);
            Tensor grid = torch.cat(new TensorVector(x.narrow(0, 0, shown), recon.narrow(0, 0, shown)));
            ImageGrid.writePng(ImageGrid.render(grid, shown, 2), preview);
        }
        // PSNR on the [0, 1] pixel scale: the [-1, 1] MSE is 4x larger.
        double psnr = 10 * Math.log10(1 / (mse / 4));
        System.out.printf(Locale.ROOT, "trained autoencoder %s on %s: %d steps in %.1f s, %d parameters, latent %s "
                        + "(%.1fx fewer values than the image)%n", model.blockOutChannels(), dataId, steps, seconds,
                Parameters.count(ae), Arrays.toString(model.latentShape()),
                (double) (shape[0] * shape[1] * shape[2]) / (model.latentChannels() * model.latentSize()
                        * model.latentSize()));
        System.out.printf(Locale.ROOT, "reconstruction of %d held-out images (%s): mean absolute error %.4f of the "
                + "pixel range, PSNR %.1f dB%n", n, heldOut.id(), l1 / 2, psnr);
        System.out.println("checkpoint: " + out + " (+ " + Checkpoint.sidecarOf(out).getFileName() + "), loss log: "
                + lossCsv + ", reconstructions: " + preview);
        return 0;
    }
}
