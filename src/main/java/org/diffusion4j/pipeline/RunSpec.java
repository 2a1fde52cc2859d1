package org.diffusion4j.pipeline;

import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.train.TrainConfig;

/**
 * Everything a training run needs.
 *
 * @param model    the network config
 * @param schedule the noise schedule
 * @param train    optimisation settings, including the seed
 * @param data     the dataset id (e.g. "swiss-roll")
 */
public record RunSpec(MlpConfig model, ScheduleConfig schedule, TrainConfig train, String data) {
    public RunSpec {
        if (model == null || schedule == null || train == null || data == null) {
            throw new IllegalArgumentException("model, schedule, train and data must all be set");
        }
        long[] shape = Datasets.resolve(data).sampleShape();
        if (shape.length != 1 || shape[0] != model.dataDim()) {
            throw new IllegalArgumentException("dataset '" + data + "' has samples of shape "
                    + java.util.Arrays.toString(shape) + " but the MLP's data_dim is " + model.dataDim());
        }
    }

    /** The no-argument demo: the toy MLP on the swiss roll with DDPM's schedule. */
    public static RunSpec swissRollDemo() {
        return new RunSpec(MlpConfig.toy2d(), ScheduleConfig.ddpmDefault(), TrainConfig.toyDefaults(), "swiss-roll");
    }
}
