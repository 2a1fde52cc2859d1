package org.diffusion4j.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.train.TrainConfig;

/**
 * A checkpoint made ready for sampling: the network with the chosen weights, its parameterisation and schedule.
 *
 * @param usedEma whether the EMA weights were loaded (rather than the raw ones)
 */
public record LoadedModel(Network network, NetworkDenoiser denoiser, NoiseSchedule schedule, TrainConfig train,
                          String data, Checkpoint.Sidecar sidecar, boolean usedEma) {

    /**
     * Loads {@code file}, preferring EMA weights when present and {@code preferEma}.
     *
     * @throws IOException              if the files are missing, corrupt or inconsistent (the message names the file)
     * @throws IllegalArgumentException if the configs or tensors do not fit together
     */
    public static LoadedModel load(Path file, boolean preferEma) throws IOException {
        Checkpoint.Loaded ck = Checkpoint.load(file);
        Checkpoint.Sidecar side = ck.sidecar();
        String source = Checkpoint.sidecarOf(file).toString();
        ScheduleConfig schedule = Json.fromTree(side.schedule(), ScheduleConfig.class, source + ": schedule");
        TrainConfig train = TrainingRun.trainConfig(side.train(), source);
        Network net = Models.build(side.modelType(), side.modelConfig(), Rng.of(0), source);
        boolean hasEma = ck.tensors().keySet().stream().anyMatch(k -> k.startsWith(TrainingRun.EMA));
        boolean useEma = preferEma && hasEma;
        Parameters.load(net.module(), TrainingRun.withPrefix(ck.tensors(), useEma ? TrainingRun.EMA : TrainingRun.MODEL),
                file.toString());
        net.module().eval();
        return new LoadedModel(net, new NetworkDenoiser(net, train.prediction()), NoiseSchedule.of(schedule), train,
                side.data(), side, useEma);
    }
}
