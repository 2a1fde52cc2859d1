package org.diffusion4j.run;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.train.TrainConfig;

/**
 * A checkpoint made ready for sampling: the network with the chosen weights, its parameterisation and schedule.
 *
 * @param usedEma whether the EMA weights were loaded (rather than the raw ones)
 * @param latent  for a latent diffusion model, its autoencoder and scale; null otherwise
 */
public record LoadedModel(Network network, NetworkDenoiser denoiser, NoiseSchedule schedule, TrainConfig train,
                          String data, Checkpoint.Sidecar sidecar, boolean usedEma, LatentSpace latent)
        implements SamplableModel {
    @Override
    public DiffusionProcess process() {
        return train.process(schedule);
    }

    /** One sample as the network sees it (a latent for latent diffusion), without the batch dimension. */
    @Override
    public long[] sampleShape() {
        return networkConfig().sampleShape();
    }

    @Override
    public long[] outputShape() {
        return latent == null ? sampleShape() : latent.imageShape();
    }

    @Override
    public int numClasses() {
        return train.numClasses();
    }

    @Override
    public String prediction() {
        return train.prediction().id();
    }

    @Override
    public NetworkConfig networkConfig() {
        return Models.configOf(network);
    }

    @Override
    public boolean isLatent() {
        return latent != null;
    }

    /** The data the model's output stands for: the image set behind the latents, or the training data itself. */
    @Override
    public String outputData() {
        return latent != null ? latent.imageData() : data;
    }

    /** Samples as the user sees them: decoded images for latent diffusion, else unchanged. */
    @Override
    public Tensor toOutput(Tensor samples, int batchSize) {
        return latent == null ? samples : latent.decode(samples, batchSize);
    }

    @Override
    public Tensor toSampleSpace(Tensor data) {
        return latent == null ? data : latent.encode(data);
    }

    @Override
    public Tensor maskToSampleSpace(Tensor mask) {
        return latent == null ? mask : latent.downsample(mask);
    }

    /**
     * Loads {@code file}, preferring EMA weights when present and {@code preferEma}.
     *
     * @throws IOException              if the files are missing, corrupt or inconsistent (the message names the file)
     * @throws IllegalArgumentException if the configs or tensors do not fit together
     */
    public static LoadedModel load(Path file, boolean preferEma) throws IOException {
        return load(file, preferEma, DeviceSpec.CPU);
    }

    /** As above, with the network on {@code device} (sampling then runs there). */
    public static LoadedModel load(Path file, boolean preferEma, DeviceSpec device) throws IOException {
        String source = Checkpoint.sidecarOf(file).toString();
        NetworkConfig[] config = new NetworkConfig[1];
        Checkpoint.Loaded ck = Checkpoint.load(file, (s, header) -> {
            if (s.schedule() == null) {
                throw new IllegalArgumentException(file + ": a " + s.modelType() + " checkpoint is not a diffusion "
                        + "model (its sidecar has no noise schedule)");
            }
            config[0] = Models.config(s.modelType(), s.modelConfig(), source);
            Models.requireTensors(config[0].parameterShapes(), header, file, Set.of(TrainingRun.MODEL));
        });
        Checkpoint.Sidecar side = ck.sidecar();
        ScheduleConfig schedule = Json.fromTree(side.schedule(), ScheduleConfig.class, source + ": schedule");
        TrainConfig train = TrainingRun.trainConfig(side.train(), source);
        Network net = config[0].build(Rng.of(0));
        boolean hasEma = ck.tensors().keySet().stream().anyMatch(k -> k.startsWith(TrainingRun.EMA));
        boolean useEma = preferEma && hasEma;
        Parameters.load(net.module(), TrainingRun.withPrefix(ck.tensors(), useEma ? TrainingRun.EMA : TrainingRun.MODEL),
                file.toString());
        net.moveTo(device);
        net.module().eval();
        LatentSpace latent = side.autoencoder() == null ? null : LatentSpace.resolve(file, side.autoencoder());
        return new LoadedModel(net, new NetworkDenoiser(net, train.prediction()), NoiseSchedule.of(schedule), train,
                side.data(), side, useEma, latent);
    }
}
