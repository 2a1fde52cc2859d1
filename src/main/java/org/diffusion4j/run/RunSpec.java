package org.diffusion4j.run;

import java.util.Arrays;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.train.TrainConfig;

/**
 * Everything a training run needs.
 *
 * @param model    the network config (its type is recorded in the checkpoint)
 * @param schedule the noise schedule
 * @param train    optimisation settings, including the seed
 * @param data     the dataset id (e.g. "swiss-roll", "mnist")
 */
public record RunSpec(NetworkConfig model, ScheduleConfig schedule, TrainConfig train, String data) {
    public RunSpec {
        if (model == null || schedule == null || train == null || data == null) {
            throw new IllegalArgumentException("model, schedule, train and data must all be set");
        }
        Datasets.check(data);
        long[] shape = Datasets.sampleShape(data);
        if (!Arrays.equals(shape, model.sampleShape())) {
            throw new IllegalArgumentException("dataset '" + data + "' has samples of shape " + Arrays.toString(shape)
                    + " but the " + model.modelType() + " model takes " + Arrays.toString(model.sampleShape()));
        }
        int classes = train.numClasses();
        if (model instanceof TextUNetConfig text) {
            if (classes > 0) {
                throw new IllegalArgumentException("a text-conditioned model is trained on captions, not --classes");
            }
            if (Datasets.numClasses(data) != text.captions().size()) {
                throw new IllegalArgumentException("the captions cover " + text.captions().size() + " classes; "
                        + "dataset '" + data + "' has " + Datasets.numClasses(data));
            }
        } else if (classes > 0) {
            if (Datasets.numClasses(data) != classes) {
                throw new IllegalArgumentException("--classes " + classes + ": dataset '" + data + "' has "
                        + Datasets.numClasses(data) + " classes");
            }
            if (model.numClassEmbeds() == null || model.numClassEmbeds() != classes + 1) {
                throw new IllegalArgumentException("a model trained on " + classes + " classes needs " + (classes + 1)
                        + " class embeddings (the last is \"no class\"), the " + model.modelType() + " config has "
                        + model.numClassEmbeds());
            }
        } else if (model.numClassEmbeds() != null) {
            throw new IllegalArgumentException("the " + model.modelType() + " config has class embeddings but the "
                    + "training is unconditional (--classes 0)");
        }
    }

    /** The no-argument demo: the toy MLP on the swiss roll with DDPM's schedule. */
    public static RunSpec swissRollDemo() {
        return new RunSpec(MlpConfig.toy2d(), ScheduleConfig.ddpmDefault(), TrainConfig.toyDefaults(), "swiss-roll");
    }
}
