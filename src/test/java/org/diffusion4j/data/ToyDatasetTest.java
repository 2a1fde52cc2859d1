package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class ToyDatasetTest {
    @Test
    void everySetIsSeededTwoDimensionalAndUnitScale() {
        try (PointerScope scope = new PointerScope()) {
            for (ToyDataset d : ToyDataset.values()) {
                Tensor a = d.sample(5000, Rng.of(1));
                assertThat(Shapes.of(a)).as(d.id()).containsExactly(5000, 2);
                assertThat(Tensors.toFloats(a)).as(d.id()).containsExactly(Tensors.toFloats(d.sample(5000, Rng.of(1))));
                assertThat(Tensors.toFloats(a)).as(d.id()).isNotEqualTo(Tensors.toFloats(d.sample(5000, Rng.of(2))));
                double std = a.std().item_double();
                assertThat(std).as(d.id() + " spread").isBetween(0.5, 2.5);
                assertThat(a.abs().max().item_double()).as(d.id() + " range").isLessThan(4);
            }
        }
    }

    @Test
    void shapesAreTheNamedDistributions() {
        try (PointerScope scope = new PointerScope()) {
            float[] g = Tensors.toFloats(ToyDataset.EIGHT_GAUSSIANS.sample(4000, Rng.of(3)));
            int[] perMode = new int[8];
            for (int i = 0; i < g.length; i += 2) {
                double r = Math.hypot(g[i], g[i + 1]);
                assertThat(r).isBetween(1.4, 2.6);
                int k = (int) Math.round(Math.atan2(g[i + 1], g[i]) / (Math.PI / 4));
                perMode[Math.floorMod(k, 8)]++;
            }
            for (int count : perMode) {
                assertThat(count).isBetween(400, 600);
            }

            float[] c = Tensors.toFloats(ToyDataset.CHECKERBOARD.sample(4000, Rng.of(3)));
            for (int i = 0; i < c.length; i += 2) {
                int cx = (int) Math.floor(c[i]);
                int cy = (int) Math.floor(c[i + 1]);
                assertThat(Math.floorMod(cx + cy, 2)).as("point (%f, %f) on a filled cell", c[i], c[i + 1]).isZero();
            }

            float[] s = Tensors.toFloats(ToyDataset.SWISS_ROLL.sample(4000, Rng.of(3)));
            for (int i = 0; i < s.length; i += 2) {
                // Radius grows with angle: between 1.5 pi / 5 and 4.5 pi / 5, give or take the jitter.
                assertThat(Math.hypot(s[i], s[i + 1])).isBetween(0.75, 3.0);
            }
        }
    }

    @Test
    void parsesNamesAndRejectsUnknownOnes() {
        assertThat(ToyDataset.parse("swiss_roll")).isEqualTo(ToyDataset.SWISS_ROLL);
        assertThat(ToyDataset.parse("8gaussians")).isEqualTo(ToyDataset.EIGHT_GAUSSIANS);
        assertThatThrownBy(() -> ToyDataset.parse("mnist")).hasMessageContaining("two-moons");
        assertThatThrownBy(() -> ToyDataset.TWO_MOONS.sample(0, Rng.of(1))).hasMessageContaining(">= 1");
    }

    @Test
    void labelledSetsGiveEachPointItsClass() {
        try (PointerScope scope = new PointerScope()) {
            DataSource.Batch b = ToyDataset.EIGHT_GAUSSIANS.labeledSample(2000, Rng.of(3));
            float[] x = Tensors.toFloats(b.x());
            long[] l = new long[2000];
            b.labels().contiguous().data_ptr_long().get(l);
            int[] seen = new int[8];
            for (int i = 0; i < 2000; i++) {
                double a = l[i] * Math.PI / 4;
                assertThat(Math.hypot(x[2 * i] - 2 * Math.cos(a), x[2 * i + 1] - 2 * Math.sin(a))).isLessThan(0.6);
                seen[(int) l[i]]++;
            }
            for (int c : seen) {
                assertThat(c).isGreaterThan(180);
            }
            // The same draws as the unlabelled sample of the same generator.
            assertThat(x).containsExactly(Tensors.toFloats(ToyDataset.EIGHT_GAUSSIANS.sample(2000, Rng.of(3))));
            float[] c5 = Tensors.toFloats(ToyDataset.EIGHT_GAUSSIANS.sampleClass(300, 5, Rng.of(4)));
            for (int i = 0; i < 300; i++) {
                assertThat(Math.hypot(c5[2 * i] - 2 * Math.cos(5 * Math.PI / 4), c5[2 * i + 1] - 2 * Math.sin(5 * Math.PI / 4)))
                        .isLessThan(0.6);
            }
            assertThat(ToyDataset.TWO_MOONS.numClasses()).isEqualTo(2);
            assertThat(ToyDataset.SWISS_ROLL.numClasses()).isZero();
            assertThat(ToyDataset.SWISS_ROLL.labeledBatch(0, 4, Rng.of(1)).labels()).isNull();
            assertThatThrownBy(() -> ToyDataset.SWISS_ROLL.labeledSample(4, Rng.of(1))).hasMessageContaining("no class labels");
            assertThatThrownBy(() -> ToyDataset.EIGHT_GAUSSIANS.sampleClass(4, 8, Rng.of(1))).hasMessageContaining("class 8");
        }
    }
}
