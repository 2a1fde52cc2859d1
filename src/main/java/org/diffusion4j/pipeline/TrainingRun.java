package org.diffusion4j.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.train.Trainer;

/** Trains a model from a {@link RunSpec} and writes its checkpoint. */
public final class TrainingRun {
    /** Tensor name prefixes inside a checkpoint. */
    public static final String MODEL = "model.";
    public static final String EMA = "ema.";
    public static final String EXP_AVG = "optim.exp_avg.";
    public static final String EXP_AVG_SQ = "optim.exp_avg_sq.";

    private TrainingRun() {}

    /** A fresh trainer for {@code spec}: weights initialised from the spec's seed. */
    public static Trainer trainer(RunSpec spec) {
        Network net = new MlpNet(spec.model(), Rng.of(spec.train().seed()));
        return new Trainer(net, NoiseSchedule.of(spec.schedule()), Datasets.resolve(spec.data()), spec.train());
    }

    /** Trains to completion and saves to {@code checkpoint} (a .safetensors path). Returns the trainer. */
    public static Trainer run(RunSpec spec, Path checkpoint, Trainer.Listener listener) throws IOException {
        Checkpoint.requireSafetensorsName(checkpoint);
        Trainer trainer = trainer(spec);
        trainer.train(listener);
        save(trainer, spec, checkpoint);
        return trainer;
    }

    /** Saves weights, EMA and optimizer moments with a sidecar describing the run. */
    public static void save(Trainer trainer, RunSpec spec, Path checkpoint) throws IOException {
        Map<String, Tensor> params = Parameters.named(trainer.network().module());
        List<String> names = List.copyOf(params.keySet());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        params.forEach((k, v) -> tensors.put(MODEL + k, v));
        for (int i = 0; i < names.size(); i++) {
            tensors.put(EXP_AVG + names.get(i), trainer.optimizer().expAvg().get(i));
            tensors.put(EXP_AVG_SQ + names.get(i), trainer.optimizer().expAvgSq().get(i));
            if (trainer.ema() != null) {
                tensors.put(EMA + names.get(i), trainer.ema().shadow().get(i));
            }
        }
        Checkpoint.Sidecar sidecar = new Checkpoint.Sidecar(Models.typeOf(trainer.network()),
                Models.configOf(trainer.network()), Json.toTree(spec.schedule()), Json.toTree(spec.train()),
                spec.data(), trainer.step(), spec.train().seed(), trainer.optimizer().stepCount(),
                trainer.ema() == null ? 0 : trainer.ema().updates());
        Checkpoint.save(checkpoint, sidecar, tensors);
    }
}
