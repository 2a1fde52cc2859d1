package org.diffusion4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.distributed.Collective;
import org.diffusion4j.distributed.DataParallel;
import org.diffusion4j.distributed.GradientBuckets;
import org.diffusion4j.distributed.GradientSync;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * The denoising training loop (Ho et al. 2020, algorithm 1): t ~ U{0..T-1}, eps ~ N(0, I),
 * loss = w(t) * ||f(x_t, t) - target||^2, with AdamW, warm-up, clipping and EMA.
 *
 * <p>Step k draws its batch, timesteps and noise from {@code Rng.derive(seed, k)}, so a run is a pure function of its
 * config, and resuming at step k continues exactly as an uninterrupted run would.
 *
 * <p>The step runs on the device of the network's parameters. Its inputs are drawn on the CPU, as a data loader
 * would produce them, and copied there once per step, so a run draws the same batches and noise on every device.
 *
 * <p>Data-parallel: with W ranks, each rank computes rows [r B/W, (r+1) B/W) of that same global batch (same
 * examples, timesteps and noise), and the gradients and loss are averaged over the ranks before clipping, so W
 * ranks take the steps one process with batch B would, up to float summation order.
 */
public final class Trainer {
    /**
     * Per-step report.
     *
     * @param skipped the loss or gradient was NaN or infinite, so the step changed nothing (weights, optimizer, EMA)
     */
    public record StepStats(long step, double loss, double learningRate, double gradNorm, boolean skipped) {}

    /** Consecutive non-finite steps after which a run stops (by default; see {@link #Trainer(Network, NoiseSchedule,
     * DataSource, TrainConfig, int)}). */
    public static final int DEFAULT_MAX_SKIPPED = 5;

    /** Thrown when too many consecutive steps had a non-finite loss or gradient; the weights are those before them. */
    public static final class DivergedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        public DivergedException(String message) {
            super(message);
        }
    }

    /** Sees every completed step. */
    @FunctionalInterface
    public interface Listener {
        void onStep(StepStats stats);
    }

    private final Network network;
    private final DeviceSpec device;
    private final DiffusionProcess process;
    private final DataSource data;
    private final TrainConfig config;
    private final List<Tensor> params;
    private final TensorVector paramVector;
    private final FlatParameters flat;
    private final AdamW optimizer;
    private final Ema ema;
    private final int maxSkipped;
    private final Collective group;
    private final GradientSync sync;
    private long step;
    private int skippedInARow;

    public Trainer(Network network, NoiseSchedule schedule, DataSource data, TrainConfig config) {
        this(network, schedule, data, config, DEFAULT_MAX_SKIPPED);
    }

    /**
     * @param maxSkipped stop with a {@link DivergedException} after this many consecutive steps whose loss or
     *                   gradient norm was not finite (each such step is skipped: nothing is updated)
     */
    public Trainer(Network network, NoiseSchedule schedule, DataSource data, TrainConfig config, int maxSkipped) {
        this(network, schedule, data, config, maxSkipped, DataParallel.single());
    }

    /**
     * One rank of a data-parallel run: rank 0's initial weights are copied to every rank here, and every step
     * averages the gradients over {@code parallel}'s group. The batch size must be divisible by the world size.
     * The network's parameters move into one buffer here ({@link FlatParameters}), so place the network on its device
     * first; a later move is refused at the next step.
     */
    public Trainer(Network network, NoiseSchedule schedule, DataSource data, TrainConfig config, int maxSkipped,
                   DataParallel parallel) {
        if (maxSkipped < 1) {
            throw new IllegalArgumentException("max skipped steps must be >= 1, got " + maxSkipped);
        }
        this.maxSkipped = maxSkipped;
        this.network = network;
        this.data = data;
        this.config = config;
        this.params = new ArrayList<>(Parameters.named(network.module()).values());
        this.device = params.isEmpty() ? DeviceSpec.CPU : DeviceSpec.of(params.get(0));
        this.process = config.process(schedule);
        this.paramVector = new TensorVector(params.toArray(new Tensor[0]));
        // One buffer when the parameters can share it: the update, the average and the clipping become a few ops.
        this.flat = FlatParameters.of(params);
        this.optimizer = flat != null
                ? new AdamW(flat, config.beta1(), config.beta2(), config.adamEps(), config.weightDecay())
                : new AdamW(params, config.beta1(), config.beta2(), config.adamEps(), config.weightDecay());
        this.group = parallel.group();
        DataParallel.requireEvenShares(config.batchSize(), group.worldSize());
        if (group.worldSize() > 1) {
            // Before the EMA copies the weights, so that it starts from the common ones too.
            GradientBuckets.broadcastParameters(group, params);
            this.sync = group.gradientSync(params, parallel.bucketBytes());
        } else {
            this.sync = null;
        }
        this.ema = config.emaDecay() <= 0 ? null
                : flat != null ? new Ema(flat, config.emaDecay()) : new Ema(params, config.emaDecay());
    }

    /** Runs steps until {@code config.steps()} have been taken in total. */
    public void train(Listener listener) {
        trainUntil(config.steps(), listener);
    }

    /** Runs steps until {@code endStep} steps have been taken in total (for periodic checkpoints). */
    public void trainUntil(long endStep, Listener listener) {
        if (endStep > config.steps()) {
            throw new IllegalArgumentException("end step " + endStep + " is past the configured " + config.steps());
        }
        network.module().train(true);
        while (step < endStep) {
            StepStats stats = trainStep();
            listener.onStep(stats);
        }
    }

    private StepStats trainStep() {
        int batch = config.batchSize();
        int share = batch / group.worldSize();
        int from = group.rank() * share;
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.derive(config.seed(), step);
            DataSource.Batch labeled = data.labeledBatch(step, batch, rng, from, from + share);
            Tensor x0 = device.put(labeled.x());
            long rank = x0.dim();
            long[] fullShape = x0.sizes().vec().get();
            fullShape[0] = batch;
            // The level first, then the noise: the order of the step's draws is the same for every process.
            DiffusionProcess.Draw level = process.draw(rng, batch);
            Tensor eps = device.put(labeled.noise() != null ? labeled.noise()
                    : rng.randn(fullShape).narrow(0, from, share));
            long[] column = new long[(int) rank];
            Arrays.fill(column, 1);
            column[0] = share;
            Tensor alpha = device.put(level.alpha().narrow(0, from, share)).reshape(column);
            Tensor sigma = device.put(level.sigma().narrow(0, from, share)).reshape(column);
            Tensor timeInput = device.put(level.time().narrow(0, from, share));
            Tensor labels = null;
            if (config.numClasses() > 0) {
                if (labeled.labels() == null) {
                    throw new IllegalStateException(data.id() + " has no class labels for conditional training");
                }
                // Classifier-free guidance training: some labels become "no class" (Ho & Salimans 2022).
                Tensor drop = rng.rand(batch).narrow(0, from, share).lt(Tensors.scalar(config.labelDropout()));
                labels = device.put(torch.where(drop, torch.full_like(labeled.labels(),
                        Tensors.scalar(config.nullLabel())), labeled.labels()));
            } else if (labeled.labels() != null && labeled.labels().dim() == 2) {
                // Caption token ids: the source has already dropped some captions to the empty one.
                labels = device.put(labeled.labels());
            }
            Tensor xt = x0.mul(alpha).add(eps.mul(sigma));
            Tensor out;
            if (sync != null) {
                sync.beforeForward();
            }
            try (Autocast cast = Autocast.bf16(config.bf16(), device)) {
                Parameterization p = config.prediction();
                out = network.forward(p.networkInput(xt, alpha, sigma), p.networkTime(timeInput, alpha, sigma), labels);
            }
            // The loss is computed in float32 whatever the forward pass ran in.
            out = out.to(torch.ScalarType.Float);
            Tensor target = config.prediction().target(x0, eps, alpha, sigma);
            Tensor perSample = out.sub(target).square().flatten(1, -1).mean(new long[] {1}, false,
                    new ScalarTypeOptional());
            if (config.minSnrGamma() > 0) {
                perSample = perSample.mul(minSnrWeight(alpha.flatten(), sigma.flatten(), config.minSnrGamma(),
                        config.prediction()));
            }
            Tensor loss = perSample.mean();
            network.module().zero_grad(true);
            double lossValue = loss.item_double();
            if (sync != null) {
                // Every rank now holds the same mean gradient and loss, so all take the same decisions below.
                lossValue = sync.backward(loss, lossValue)[0];
            } else {
                loss.backward();
            }
            // Null when some parameter got no gradient: then the per-tensor path skips it, as torch.optim does.
            Tensor gradient = flat != null ? flat.gradients() : null;
            double gradNorm = gradient != null ? clip(gradient, config.gradClip())
                    : config.gradClip() > 0 ? torch.clip_grad_norm_(paramVector, config.gradClip())
                    : torch.clip_grad_norm_(paramVector, Double.MAX_VALUE);
            double lr = config.learningRateAt(step);
            if (!Double.isFinite(lossValue) || !Double.isFinite(gradNorm)) {
                // Skip: no optimizer or EMA update, so the weights stay those of the last good step.
                network.module().zero_grad(true);
                step++;
                if (++skippedInARow >= maxSkipped) {
                    throw new DivergedException(String.format(Locale.ROOT, "training diverged: the loss or "
                            + "gradient norm was not finite at %d steps in a row (steps %d to %d, last loss %s, "
                            + "gradient norm %s); the weights are those before them. Lower the learning rate "
                            + "(was %.3g) or check the data", skippedInARow, step - skippedInARow, step - 1,
                            lossValue, gradNorm, lr));
                }
                return new StepStats(step - 1, lossValue, lr, gradNorm, true);
            }
            skippedInARow = 0;
            if (gradient != null) {
                optimizer.step(lr, gradient);
            } else {
                optimizer.step(lr);
            }
            if (ema != null) {
                ema.update();
            }
            step++;
            return new StepStats(step - 1, lossValue, lr, gradNorm, false);
        }
    }

    /**
     * Hang et al. 2023: weight = min(SNR, gamma) / SNR for eps, min(SNR, gamma) for x0, min(SNR, gamma) / (SNR + 1) for v,
     * which all equal the x0-space weight min(SNR, gamma).
     */
    static Tensor minSnrWeight(Tensor alpha, Tensor sigma, double gamma, Parameterization prediction) {
        Tensor snr = alpha.square().div(sigma.square());
        Tensor clipped = torch.clamp_max(snr, Tensors.scalar(gamma));
        return switch (prediction) {
            case EPS -> clipped.div(snr);
            case X0 -> clipped;
            case V -> clipped.div(snr.add(Tensors.scalar(1)));
            case FLOW, EDM -> throw new IllegalStateException("unreachable: rejected by TrainConfig");
        };
    }

    /** Steps skipped in a row up to now for a non-finite loss or gradient (0 after a good step). */
    public int skippedInARow() {
        return skippedInARow;
    }

    /**
     * torch.nn.utils.clip_grad_norm_ on one flat gradient: scales it in place to an L2 norm of at most {@code max}
     * (0: no clipping) and returns the norm before.
     */
    static double clip(Tensor gradient, double max) {
        double norm = gradient.norm().item_double();
        double coefficient = max / (norm + 1e-6);
        if (max > 0 && coefficient < 1) {
            gradient.mul_(Tensors.scalar(coefficient));
        }
        return norm;
    }

    /** Steps taken so far. */
    public long step() {
        return step;
    }

    public TrainConfig config() {
        return config;
    }

    public Network network() {
        return network;
    }

    /** The processes this trainer averages over (a group of one unless data-parallel). */
    public Collective group() {
        return group;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** The EMA, or null when disabled. */
    public Ema ema() {
        return ema;
    }

    /** Restores the step counter after loading weights, optimizer and EMA state. */
    public void resumeAt(long stepCount) {
        if (stepCount < 0 || stepCount > config.steps()) {
            throw new IllegalArgumentException("resume step " + stepCount + " outside [0, " + config.steps() + "]");
        }
        this.step = stepCount;
    }
}
