package org.diffusion4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.diffusion4j.data.Captions;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.dit.DiTConfig;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.RunSpec;
import org.diffusion4j.schedule.BetaSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimeSampling;
import org.diffusion4j.train.LearningRateDecay;
import org.diffusion4j.train.TrainConfig;
import picocli.CommandLine.Option;

/** Training hyperparameters shared by {@code train} and the default demo. Defaults are the toy defaults. */
final class TrainOptions {
    @Option(names = "--data", defaultValue = "swiss-roll", description = "Dataset: swiss-roll, two-moons, "
            + "8gaussians, checkerboard (2-D), waveforms or rows:FILE.csv|.npy (1-D signals), or mnist, fashion-mnist, cifar10, "
            + "folder:PATH (images), or latents:FILE (an encode command's output: latent diffusion) (default: ${DEFAULT-VALUE}).")
    String data;

    @picocli.CommandLine.Mixin
    ImageDataOptions images = new ImageDataOptions();

    @Option(names = "--model", description = "mlp, unet or dit (a diffusion transformer over image patches, "
            + "diffusers' DiTTransformer2DModel) (default: mlp for 2-D data, unet for images).")
    String model;

    @Option(names = "--channels", split = ",", description = "U-Net block_out_channels (default: 32,64,64).")
    List<Integer> channels;

    @Option(names = "--steps", description = "Optimiser steps (default: 3000).")
    Long steps;

    @Option(names = "--batch-size", description = "Samples per step (default: 256 for 2-D data, 64 for images).")
    Integer batchSize;

    @Option(names = "--lr", description = "Peak AdamW learning rate (default: 1e-3 for 2-D data, 5e-4 for images).")
    Double lr;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--warmup", description = "Linear warm-up steps (default: 100 for 2-D data, 200 for images).")
    Long warmup;

    @Option(names = "--grad-clip", defaultValue = "1.0",
            description = "Clip the gradient norm to this; 0 = off (default: ${DEFAULT-VALUE}).")
    double gradClip;

    @Option(names = "--ema-decay", description = "EMA decay; 0 = off (default: 0.995 for 2-D data, 0.999 for images).")
    Double emaDecay;

    @Option(names = "--min-snr-gamma", defaultValue = "0",
            description = "Min-SNR-gamma loss weighting; 0 = off, 5 is typical (default: ${DEFAULT-VALUE}).")
    double minSnrGamma;

    @Option(names = "--prediction", defaultValue = "epsilon",
            description = "What the network predicts: epsilon, sample, v_prediction (DDPM), or flow (flow matching / "
                    + "rectified flow: the straight path x_t = (1 - t) x0 + t eps, velocity target), or edm (Karras et "
                    + "al. 2022: preconditioned network, log-normal noise levels; sampled like epsilon models) "
                    + "(default: ${DEFAULT-VALUE}).")
    String prediction;

    @Option(names = "--classes", defaultValue = "0", description = "Class-conditional training on the dataset's N "
            + "labels (mnist and fashion-mnist 10, 8gaussians 8, two-moons 2); 0 = unconditional "
            + "(default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--label-dropout", defaultValue = "0.1", description = "With --classes: probability of training "
            + "on \"no class\"; with --captions: on the empty caption; for classifier-free guidance (default: "
            + "${DEFAULT-VALUE}).")
    double labelDropout;

    @Option(names = "--captions", description = "Train a text-conditioned latent U-Net (a CLIP text encoder and a "
            + "UNet2DConditionModel with cross-attention, trained jointly) on labelled data, each example captioned by "
            + "its class: 'templates' (\"the digit seven\", \"a photo of a sneaker\", ... for mnist and "
            + "fashion-mnist and their latents) or a file of lines 'CLASS caption'. The tokenizer is learned from the "
            + "captions (byte-level BPE, so any text encodes).")
    String captions;

    @Option(names = "--text-width", defaultValue = "64", description = "With --captions: the text encoder's width, "
            + "also the U-Net's cross-attention width (default: ${DEFAULT-VALUE}).")
    int textWidth;

    @Option(names = "--text-layers", defaultValue = "2", description = "With --captions: text encoder layers "
            + "(default: ${DEFAULT-VALUE}).")
    int textLayers;

    @Option(names = "--time-sampling", defaultValue = "uniform",
            description = "Flow matching's t: uniform or logit_normal (default: ${DEFAULT-VALUE}).")
    String timeSampling;

    @Option(names = "--lr-decay", defaultValue = "constant", description = "After the warm-up: constant, or linear or "
            + "cosine to 0 at the last step (default: ${DEFAULT-VALUE}).")
    String lrDecay;

    @Option(names = "--beta-schedule", defaultValue = "linear",
            description = "linear, scaled_linear, squaredcos_cap_v2 (cosine), sigmoid (default: ${DEFAULT-VALUE}).")
    String betaSchedule;

    @Option(names = "--beta-start", defaultValue = "1e-4", description = "First beta (default: ${DEFAULT-VALUE}).")
    double betaStart;

    @Option(names = "--beta-end", defaultValue = "0.02", description = "Last beta (default: ${DEFAULT-VALUE}).")
    double betaEnd;

    @Option(names = "--timesteps", defaultValue = "1000", description = "Training timesteps T (default: ${DEFAULT-VALUE}).")
    int timesteps;

    @Option(names = "--zero-terminal-snr", description = "Rescale the schedule to zero terminal SNR.")
    boolean zeroTerminalSnr;

    @Option(names = "--hidden", defaultValue = "128", description = "MLP width (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--depth", description = "MLP residual blocks (default: 3) or DiT transformer blocks "
            + "(default: 6).")
    Integer depth;

    @Option(names = "--patch-size", defaultValue = "2", description = "DiT: each P x P patch is one token "
            + "(default: ${DEFAULT-VALUE}).")
    int patchSize;

    @Option(names = "--width", defaultValue = "128", description = "DiT: token width (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--heads", defaultValue = "4", description = "DiT: attention heads, each width / heads wide "
            + "(default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--bf16", description = "Run the forward pass under bfloat16 autocast (weights stay float32).")
    boolean bf16;

    @Option(names = "--seed", defaultValue = "0", description = "Seed for weights, batches and noise (default: ${DEFAULT-VALUE}).")
    long seed;

    /** Builds and validates the run; every error names its option. Defaults depend on the kind of data. */
    RunSpec toSpec() {
        data = images.canonical(data);
        // Small flat data (2-D points, 1-D signals) shares the MLP defaults.
        boolean toy = Datasets.isToy(data) || Datasets.isSignal(data);
        Parameterization p = named("--prediction", () -> Parameterization.parse(prediction));
        BetaSchedule bs = named("--beta-schedule", () -> BetaSchedule.parse(betaSchedule));
        TimeSampling ts = named("--time-sampling",
                () -> TimeSampling.parse(timeSampling));
        LearningRateDecay decay = named("--lr-decay", () -> LearningRateDecay.parse(lrDecay));
        ScheduleConfig schedule = named("--timesteps/--beta-*",
                () -> new ScheduleConfig(timesteps, bs, betaStart, betaEnd, zeroTerminalSnr));
        TrainConfig train = named("training options", () -> new TrainConfig(or(steps, 3000L),
                or(batchSize, toy ? 256 : 64), or(lr, toy ? 1e-3 : 5e-4), weightDecay, 0.9, 0.999, 1e-8,
                or(warmup, toy ? 100L : 200L), gradClip, or(emaDecay, toy ? 0.995 : 0.999), minSnrGamma, p, seed, bf16, ts, classes, labelDropout, decay));
        Integer embeds = classes > 0 ? classes + 1 : null;
        if (captions != null && model != null && !model.equals("text-unet")) {
            throw new IllegalArgumentException("--captions trains a text-unet, not --model " + model);
        }
        String type = captions != null ? "text-unet" : model != null ? model : toy ? "mlp" : "unet";
        long[] shape = Datasets.sampleShape(data);
        NetworkConfig net = switch (type) {
            case "mlp" -> named("--hidden/--depth", () -> new MlpConfig((int) shape[0], hidden, or(depth, 3), 64,
                    embeds));
            case "dit" -> named("--patch-size/--depth/--width/--heads", () -> DiTConfig.of(shape, patchSize,
                    or(depth, 6), width, heads, classes));
            case "unet" -> named("--channels", () -> unet(shape, embeds));
            case "text-unet" -> named("--captions", () -> TextUNetConfig.of(shape,
                    channels != null ? channels : List.of(32, 64, 64), textWidth, textLayers,
                    captions().perClass()));
            default -> throw new IllegalArgumentException("--model: unknown model '" + type + "'; expected mlp, unet, "
                    + "dit or text-unet (with --captions)");
        };
        return named("--data/--model", () -> new RunSpec(net, schedule, train, data));
    }

    private UNetConfig unet(long[] shape, Integer numClassEmbeds) {
        if (shape.length != 3) {
            throw new IllegalArgumentException("the U-Net needs image data [C, H, W], '" + data + "' has samples of "
                    + shape.length + " dimension(s)");
        }
        return UNetConfig.attentionBelowTop((int) shape[1], (int) shape[0],
                channels != null ? channels : List.of(32, 64, 64), numClassEmbeds);
    }

    /** The --captions of a labelled dataset, or of the images behind a latents file. */
    private Captions captions() {
        if (captions == null) {
            throw new IllegalArgumentException("--model text-unet needs --captions");
        }
        if (captions.equals("templates")) {
            return Captions.templates(Datasets.imageSource(data));
        }
        try {
            return Captions.read(Path.of(captions), Datasets.numClasses(data));
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    static <T> T named(String option, Supplier<T> f) {
        try {
            return f.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
