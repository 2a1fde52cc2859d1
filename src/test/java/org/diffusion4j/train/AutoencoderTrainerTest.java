package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.testing.Bars;
import org.junit.jupiter.api.Test;

class AutoencoderTrainerTest {
    static final AutoencoderConfig SMALL = AutoencoderConfig.of(8, 1, List.of(8, 16), 2);

    private static AutoencoderTrainConfig config(long steps, double klWeight) {
        return new AutoencoderTrainConfig(steps, 32, 3e-3, 10, 1.0, klWeight, 0);
    }

    @Test
    void learnsToReconstructHeldOutImages() {
        LabeledImages train = Bars.images(256, 1);
        try (PointerScope scope = new PointerScope()) {
            Tensor heldOut = Bars.images(64, 2).slice(0, 64);
            AutoencoderKL ae = SMALL.build(Rng.of(0));
            double before = AutoencoderTrainer.reconstructionError(ae, heldOut);
            AutoencoderTrainer trainer = new AutoencoderTrainer(ae, train.source(0, false), config(250, 1e-6));
            trainer.train(s -> { });
            double after = AutoencoderTrainer.reconstructionError(ae, heldOut);
            System.out.printf("autoencoder L1 on held-out bars: %.4f -> %.4f%n", before, after);
            assertThat(trainer.step()).isEqualTo(250);
            assertThat(after).isLessThan(before / 4);
        }
    }

    @Test
    void theKlWeightPullsThePosteriorTowardsTheStandardNormal() {
        LabeledImages train = Bars.images(128, 1);
        double[] kl = new double[2];
        double[] weights = {0, 1e-1};
        for (int i = 0; i < 2; i++) {
            try (PointerScope scope = new PointerScope()) {
                AutoencoderTrainer trainer = new AutoencoderTrainer(SMALL.build(Rng.of(0)), train.source(0, false),
                        config(60, weights[i]));
                double[] last = new double[1];
                trainer.train(s -> last[0] = s.kl());
                kl[i] = last[0];
            }
        }
        assertThat(kl[1]).isLessThan(kl[0] / 2);
    }

    @Test
    void refusesImagesOfAnotherShape() {
        LabeledImages bars = Bars.images(8, 1);
        AutoencoderKL ae = AutoencoderConfig.of(28, 1, List.of(8, 16), 2).build(Rng.of(0));
        assertThatThrownBy(() -> new AutoencoderTrainer(ae, bars.source(0, false), AutoencoderTrainConfig.defaults()))
                .hasMessageContaining("bars").hasMessageContaining("[1, 8, 8]").hasMessageContaining("[1, 28, 28]");
    }

    /** Losses and a digest of the weights after a short run. */
    private static List<Object> run() {
        try (PointerScope scope = new PointerScope()) {
            AutoencoderTrainer trainer = new AutoencoderTrainer(SMALL.build(Rng.of(4)), Bars.images(64, 3)
                    .source(0, false), config(5, 1e-6));
            List<Double> losses = new ArrayList<>();
            trainer.train(s -> losses.add(s.loss()));
            return List.of(losses, TrainerTest.digest(Parameters.named(trainer.model()).values()));
        }
    }

    /** As TrainerTest's determinism check: the autoencoder's NaN gradients on the Zen 5 machines came from there too. */
    @Test
    void repeatedSameSeedRunsGiveBitIdenticalFiniteLossesAndWeights() {
        List<Object> first = run();
        @SuppressWarnings("unchecked")
        List<Double> losses = (List<Double>) first.get(0);
        assertThat(losses).hasSize(5).allMatch(Double::isFinite);
        for (int i = 1; i < TrainerTest.DETERMINISM_RUNS; i++) {
            assertThat(run()).as("run %d against run 0", i).isEqualTo(first);
        }
    }
}
